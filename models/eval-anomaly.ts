// `npm run eval:anomaly`: the LSTM autoencoder against baselines on generated
// scenarios. Development used seeds 1–3; the table reports held-out seeds the
// detector was never tuned on (default 101–106), one service per seed, two
// days of training and two days scored per service.
//
//   npm run eval:anomaly                       held-out seeds
//   npm run eval:anomaly -- --seeds 1,2,3      other seeds

import { ewmaScores, robustZRaw, windowZScores } from './baselines.ts';
import { trainDetector } from './detector.ts';
import { evaluate, formatTable, type EvalRow } from './evaluate.ts';
import { tfBackend } from './backend.ts';
import { generateScenario } from './scenario.ts';
import { sliceSeries } from './series.ts';

const i = process.argv.indexOf('--seeds');
const seeds = (i >= 0 ? process.argv[i + 1] : '101,102,103,104,105,106').split(',').map(Number);
const names = ['cart', 'payments', 'catalog', 'search', 'checkout', 'auth', 'orders', 'shipping'];
const scenarios = seeds.map((seed, k) => generateScenario({ seed, service: names[k % names.length] }));
const backend = await tfBackend();
process.stderr.write(`eval: ${scenarios.length} services (seeds ${seeds.join(',')}), backend ${backend}\n`);

const rows: EvalRow[] = [];
rows.push(await evaluate('robust z-score (raw rollups)', (s) => robustZRaw(s.series, s.trainRows), scenarios));
rows.push(await evaluate('robust z-score (engineered features, per step)', (s) => windowZScores(s.series, s.trainRows, 1), scenarios));
rows.push(await evaluate('EWMA chart (engineered features)', (s) => ewmaScores(s.series, s.trainRows), scenarios));
rows.push(await evaluate('window z² (engineered features, no model)', (s) => windowZScores(s.series, s.trainRows), scenarios));
const trainMs: number[] = [];
rows.push(await evaluate('LSTM autoencoder', async (s) => {
  const t0 = Date.now();
  const det = await trainDetector(sliceSeries(s.series, 0, s.trainRows), { subject: s.service });
  trainMs.push(Date.now() - t0);
  process.stderr.write(`eval: ${s.service} trained in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${det.meta.training.epochs} epochs, threshold ${det.threshold.toFixed(3)}\n`);
  const { scores } = det.scoreSeries(s.series);
  return { scores, threshold: det.threshold };
}, scenarios));

console.log(`meshlens eval:anomaly — ${new Date().toISOString().slice(0, 10)}, seeds ${seeds.join(',')}, ${scenarios.length} services × 2 scored days, tensorflow.js ${backend}\n`);
console.log(formatTable(rows));
const ae = rows[rows.length - 1];
console.log(`\ntargets (LSTM autoencoder): event F1 >= 0.9: ${ae.eventF1 >= 0.9 ? 'met' : 'NOT met'} (${ae.eventF1.toFixed(3)}); ` +
  `<= 2 false alarms per service-day: ${ae.falseAlarmsPerServiceDay <= 2 ? 'met' : 'NOT met'} (${ae.falseAlarmsPerServiceDay.toFixed(2)})`);
