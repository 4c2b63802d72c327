// Reports issued on a schedule (`meshlens up`: daily by default, every few
// minutes in the demo so a new user sees one). Each run covers the period
// since the previous one ended (the first: the interval before it), so periods
// never overlap and leave no hole while the process runs. A failed run is
// logged and counted, and the next run covers its period too.
//
// A period ends SETTLE_MS before its run: sidecars send taps in batches,
// and a tap recorded a second ago may still be on its way. A report over
// a period whose taps were still arriving would disagree with the store a
// minute later (`report verify`: measured on the demo, ~0.3% more
// requests), and that must mean tampering or loss, not timing.

import type { ReportService } from './reports.ts';

/** How long a period's taps are given to reach the store before its report. */
export const SETTLE_MS = 60_000;

export interface ReportScheduleOptions {
  everyMs: number;
  /** How long before a run its period ends (default SETTLE_MS). */
  settleMs?: number;
  pack: string;
  now?: () => number;
  log?: (m: string) => void;
  /** Time of the first run after start (default: everyMs). */
  firstAfterMs?: number;
}

export class ReportSchedule {
  readonly counters = { runs: 0, issued: 0, failed: 0, last_id: '', last_error: '' };
  #timer: NodeJS.Timeout | null = null;
  /** Start of the next period: where the last stored one ended (null before the first: one interval back). */
  #from: number | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(private readonly service: ReportService, private readonly o: ReportScheduleOptions) {
    if (!Number.isInteger(o.everyMs) || o.everyMs < 10_000) throw new RangeError(`report schedule: every must be at least 10 s, got ${o.everyMs} ms`);
  }

  #end(): number {
    return (this.o.now ?? Date.now)() - (this.o.settleMs ?? SETTLE_MS);
  }

  start(): void {
    this.#arm(this.o.firstAfterMs ?? this.o.everyMs);
  }

  #arm(ms: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#running = this.runOnce().finally(() => { this.#running = null; this.#arm(this.o.everyMs); });
    }, ms);
    this.#timer.unref();
  }

  /** Issues the report of the period since the last one; resolves when it is stored (or has failed). */
  async runOnce(): Promise<void> {
    const until = this.#end();
    this.counters.runs++;
    try {
      const r = await this.service.issue({ from: this.#from ?? until - this.o.everyMs, until }, this.o.pack, 'schedule');
      this.#from = until;
      this.counters.issued++;
      this.counters.last_id = r.body.id;
      const t = r.body.totals;
      this.o.log?.(`report ${r.body.id}: ${t.pass} pass, ${t.fail} fail, ${t.insufficient_evidence} insufficient evidence, ${t.not_applicable} not applicable`);
    } catch (e) {
      this.counters.failed++;
      this.counters.last_error = (e as Error).message;
      this.o.log?.(`scheduled report failed (the next run covers its period too): ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }
}
