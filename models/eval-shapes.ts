// `npm run eval:shapes`: `meshlens detect` (the CLI path, CSV in, CSV out) on
// feature CSVs shaped unlike the mesh's own rollups, the way an operator's
// export or someone else's held-out set may be: other column names and
// units, columns in another order, a 1-minute step, one day or half a day of
// baseline. Same scenario generator and event metrics as eval:anomaly.
//
//   npm run eval:shapes                                  every shape, seeds 201–203
//   npm run eval:shapes -- --shapes renamed,day --seeds 1,2

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { runDetect } from './detect-cli.ts';
import { evaluate } from './evaluate.ts';
import { generateScenario, type Scenario, type ScenarioOptions } from './scenario.ts';

interface Shape {
  name: string;
  what: string;
  scenario?: Partial<ScenarioOptions>;
  rename?: Record<string, string>;
  /** Multipliers by rollup name (a percentage instead of a fraction). */
  scale?: Record<string, number>;
  /** Column order by rollup index, with -1 for ts. */
  order?: number[];
}

const SHAPES: Shape[] = [
  { name: 'rollups', what: 'the mesh rollup names, 10 s, 2 days of baseline' },
  {
    name: 'renamed', what: 'rps, error_pct (%), latency_p50, tx_bytes, active_conns, …; ts third',
    rename: { requests: 'rps', error_rate: 'error_pct', p50_ms: 'latency_p50', p99_ms: 'latency_p99', bytes_in: 'rx_bytes', bytes_out: 'tx_bytes', connections: 'active_conns', retries: 'retry_rate' },
    scale: { error_rate: 100 }, order: [3, 0, -1, 6, 1, 7, 2, 5, 4],
  },
  { name: 'minute', what: '1-minute rows', scenario: { stepMs: 60_000 } },
  { name: 'day', what: '1 day of baseline', scenario: { trainDays: 1 } },
  { name: 'half-day', what: '12 hours of baseline (no daily rhythm learnable)', scenario: { trainDays: 0.5 } },
];

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const picked = (flag('shapes') ?? SHAPES.map((s) => s.name).join(',')).split(',');
const unknown = picked.filter((p) => !SHAPES.some((s) => s.name === p));
if (unknown.length) throw new Error(`--shapes: unknown ${unknown.join(', ')} (known: ${SHAPES.map((s) => s.name).join(', ')})`);
const seeds = (flag('seeds') ?? '201,202,203').split(',').map(Number);

function toCsv(s: Scenario, shape: Shape): string {
  const names = s.series.names;
  const order = shape.order ?? [-1, ...names.map((_, j) => j)];
  const head = order.map((j) => (j < 0 ? 'ts' : shape.rename?.[names[j]] ?? names[j]));
  const lines = [head.join(',')];
  s.series.rows.forEach((r, i) => {
    lines.push(order.map((j) => {
      if (j < 0) return String(s.series.ts[i]);
      const x = r[j] * (shape.scale?.[names[j]] ?? 1);
      return Number.isFinite(x) ? String(+x.toPrecision(6)) : '';
    }).join(','));
  });
  return lines.join('\n') + '\n';
}

const sink = (into: { text: string }) => new Writable({ write(c, _e, cb) { into.text += c; cb(); } });
const dir = await mkdtemp(join(tmpdir(), 'meshlens-eval-shapes-'));
console.log(`meshlens eval:shapes — ${new Date().toISOString().slice(0, 10)}, seeds ${seeds.join(',')}, meshlens detect with its defaults\n`);
console.log('| shape | what | event F1 | found | false alarms / service-day | on flash crowds | missed kinds |');
console.log('|---|---|---|---|---|---|---|');
try {
  for (const shape of SHAPES.filter((s) => picked.includes(s.name))) {
    const scenarios = seeds.map((seed) => generateScenario({ seed, service: `svc-${seed}`, ...shape.scenario }));
    const row = await evaluate(shape.name, async (scn) => {
      const file = join(dir, `${shape.name}-${scn.service}.csv`);
      await writeFile(file, toCsv(scn, shape));
      const out = { text: '' }, err = { text: '' };
      await runDetect({ csv: file, trainRows: scn.trainRows }, { out: sink(out), err: sink(err) });
      process.stderr.write(`eval:shapes: ${shape.name} ${scn.service} scored\n`);
      return { open: out.text.trim().split('\n').slice(1).map((l) => l.endsWith(',1')) };
    }, scenarios);
    const missed = Object.entries(row.missed).map(([k, n]) => `${k}×${n}`).join(', ') || '-';
    console.log(`| ${shape.name} | ${shape.what} | ${row.eventF1.toFixed(3)} | ${row.found}/${row.incidents} | ` +
      `${row.falseAlarmsPerServiceDay.toFixed(2)} (${row.falseAlarms}) | ${row.flashCrowdAlerts} | ${missed} |`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
