// JSON answers and bounded JSON bodies for the control plane's routes.

import type { IncomingMessage, ServerResponse } from 'node:http';

export function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON body of at most `limit` bytes; `done` gets a message naming the problem, or the body. */
export function readJson(req: IncomingMessage, limit: number, done: (err: string | null, body?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let failed = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit && !failed) { failed = true; done(`body larger than ${limit} bytes`); req.resume(); }
    else if (!failed) chunks.push(c);
  });
  req.on('end', () => {
    if (failed) return;
    try { done(null, JSON.parse(Buffer.concat(chunks).toString('utf8'))); }
    catch (e) { done(`body is not JSON: ${(e as Error).message}`); }
  });
}

/** Reads a body of at most `limit` bytes (more is read and dropped); `done` gets whether it was larger, and the bytes. */
export function readBytes(req: IncomingMessage, limit: number, done: (tooLarge: boolean, bytes: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => { size += c.length; if (size <= limit) chunks.push(c); });
  req.on('end', () => done(size > limit, Buffer.concat(chunks)));
}
