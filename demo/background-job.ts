// A demo workload's own traffic, with no request to answer: a timer that
// calls its services through its sidecar's outbound listener (the indexer
// re-reading catalog pages). Open loop, like the load generator (./paced.ts),
// so a flood (./faults.ts, rate_multiplier) raises the rate at once.

import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { callService } from './outbound-call.ts';
import { startPacing } from './paced.ts';

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
  const maxInFlight = opts.maxInFlight ?? 64;
  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight });
  const byStatus: Record<number, number> = {};
  let page = 0;
  const pacing = startPacing({ ...opts, maxInFlight }, async () => {
    page = (page % 500) + 1;
    const path = `/index/products/${page}`;
    const traceparent = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    for (const callee of opts.calls) {
      const s = await callService(agent, proxy, callee, path, traceparent);
      byStatus[s] = (byStatus[s] ?? 0) + 1;
    }
  });
  return {
    stats: () => ({ ...pacing.counts(), by_status: { ...byStatus } }),
    async stop() {
      await pacing.stop();
      agent.destroy();
    },
  };
}
