// Open-loop pacing for the demo's senders (the load generator, a background
// job's timer): each 20 ms tick starts what the elapsed time owes at the rate
// in force, so timer jitter does not change the rate and a surge or flood
// (./faults.ts, rate_multiplier) raises it at once. A slow answer never holds
// the next send back; beyond `maxInFlight` waiting, sends are skipped and counted.

export interface PacingOptions {
  rps: number;
  /** Multiplies `rps` from moment to moment; read every tick. Default: 1. */
  rateMultiplier?: () => number;
  maxInFlight: number;
  /** Clock, ms (tests drive it). Default Date.now. */
  now?: () => number;
}

export interface Pacing {
  counts(): { sent: number; skipped: number };
  /** Stops starting sends and waits for those in flight. */
  stop(): Promise<void>;
}

/** Calls `send` at the paced rate until stopped; `send` reports its own outcome and never rejects. */
export function startPacing(opts: PacingOptions, send: () => Promise<void>): Pacing {
  const now = opts.now ?? Date.now;
  const counts = { sent: 0, skipped: 0 };
  const inflight = new Set<Promise<void>>();
  let due = 0;
  let last = now();
  const timer = setInterval(() => {
    const t = now();
    due += ((t - last) * opts.rps * (opts.rateMultiplier?.() ?? 1)) / 1000;
    last = t;
    for (let owed = Math.floor(due) - counts.sent - counts.skipped; owed > 0; owed--) {
      if (inflight.size >= opts.maxInFlight) { counts.skipped++; continue; }
      counts.sent++;
      const p = send().then(() => { inflight.delete(p); });
      inflight.add(p);
    }
  }, 20);
  return {
    counts: () => ({ ...counts }),
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
    },
  };
}
