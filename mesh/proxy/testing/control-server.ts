// A real config-stream endpoint for the sidecar's tests: serves
// GET /v1/config/stream as NDJSON, pushing whatever the test sends, records
// every POST /v1/config/ack, and serves GET /v1/policy/bundles/<digest> from
// `bundles` (whatever bytes the test put there, honest or not).

import http from 'node:http';
import type net from 'node:net';
import type { ConfigAck } from '../../control/snapshot.ts';

export interface ControlServer {
  readonly url: string;
  readonly acks: ConfigAck[];
  /** Query strings of every stream request, newest last. */
  readonly streams: URLSearchParams[];
  /** Policy bundle bytes served by digest (the key); 404 for others. */
  readonly bundles: Map<string, Uint8Array>;
  /** Digests of every bundle request, in order. */
  readonly bundleFetches: string[];
  /** Sends one NDJSON line to every open stream (once a stream is open). */
  send(snapshot: unknown): Promise<void>;
  /** Bundle requests wait (answered as they would be then) until the returned function is called. */
  holdBundles(): () => void;
  /** Ends the open streams (the sidecar should reconnect). */
  dropStreams(): void;
  /** Resolves when an ACK/NACK for `version` has arrived. */
  ackFor(version: number): Promise<ConfigAck>;
  /** Resolves when n ACKs/NACKs have arrived in all. */
  ackCount(n: number): Promise<void>;
  /** Resolves when the n-th stream request (1-based) has arrived. */
  streamCount(n: number): Promise<void>;
  close(): Promise<void>;
}

export async function startControlServer(): Promise<ControlServer> {
  const acks: ConfigAck[] = [];
  const streams: URLSearchParams[] = [];
  const bundles = new Map<string, Uint8Array>();
  const bundleFetches: string[] = [];
  let held: Promise<void> = Promise.resolve();
  const open = new Set<http.ServerResponse>();
  const sockets = new Set<net.Socket>();
  let waiters: (() => void)[] = [];
  const changed = () => { const w = waiters; waiters = []; for (const f of w) f(); };
  const until = async (cond: () => boolean) => { while (!cond()) await new Promise<void>((r) => waiters.push(r)); };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method === 'GET' && url.pathname === '/v1/config/stream') {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.flushHeaders();
      open.add(res);
      res.once('close', () => open.delete(res));
      streams.push(url.searchParams);
      return changed();
    }
    if (req.method === 'POST' && url.pathname === '/v1/config/ack') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => { acks.push(JSON.parse(Buffer.concat(chunks).toString('utf8'))); res.writeHead(204).end(); changed(); });
      return;
    }
    const BUNDLES = '/v1/policy/bundles/';
    if (req.method === 'GET' && url.pathname.startsWith(BUNDLES)) {
      const digest = url.pathname.slice(BUNDLES.length);
      bundleFetches.push(digest);
      changed();
      void held.then(() => {
        const bytes = bundles.get(digest);
        if (!bytes) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': bytes.length }).end(bytes);
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.on('connection', (s: net.Socket) => { sockets.add(s); s.once('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    acks,
    streams,
    bundles,
    bundleFetches,
    async send(snapshot) {
      await until(() => open.size > 0);
      for (const res of open) res.write(`${JSON.stringify(snapshot)}\n`);
    },
    holdBundles() {
      let release!: () => void;
      held = new Promise<void>((r) => { release = r; });
      return release;
    },
    dropStreams() { for (const res of open) res.end(); open.clear(); },
    async ackFor(version) {
      await until(() => acks.some((a) => a.version === version));
      return acks.find((a) => a.version === version)!;
    },
    ackCount: (n) => until(() => acks.length >= n),
    streamCount: (n) => until(() => streams.length >= n),
    close: () => new Promise<void>((r) => { server.close(() => r()); for (const s of sockets) s.destroy(); }),
  };
}
