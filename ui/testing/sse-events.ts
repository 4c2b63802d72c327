// Reads the UI's server-sent events as the page does, for tests that check
// what a stream sends on connect and after a change.

import http from 'node:http';

/**
 * Collects the data of every `eventName` event from the stream at `url` (Bearer `token`)
 * until `done` says stop; `onFirst` runs once the first has arrived (the change to watch for).
 */
export function collectEvents(
  url: string, token: string, eventName: string, done: (events: any[]) => boolean, onFirst?: () => Promise<unknown>,
): Promise<any[]> {
  const event = new RegExp(`event: ${eventName}\n(?:id: \\d+\n)?data: (.*)\n\n`);
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    const req = http.get(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        for (let m = event.exec(buf); m; m = event.exec(buf)) {
          buf = buf.slice(m.index + m[0].length);
          events.push(JSON.parse(m[1]));
          if (events.length === 1 && onFirst) onFirst().catch(reject);
          if (done(events)) { req.destroy(); resolve(events); return; }
        }
      });
      res.on('end', () => reject(new Error(`${url}: stream ended after ${events.length} ${eventName} events`)));
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
  });
}
