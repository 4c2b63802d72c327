// A real collector endpoint for the sidecar's tests: an HTTP server at
// /v1/taps that judges every batch with ingest's own checks (decodeBatch:
// frame shape, hash of the bytes, validateTap, contiguous seqs;
// ChainVerifier: chain, first_seq continuity) and keeps what it accepted, without a store behind it. It can
// be told to refuse the next batches.

import http from 'node:http';
import type net from 'node:net';
import { ChainVerifier, decodeBatch, type TapBatch, type TapEvent } from '../../../ingest/index.ts';

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
  const chain = new ChainVerifier();
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
      let b: TapBatch;
      try {
        b = decodeBatch(Buffer.concat(chunks));
        const verdict = chain.check(b);
        if (verdict.kind === 'duplicate') return reply(200, { accepted: 0, duplicate: true });
        // The verifier accepts a gap as loss (right for a lossy bus); over
        // HTTP an honest sidecar resends until acknowledged, so a gap here is
        // a sidecar bug: refuse it as the old verifier did.
        if (verdict.gap) {
          const g = verdict.gap;
          throw Object.assign(new Error(`batch ${b.batch} of ${b.proxy}/${b.stream}: gap of ${g.count} seqs from ${g.from_seq} (${g.batches} batches skipped)`), { code: 'INGEST_ERR_CHAIN' });
        }
      } catch (e) {
        const err = e as { code?: string; message: string };
        problems.push(err.message);
        return reply(err.code === 'INGEST_ERR_CHAIN' ? 409 : 400, { code: err.code ?? 'INGEST_ERR_INVALID', message: err.message });
      }
      chain.advance(b);
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
