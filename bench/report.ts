// npm run bench:report [-- --rows 1000000,10000000 --stores chdb,clickhouse --sidecars 9 --batch 20 --reports 3 --group 250000 --unsigned]
//
// What a compliance report costs: for each store (chdb in a temp dir,
// Debian's clickhouse-server 18.16) and each size, seeds that many taps of
// synthetic mesh traffic over a period as long as the demo mesh takes to
// record them (2.8M taps an hour), then issues the baseline pack's report
// over the period `--reports` times (./report-store.ts, one process per
// store and size). Printed per store and size: seed time, report time
// (median), its split (chain audit, the other evidence queries, the
// controls), the audit's taps/s, the peak RSS, and beside them the peer
// measured in the same run: one raw read of the period's taps by the same
// store, in the engine (count and cityHash64 of every column) and to the
// client (every row as JSONEachRow, not parsed), with report ÷ raw read.
// Last, a day of demo traffic at the largest size's cost per tap,
// extrapolated.
//
// Defaults are the demo's shape: 9 sidecars (one stream each), 20 taps a
// batch (sidecars seal what 100 ms of linger gathered: 10-20 taps in the
// demo), every batch signed and signature-checked as the collector does.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ReportRunConfig, ReportRunResult } from './report-store.ts';
import { intFlag } from './args.ts';

const DEMO_TAPS_PER_HOUR = 2_800_000;

interface Flags { rows: number[]; stores: ('chdb' | 'clickhouse')[]; sidecars: number; batch: number; reports: number; group: number; signed: boolean }

function parseFlags(argv: string[]): Flags {
  const f: Flags = { rows: [1_000_000, 10_000_000], stores: ['chdb', 'clickhouse'], sidecars: 9, batch: 20, reports: 3, group: 250_000, signed: true };
  const problems: string[] = [];
  const int = intFlag(problems);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    switch (a) {
      case '--rows': f.rows = (argv[++i] ?? '').split(',').map((v) => int(a, v, 1_000)); break;
      case '--stores': {
        const list = (argv[++i] ?? '').split(',');
        if (list.some((s) => s !== 'chdb' && s !== 'clickhouse')) problems.push(`--stores takes chdb and/or clickhouse, got ${list.join(',')}`);
        f.stores = list as Flags['stores'];
        break;
      }
      case '--sidecars': f.sidecars = int(a, argv[++i], 1); break;
      case '--batch': f.batch = int(a, argv[++i], 1); break;
      case '--reports': f.reports = int(a, argv[++i], 1); break;
      case '--group': f.group = int(a, argv[++i], 1); break;
      case '--unsigned': f.signed = false; break;
      default: problems.push(`unknown flag ${a}`);
    }
  }
  if (problems.length > 0) {
    process.stderr.write(`bench:report: ${problems.join('; ')}\n`);
    process.exit(2);
  }
  return f;
}

const flags = parseFlags(process.argv.slice(2));
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

function run(config: ReportRunConfig): Promise<ReportRunResult> {
  const child = fork(here('./report-store.ts'), [JSON.stringify(config)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let result: ReportRunResult | null = null;
    child.on('message', (m) => { result = (m as { result: ReportRunResult }).result; });
    child.once('exit', (code) => (result ? resolve(result) : reject(new Error(`${config.store} ${config.taps}: exited ${code} without a result`))));
  });
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const s = (ms: number) => (ms / 1000).toFixed(ms < 10_000 ? 2 : 1);
const k = (n: number) => (n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}k`);

const started = Date.now();
const results: ReportRunResult[] = [];
for (const store of flags.stores) {
  for (const taps of flags.rows) {
    const periodMs = Math.round((taps / DEMO_TAPS_PER_HOUR) * 3_600_000);
    results.push(await run({ store, taps, sidecars: flags.sidecars, batch: flags.batch, groupTaps: flags.group, periodMs, reports: flags.reports, signed: flags.signed }));
  }
}

const load = (await import('node:os')).loadavg().map((l) => l.toFixed(1)).join(' ');
console.log(`\nbench:report ${process.argv.slice(2).join(' ')}: ${flags.sidecars} sidecars, ${flags.batch} taps a batch, ${flags.signed ? 'signed' : 'unsigned'}, ` +
  `period at the demo's ${k(DEMO_TAPS_PER_HOUR)} taps/h; medians of ${flags.reports} reports; ${((Date.now() - started) / 60_000).toFixed(1)} min; load ${load}\n`);
console.log('| store | taps (batches) | seed s | report s | audit s | audit taps/s | evidence s | controls s | raw scan in engine s | raw read s (MB) | report ÷ raw read | RSS peak MB |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const m = (f: (x: ReportRunResult['reports'][number]) => number) => median(r.reports.map(f));
  const total = m((x) => x.totalMs);
  const name = r.store === 'chdb' ? 'chdb' : 'clickhouse 18.16';
  const rss = r.serverRssPeakMb === null ? `${r.rssPeakMb.toFixed(0)} (engine in-process)` : `${r.rssPeakMb.toFixed(0)} + server ${r.serverRssPeakMb.toFixed(0)}`;
  console.log(`| ${name} | ${k(r.taps)} (${k(r.batches)}) | ${s(r.seedMs)} | ${s(total)} | ${s(m((x) => x.auditMs))} | ${k(r.taps / (m((x) => x.auditMs) / 1000))} | ` +
    `${s(m((x) => x.evidenceMs))} | ${s(m((x) => x.controlsMs))} | ${s(r.rawEngineMs)} | ${s(r.rawReadMs)} (${(r.rawReadBytes / 1e6).toFixed(0)}) | ${(total / r.rawReadMs).toFixed(1)}× | ${rss} |`);
}
console.log('\nEach store call of the median report, ms (the audit and the other queries run side by side):');
for (const r of results) {
  const mid = [...r.reports].sort((a, b) => a.totalMs - b.totalMs)[Math.floor(r.reports.length / 2)];
  console.log(`  ${r.store} ${k(r.taps)}: ${Object.entries(mid.calls).map(([c, ms]) => `${c} ${ms}`).join(', ')}`);
}
const day = DEMO_TAPS_PER_HOUR * 24;
console.log(`\nExtrapolated, not measured: a day of demo traffic (${k(day)} taps) at each store's cost per tap at its largest size:`);
for (const store of flags.stores) {
  const r = results.filter((x) => x.store === store).sort((a, b) => b.taps - a.taps)[0];
  const perTap = median(r.reports.map((x) => x.totalMs)) / r.taps;
  console.log(`  ${store}: ${(perTap * 1000).toFixed(2)} µs per tap × ${k(day)} ≈ ${(perTap * day / 60_000).toFixed(1)} min`);
}
