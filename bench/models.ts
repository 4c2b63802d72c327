// `npm run bench:models`: training time on two days of 10-second rollups
// (17,280 rows) for one service and the time to score one window, each the
// median of several runs, with the tensorflow.js backend in use. Targets:
// training within 60 s on a 2-core machine (WASM), one window within 5 ms.
// The peer line is the same window scored by the model-free window z² on
// the same features, so the model's cost reads as a ratio; the same window
// through tensorflow.js's model.predict is printed beside Detector.score's
// plain-JavaScript forward pass (models/forward.ts).
//
//   npm run bench:models                 3 training runs, 200 window scores
//   npm run bench:models -- --runs 5

import { trainDetector, tfBackend } from '../models/index.ts';
import { generateScenario } from '../models/scenario.ts';
import { applyScaler } from '../models/features.ts';
import { sliceSeries } from '../models/series.ts';

const arg = process.argv.indexOf('--runs');
const runs = arg >= 0 ? Number(process.argv[arg + 1]) : 3;
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const backend = await tfBackend();
const scn = generateScenario({ seed: 42, service: 'cart', trainDays: 2, testDays: 0.1 });
const train = sliceSeries(scn.series, 0, scn.trainRows);
console.log(`bench:models — backend ${backend}, ${train.rows.length} training rows × ${train.names.length} features, node ${process.version}`);

const trainMs: number[] = [];
let det;
for (let r = 0; r < runs; r++) {
  const t0 = performance.now();
  det = await trainDetector(train, { subject: 'cart', seed: r + 1 });
  trainMs.push(performance.now() - t0);
  console.log(`  training run ${r + 1}: ${(trainMs[r] / 1000).toFixed(1)} s (${det.meta.training.epochs} epochs, ${det.meta.training.trainWindows} windows)`);
}
if (!det) throw new Error('no runs');

const W = det.meta.window;
const scoreMs: number[] = [], tfMs: number[] = [], peerMs: number[] = [];
for (let k = 0; k < 200; k++) {
  const end = scn.trainRows + 1 + k;
  const window = sliceSeries(scn.series, end - W, end);
  let t0 = performance.now();
  det.score(window);
  scoreMs.push(performance.now() - t0);
  t0 = performance.now();
  det.scoreSeries(window); // the same window through tensorflow.js (model.predict)
  tfMs.push(performance.now() - t0);
  t0 = performance.now();
  const x = applyScaler(det.meta.scaler, window);
  let sum = 0;
  for (const row of x.values) for (const v of row) if (Number.isFinite(v)) sum += v * v;
  if (!(sum >= 0)) throw new Error('peer score not finite');
  peerMs.push(performance.now() - t0);
}
const t = median(trainMs) / 1000, s = median(scoreMs), tfs = median(tfMs), p = median(peerMs);
console.log(`train (median of ${runs}): ${t.toFixed(1)} s — target <= 60 s: ${t <= 60 ? 'met' : 'NOT met'}`);
console.log(`score one window (median of 200), Detector.score (JS forward pass): ${s.toFixed(2)} ms — target <= 5 ms: ${s <= 5 ? 'met' : 'NOT met'}`);
console.log(`  same window through tensorflow.js ${backend} model.predict: ${tfs.toFixed(2)} ms (×${(tfs / s).toFixed(0)} the JS pass); peer: window z² on the same features ${p.toFixed(3)} ms (JS pass ×${(s / p).toFixed(0)})`);
