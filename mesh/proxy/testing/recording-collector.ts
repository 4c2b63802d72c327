// A real collector endpoint for the sidecar's tests: an HTTP server at
// /v1/taps that checks every batch the way the real collector must (schema
// via validateTap, hash via batchHash, chain continuity per stream) and keeps
// what it accepted. It can be told to refuse the next batches.

import http from 'node:http';
import type net from 'node:net';
import { batchHash, GENESIS_HASH, type TapBatch } from '../../../ingest/batch.ts';
import { validateTap, type TapEvent } from '../../../ingest/schema/v1.ts';

export interface RecordingCollector {
  readonly url: string;
  readonly port: number;
  readonly batches: TapBatch[];
  /** Problems found in received batches (must stay empty for an honest sidecar). */
  readonly problems: string[];
  events(): TapEvent[];
  /** Answer the next n batches with this status (400 = rejected for good, 503 = try later). */
  refuseNext(n: number, status: 400 | 503): void;
  close(): Promise<void>;
}

export async function startRecordingCollector(port = 0): Promise<RecordingCollector> {
  const batches: TapBatch[] = [];
  const problems: string[] = [];
  const heads = new Map<string, { batch: number; hash: string }>();
  let refuse = { n: 0, status: 400 };
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, body: object) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/taps') return reply(404, { code: 'NOT_FOUND', message: req.url });
      if (refuse.n > 0) {
        refuse.n--;
        return reply(refuse.status, { code: refuse.status === 400 ? 'INGEST_ERR_TEST_REJECT' : 'INGEST_ERR_UNAVAILABLE', message: 'refused by test' });
      }
      const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TapBatch;
      const key = `${b.proxy}/${b.stream}`;
      const head = heads.get(key);
      if (head && head.batch === b.batch && head.hash === b.hash) return reply(200, { accepted: 0, duplicate: true });
      const found: string[] = [];
      if (batchHash(b) !== b.hash) found.push(`batch ${b.batch}: hash mismatch`);
      const expectPrev = head?.hash ?? GENESIS_HASH;
      if (b.prev_hash !== expectPrev) found.push(`batch ${b.batch}: prev_hash does not continue the chain`);
      if (b.batch !== (head ? head.batch + 1 : 0)) found.push(`batch ${b.batch}: expected batch ${head ? head.batch + 1 : 0}`);
      b.events.forEach((e, i) => {
        for (const p of validateTap(e)) found.push(`batch ${b.batch} event ${i}: ${p}`);
        if (e.seq !== b.first_seq + i) found.push(`batch ${b.batch} event ${i}: seq ${e.seq}, expected ${b.first_seq + i}`);
      });
      if (found.length > 0) {
        problems.push(...found);
        return reply(400, { code: 'INGEST_ERR_INVALID', message: found.join('; ') });
      }
      heads.set(key, { batch: b.batch, hash: b.hash });
      batches.push(b);
      reply(200, { accepted: b.events.length, duplicate: false });
    });
  });
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const bound = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    batches,
    problems,
    events: () => batches.flatMap((b) => b.events),
    refuseNext(n, status) { refuse = { n, status }; },
    close: () => new Promise<void>((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); }),
  };
}
