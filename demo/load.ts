// The demo's load generator: open-loop traffic at a steady rate (or a
// multiple of it, during a surge: ./faults.ts) into the mesh's front door,
// shaped like a shop's (browse, product pages, cart, checkout), with W3C
// trace context and, on purpose, credentials that the sidecars must never
// record.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { startPacing } from './paced.ts';

export interface LoadStats {
  sent: number;
  completed: number;
  /** Responses with status >= 500, or no response. */
  failed: number;
  /** Requests not sent because `maxInFlight` were already waiting. */
  skipped: number;
  /** Completed requests by status (0: no response). */
  by_status: Record<number, number>;
}

export interface LoadGenerator {
  stats(): LoadStats;
  stop(): Promise<void>;
}

const PATHS = ['/', '/products', '/products/{id}?ref=home&session=s3cr3t', '/cart', '/checkout'];

export function requestPath(rnd: () => number): string {
  const p = PATHS[Math.floor(rnd() * PATHS.length)];
  return p.replace('{id}', String(1 + Math.floor(rnd() * 500)));
}

function requestHeaders(rnd: () => number): http.OutgoingHttpHeaders {
  const h: http.OutgoingHttpHeaders = {
    traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`,
    'user-agent': 'meshlens-demo-load/1',
  };
  if (rnd() < 0.3) { h.authorization = 'Bearer demo-secret-token'; h.cookie = 'session=demo-secret-cookie'; }
  return h;
}

/** Sends one request; resolves with its status (0 when no response came). */
export function sendOne(agent: http.Agent, target: URL, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: target.hostname, port: target.port, path, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Sends exactly `n` requests with at most `concurrency` in flight; returns the count of each status. */
export async function sendExactly(target: string, n: number, concurrency = 16, rnd = Math.random): Promise<Map<number, number>> {
  const url = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      const s = await sendOne(agent, url, requestPath(rnd), requestHeaders(rnd));
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  agent.destroy();
  return statuses;
}

export interface LoadOptions {
  target: string;
  rps: number;
  /** Multiplies `rps` from moment to moment (a surge: 3); read every tick. Default: 1. */
  rateMultiplier?: () => number;
  maxInFlight?: number;
  random?: () => number;
  /** Clock, ms (tests drive it). Default Date.now. */
  now?: () => number;
}

/** Starts open-loop load at `rps` (times `rateMultiplier()`) requests per second until stopped. */
export function startLoad(opts: LoadOptions): LoadGenerator {
  const url = new URL(opts.target);
  const rnd = opts.random ?? Math.random;
  const maxInFlight = opts.maxInFlight ?? 256;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const answers = { completed: 0, failed: 0, by_status: {} as Record<number, number> };
  const pacing = startPacing({ ...opts, maxInFlight }, async () => {
    const s = await sendOne(agent, url, requestPath(rnd), requestHeaders(rnd));
    answers.completed += 1;
    answers.by_status[s] = (answers.by_status[s] ?? 0) + 1;
    if (s >= 500 || s === 0) answers.failed += 1;
  });
  return {
    stats: () => ({ ...pacing.counts(), ...answers, by_status: { ...answers.by_status } }),
    async stop() {
      await pacing.stop();
      agent.destroy();
    },
  };
}
