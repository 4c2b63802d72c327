// A demo workload's own traffic, with no request to answer: a timer that
// calls its services through its sidecar's outbound listener (the indexer
// re-reading catalog pages). Open loop, like the load generator: each tick
// sends what the elapsed time owes at the rate in force, so a flood
// (./faults.ts, rate_multiplier) raises the rate at once.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { callService } from './outbound-call.ts';

export interface BackgroundJobOptions {
  /** Services to call on each tick, in order. */
  calls: string[];
  /** The sidecar's outbound listener, "http://127.0.0.1:PORT". */
  httpProxy: string;
  rps: number;
  /** The rate multiplier in force now (a flood: 75). Default 1. */
  rateMultiplier?: () => number;
  /** Calls waiting for an answer beyond which a tick's calls are skipped (counted). Default 64. */
  maxInFlight?: number;
  /** Clock, ms (tests drive it). Default Date.now. */
  now?: () => number;
}

export interface BackgroundJob {
  stats(): { sent: number; skipped: number; by_status: Record<number, number> };
  stop(): Promise<void>;
}

export function startBackgroundJob(opts: BackgroundJobOptions): BackgroundJob {
  const proxy = new URL(opts.httpProxy);
  const now = opts.now ?? Date.now;
  const maxInFlight = opts.maxInFlight ?? 64;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const stats = { sent: 0, skipped: 0, by_status: {} as Record<number, number> };
  const inflight = new Set<Promise<void>>();
  let due = 0;
  let last = now();
  let page = 0;
  const timer = setInterval(() => {
    const t = now();
    due += ((t - last) * opts.rps * (opts.rateMultiplier?.() ?? 1)) / 1000;
    last = t;
    for (let owed = Math.floor(due) - stats.sent - stats.skipped; owed > 0; owed--) {
      if (inflight.size >= maxInFlight) { stats.skipped++; continue; }
      stats.sent++;
      page = (page % 500) + 1;
      const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
      const p = (async () => {
        for (const callee of opts.calls) {
          const s = await callService(agent, proxy, callee, `/index/products/${page}`, traceparent);
          stats.by_status[s] = (stats.by_status[s] ?? 0) + 1;
        }
      })().then(() => { inflight.delete(p); });
      inflight.add(p);
    }
  }, 20);
  return {
    stats: () => ({ ...stats, by_status: { ...stats.by_status } }),
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      agent.destroy();
    },
  };
}
