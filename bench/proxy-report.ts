// The tables `npm run bench:proxy` prints: closed-loop throughput (wrk,
// h2load) with CPU and memory per proxy, and the open-loop latency table
// with the added latency of each pair over a direct call.

import { Histogram } from './histogram.ts';
import type { OpenLoopResult } from './open-loop.ts';

export interface Run { rps: number; p50: number; p99: number; cpuMsPerK: number; rssKb: number }

export interface Row {
  name: string;
  /** The row of the same shape this one is compared with ("vs HAProxy"). */
  haproxy: string;
  /** mTLS rows: their plaintext twin. */
  plain?: string;
  /** Whether CPU and memory are measured (the proxy processes are known). */
  measured: boolean;
  /** VmRSS of its processes before any load, KiB. */
  rssIdleKb: number;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const ratio = (x: number) => `${x.toFixed(2)}×`;
const mb = (kb: number) => (kb / 1024).toFixed(0);
const col = (s: string, w: number) => s.padStart(w);

/** Throughput table: medians over rounds; "vs HAProxy" and "mTLS÷plain" as medians of per-round ratios (a target and its twin ran seconds apart in each round, so noise between rounds cancels). */
export function printClosedLoopTable(title: string, rows: Row[], runs: Map<string, Run[]>): void {
  const med = (name: string, f: keyof Run) => median(runs.get(name)!.map((r) => r[f]));
  const paired = (name: string, twin: string, f: keyof Run) => median(runs.get(name)!.map((r, i) => r[f] / runs.get(twin)![i][f]));
  console.log(`\n${title}`);
  console.log(`${'target'.padEnd(34)}${col('req/s', 8)}${col('vs HAProxy', 12)}${col('p50 ms', 8)}${col('p99 ms', 8)}${col('CPU ms/1k', 11)}` +
    `${col('RSS MB idle', 13)}${col('loaded', 8)}${col('mTLS÷plain: req/s', 19)}${col('p99', 7)}${col('CPU', 7)}`);
  for (const r of rows) {
    const rps = med(r.name, 'rps');
    const vsPlain = r.plain ? [col(ratio(paired(r.name, r.plain, 'rps')), 19), col(ratio(paired(r.name, r.plain, 'p99')), 7), col(ratio(paired(r.name, r.plain, 'cpuMsPerK')), 7)].join('') : '';
    console.log(`${r.name.padEnd(34)}${col(rps.toFixed(0), 8)}${col(ratio(paired(r.name, r.haproxy, 'rps')), 12)}${col(med(r.name, 'p50').toFixed(2), 8)}${col(med(r.name, 'p99').toFixed(2), 8)}` +
      `${col(r.measured ? med(r.name, 'cpuMsPerK').toFixed(0) : '-', 11)}${col(r.measured ? mb(r.rssIdleKb) : '-', 13)}${col(r.measured ? mb(runs.get(r.name)!.at(-1)!.rssKb) : '-', 8)}${vsPlain}`);
  }
}

export interface OpenLoopRow {
  name: string;
  /** Every round's result. */
  results: OpenLoopResult[];
  /** The merged latency histogram of all rounds (µs). */
  latency: Histogram;
  /** CPU ms of its proxy processes per 1,000 requests, per round; empty for the direct call. */
  cpuMsPerK: number[];
}

const ms = (us: number) => (us / 1000).toFixed(2);

/**
 * Open-loop table: percentiles of all rounds' latencies together, then for
 * each pair its added latency over the direct call (pair − direct, p50 and
 * p99), against the issue's targets for the sidecar pair.
 */
export function printOpenLoopTable(title: string, rows: OpenLoopRow[], direct: string, targets: { rate: number; p50Ms: number; p99Ms: number; rows: string[] }): void {
  console.log(`\n${title}`);
  console.log(`${'target'.padEnd(34)}${col('req/s', 7)}${col('p50', 9)}${col('p90', 9)}${col('p99', 9)}${col('p99.9', 9)}${col('max', 9)}${col('errors', 8)}` +
    `${col('CPU ms/1k', 11)}${col('gen CPU', 9)}${col('timer lag p99', 15)}`);
  for (const r of rows) {
    const l = r.latency;
    const errors = r.results.reduce((n, x) => n + Object.values(x.errors).reduce((a, b) => a + b, 0), 0);
    const rate = median(r.results.map((x) => x.achievedRate));
    const lag = r.results.reduce((h, x) => h.merge(x.timerLag), new Histogram());
    console.log(`${r.name.padEnd(34)}${col(rate.toFixed(0), 7)}${col(ms(l.percentile(50)), 9)}${col(ms(l.percentile(90)), 9)}${col(ms(l.percentile(99)), 9)}` +
      `${col(ms(l.percentile(99.9)), 9)}${col(ms(l.max), 9)}${col(String(errors), 8)}${col(r.cpuMsPerK.length ? median(r.cpuMsPerK).toFixed(0) : '-', 11)}` +
      `${col(`${median(r.results.map((x) => x.cpuPercent)).toFixed(1)}%`, 9)}${col(`${ms(lag.percentile(99))} ms`, 15)}`);
  }
  for (const r of rows) {
    const kinds = new Map<string, number>();
    for (const x of r.results) for (const [k, n] of Object.entries(x.errors)) kinds.set(k, (kinds.get(k) ?? 0) + n);
    if (kinds.size) console.log(`  errors of ${r.name}: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }
  const base = rows.find((r) => r.name === direct)!.latency;
  console.log(`\nAdded latency over the direct call (pair − direct), ms:`);
  for (const r of rows.filter((x) => x.name !== direct)) {
    const d50 = (r.latency.percentile(50) - base.percentile(50)) / 1000;
    const d99 = (r.latency.percentile(99) - base.percentile(99)) / 1000;
    // A target that could not keep up with the rate measures its own backlog more than the proxy path.
    const rate = median(r.results.map((x) => x.achievedRate));
    const behind = rate < 0.95 * targets.rate ? `   (kept up with only ${rate.toFixed(0)} of ${targets.rate} req/s: overloaded)` : '';
    const goal = targets.rows.includes(r.name) ? `   target ≤ ${targets.p50Ms} / ≤ ${targets.p99Ms}: ${d50 <= targets.p50Ms && d99 <= targets.p99Ms ? 'met' : 'NOT met'}` : '';
    const signed = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(2)}`;
    console.log(`  ${r.name.padEnd(34)} p50 ${signed(d50).padStart(6)}   p99 ${signed(d99).padStart(6)}${goal}${behind}`);
  }
}
