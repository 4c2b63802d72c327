// Upstreams that fail in chosen ways, for the resilience tests: each
// request (its number, 1-based, and the request) gets a behaviour from the
// test: an answer with a status, the same after a delay, held until
// released, or the connection reset before any answer. Every request is
// recorded with its arrival time, method, path, headers and body; the
// answer's body is the upstream's name, so a caller can tell who served it.

import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { startHttpServer, type TestServer } from './servers.ts';

export type Behaviour = { status: number; delayMs?: number; headers?: Record<string, string> } | 'hold' | 'reset';

export interface Hit { n: number; at: number; method: string; url: string; headers: http.IncomingHttpHeaders; body: string }

export interface FaultyUpstream extends TestServer {
  readonly name: string;
  readonly hits: Hit[];
  /** Requests other than health checks (user-agent meshlens-health-check). */
  requests(): Hit[];
  /** The behaviour of the requests from now on. */
  behave(b: (n: number, hit: Hit) => Behaviour): void;
  /** Answers 200 to every held request. */
  releaseAll(): void;
  /** Resolves once `n` requests (health checks aside) have arrived. */
  arrived(n: number): Promise<void>;
}

export async function startFaultyUpstream(name: string, behaviour: (n: number, hit: Hit) => Behaviour = () => ({ status: 200 })): Promise<FaultyUpstream> {
  const hits: Hit[] = [];
  const held: (() => void)[] = [];
  let behave = behaviour;
  let waiters: (() => void)[] = [];
  const isCheck = (h: Hit) => h.headers['user-agent'] === 'meshlens-health-check';
  const requests = () => hits.filter((h) => !isCheck(h));
  const server = await startHttpServer((req, res) => {
    const at = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = { n: hits.length + 1, at, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('latin1') };
      hits.push(hit);
      const w = waiters; waiters = []; for (const f of w) f();
      const b = behave(hit.n, hit);
      const answer = (status: number, headers: Record<string, string> = {}) => res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(name);
      if (b === 'reset') req.socket.resetAndDestroy();
      else if (b === 'hold') held.push(() => answer(200));
      else if (b.delayMs) setTimeout(() => answer(b.status, b.headers), b.delayMs);
      else answer(b.status, b.headers);
    });
  });
  return {
    ...server,
    name,
    hits,
    requests,
    behave(b) { behave = b; },
    releaseAll() { for (const f of held.splice(0)) f(); },
    async arrived(n) { while (requests().length < n) await new Promise<void>((r) => waiters.push(r)); },
  };
}
