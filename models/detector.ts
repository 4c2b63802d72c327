// A trained detector for one service or edge: scaler + autoencoder + threshold.
// trainDetector() learns from a baseline period; Detector.score() scores one
// window; saveDetector()/loadDetector() round-trip it through a directory
// (model.json + weights.bin + detector.json) so a restart scores identically.

import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { buildAutoencoder, fitAutoencoder, reconstruct, windowArrays, windowEnds, windowTensors } from './autoencoder.ts';
import { tf, tfBackend } from './backend.ts';
import { applyScaler, ERROR_CAP, fitScaler, oneSided, type Side, type ScaledRows, type Scaler } from './features.ts';
import { DEFAULT_HYSTERESIS, type HysteresisOptions } from './hysteresis.ts';
import { forwardWeights, reconstructWindow, type ForwardWeights } from './forward.ts';
import { loadModelFiles, saveModelFiles } from './model-io.ts';
import { sliceSeries, stepMs, type Series } from './series.ts';
import { potThreshold, type Threshold } from './threshold.ts';

export const DETECTOR_VERSION = 1;

export interface TrainOptions {
  /** What the detector watches, used in explanations ("cart → payments"). */
  subject?: string;
  window?: number;
  units?: number;
  /** Step between training windows; scoring always uses every window. */
  stride?: number;
  epochs?: number;
  patience?: number;
  batchSize?: number;
  learningRate?: number;
  /** Accepted false-exceedance probability per window for the POT threshold. */
  risk?: number;
  hysteresis?: HysteresisOptions;
  seed?: number;
  onEpoch?: (epoch: number, maxEpochs: number, loss: number, valLoss: number) => void;
}

export interface DetectorMeta {
  version: number;
  subject: string;
  featureNames: string[];
  featureLabels: string[];
  scaler: Scaler;
  threshold: Threshold;
  window: number;
  units: number;
  hysteresis: HysteresisOptions;
  /**
   * Per feature, its normal reconstruction error: the mean (capped) squared
   * error over the training windows, at least MIN_ERROR_SCALE. A window's
   * score divides each feature's error by it (see windowError). Absent in
   * models saved before it: every feature counts 1.
   */
  errorScale?: number[];
  training: { fromTs: number; toTs: number; rows: number; trainWindows: number; validationWindows: number; epochs: number; bestValLoss: number; backend: string; trainedAt: string };
}

/**
 * Least normal error a feature is credited with. A feature the model
 * reconstructs almost exactly (a constant response size) would otherwise make
 * the smallest wobble in it huge; at 0.5 one capped spike still weighs at most
 * twice what it would unscaled.
 */
export const MIN_ERROR_SCALE = 0.5;

/**
 * Bounds on the learnt threshold, in feature-units (scores are in units of
 * each feature's own normal error, so these mean the same for every subject).
 * Least: a window must be at least as unusual as one feature sitting 4 normal
 * errors out (16 squared) for the whole window, a score of 16 / F. Most: one
 * feature held at the cap (ERROR_CAP) for the whole window scores
 * ERROR_CAP / F, and that is an incident whatever the tail fit says, so the
 * threshold stays under 80% of it. From a 15-minute baseline the fit sees ~12
 * validation windows and one unlucky one can put it out of reach: the demo's
 * web had 5.8, and its error rate at 100% during an outage scored 3.6.
 */
export const LEAST_FEATURE_UNITS = 16;
export const MOST_FEATURE_UNITS = 0.8 * ERROR_CAP;

export interface FeatureShare { name: string; label: string; share: number }
export interface WindowScore { ts: number; score: number; threshold: number; above: boolean; top: FeatureShare[] }

export class Detector {
  private fw: ForwardWeights | undefined;

  constructor(readonly model: tf.LayersModel, readonly meta: DetectorMeta) {}

  get threshold(): number { return this.meta.threshold.value; }

  /** Score and per-feature contribution for every row of `s` (NaN for the first window − 1 rows). */
  scoreSeries(s: Series): { scores: number[]; contributions: number[][] } {
    return this.scoreEnds(s, windowEnds(0, s.rows.length, this.meta.window, 1));
  }

  /** scoreSeries for the windows ending at `ends` only (NaN and [] elsewhere). */
  scoreEnds(s: Series, ends: readonly number[]): { scores: number[]; contributions: number[][] } {
    const x = applyScaler(this.meta.scaler, s);
    const W = this.meta.window;
    const scores = new Array<number>(s.rows.length).fill(NaN);
    const contributions: number[][] = new Array(s.rows.length).fill([]);
    const sides = this.meta.scaler.features.map((f) => f.side);
    const weights = this.weights();
    for (let b = 0; b < ends.length; b += 4096) {
      const chunk = ends.slice(b, b + 4096);
      const { input, target } = windowTensors(x, chunk, W);
      const rec = reconstruct(this.model, input);
      input.dispose(); target.dispose();
      chunk.forEach((end, n) => {
        const r = windowError(x, rec, n, end, W, sides, weights);
        scores[end] = r.score;
        contributions[end] = r.contrib;
      });
    }
    return { scores, contributions };
  }

  /**
   * Scores the window that ends with the last row of `recent` (which needs at
   * least `window` rows), with the plain-JavaScript forward pass (forward.ts).
   */
  score(recent: Series): WindowScore {
    const W = this.meta.window;
    if (recent.rows.length < W) throw new Error(`score: need ${W} rows for one window, got ${recent.rows.length}`);
    const last = sliceSeries(recent, recent.rows.length - W, recent.rows.length);
    const x = applyScaler(this.meta.scaler, last);
    const { inp } = windowArrays(x, [W - 1], W);
    this.fw ??= forwardWeights(this.model, W);
    const r = windowError(x, reconstructWindow(this.fw, inp), 0, W - 1, W, this.meta.scaler.features.map((f) => f.side), this.weights());
    return { ts: last.ts[W - 1], score: r.score, threshold: this.threshold, above: r.score > this.threshold, top: this.topFeatures(r.contrib) };
  }

  /** 1 / normal error per feature (all 1 for models without errorScale). */
  private weights(): number[] {
    return this.meta.errorScale?.map((e) => 1 / e) ?? this.meta.featureNames.map(() => 1);
  }

  /** Features ordered by their share of the error, keeping those that make up 70% of it (at most 3). */
  topFeatures(contrib: number[]): FeatureShare[] {
    const total = contrib.reduce((a, c) => a + (Number.isFinite(c) ? c : 0), 0);
    if (!(total > 0)) return [];
    const all = contrib.map((c, j) => ({ name: this.meta.featureNames[j], label: this.meta.featureLabels[j], share: (Number.isFinite(c) ? c : 0) / total }))
      .sort((a, b) => b.share - a.share);
    const out: FeatureShare[] = [];
    let cum = 0;
    for (const f of all) { if (out.length === 3 || (cum >= 0.7 && out.length > 0)) break; out.push(f); cum += f.share; }
    return out;
  }

  /** "p99 latency and retries on cart → payments" */
  explain(top: FeatureShare[]): string {
    const names = top.map((f) => f.label);
    const list = names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
    return `${list || 'unusual traffic'} on ${this.meta.subject}`;
  }
}

// A window's score: each element's squared reconstruction error (harmless
// side of one-sided features zeroed) divided by that feature's normal error,
// capped at ERROR_CAP so one p99 spike cannot alert alone, averaged over the
// window's finite elements. The weights put every feature in units of its
// own normal noise, and the cap applies in those units, so any one feature
// held far out for a whole window scores ERROR_CAP / F, above the threshold's
// upper bound whatever its own noise. Unweighted, a noisy feature set the
// threshold for all: the demo's catalog has a bimodal p99 (1% of requests
// take +120 ms, so a 10 s bucket's p99 flips between ~20 and ~120 ms), the
// threshold learnt from it was 10.8, and a catalog outage (error rate 0.2% ->
// 100%, p50, p99 and bytes out all moved) stayed under it. `contrib` is each
// feature's weighted mean error (NaN when it had no finite value in the window).
function windowError(x: ScaledRows, rec: Float32Array, n: number, end: number, W: number, sides: Side[], weights: number[]): { score: number; contrib: number[] } {
  const F = sides.length;
  const sum = new Array<number>(F).fill(0), cnt = new Array<number>(F).fill(0);
  for (let s = 0; s < W; s++) {
    const row = x.values[end - W + 1 + s];
    for (let j = 0; j < F; j++) {
      if (!Number.isFinite(row[j])) continue;
      let e = row[j] - rec[(n * W + s) * F + j];
      e = oneSided(e, sides[j]);
      sum[j] += Math.min(ERROR_CAP, weights[j] * e * e); cnt[j]++;
    }
  }
  const total = cnt.reduce((a, c) => a + c, 0);
  return { score: total ? sum.reduce((a, v) => a + v, 0) / total : NaN, contrib: sum.map((v, j) => (cnt[j] ? v / cnt[j] : NaN)) };
}

/** Validation rows: every fifth block, blocks of up to an hour, so validation spans the whole day. */
function isValidationRow(i: number, block: number): boolean { return Math.floor(i / block) % 5 === 4; }

export async function trainDetector(train: Series, o: TrainOptions = {}): Promise<Detector> {
  const backend = await tfBackend();
  const W = o.window ?? 12;
  if (train.rows.length < W * 20) throw new Error(`train: need at least ${W * 20} rows (20 windows of ${W}), got ${train.rows.length}`);
  const scaler = fitScaler(train);
  const x = applyScaler(scaler, train);
  const F = scaler.features.length;
  const block = Math.max(4 * W, Math.min(Math.round(3_600_000 / stepMs(train.ts)), Math.floor(train.rows.length / 10)));
  const all = windowEnds(0, train.rows.length, W, 1);
  const valEnds = all.filter((i) => isValidationRow(i, block) && isValidationRow(i - W + 1, block));
  const stride = o.stride ?? 8;
  const trainEnds = all.filter((i) => !isValidationRow(i, block) && !isValidationRow(i - W + 1, block) && i % stride === 0);
  const units = o.units ?? 16;
  const model = buildAutoencoder({ window: W, units, features: F, seed: o.seed });
  const tr = windowTensors(x, trainEnds, W), va = windowTensors(x, valEnds, W);
  const maxEpochs = o.epochs ?? 15;
  let fit;
  try {
    fit = await fitAutoencoder(model, tr, va, {
      epochs: maxEpochs, patience: o.patience ?? 2, batchSize: o.batchSize ?? 128, learningRate: o.learningRate ?? 0.01, seed: o.seed,
      onEpoch: (e, l, v) => o.onEpoch?.(e, maxEpochs, l, v),
    });
  } finally {
    tf.dispose([tr.input, tr.target, va.input, va.target]);
  }
  const meta: DetectorMeta = {
    version: DETECTOR_VERSION, subject: o.subject ?? 'service',
    featureNames: scaler.features.map((f) => f.name), featureLabels: scaler.features.map((f) => f.label),
    scaler, threshold: { value: Infinity, method: 'pot', risk: 0, u: 0, shape: 0, scale: 0, excesses: 0 }, window: W, units,
    hysteresis: { ...DEFAULT_HYSTERESIS, ...o.hysteresis },
    training: {
      fromTs: train.ts[0], toTs: train.ts[train.ts.length - 1], rows: train.rows.length, trainWindows: trainEnds.length,
      validationWindows: valEnds.length, epochs: fit.epochs, bestValLoss: fit.bestValLoss, backend, trainedAt: new Date().toISOString(),
    },
  };
  const det = new Detector(model, meta);
  // Normal error per feature, from the windows the model was fitted on.
  const fitted = det.scoreEnds(train, trainEnds).contributions;
  meta.errorScale = scaler.features.map((_, j) => {
    const v = trainEnds.map((i) => fitted[i][j]).filter(Number.isFinite);
    const mean = v.length ? v.reduce((a, c) => a + c, 0) / v.length : 1;
    return Math.max(MIN_ERROR_SCALE, mean);
  });
  // The threshold comes from windows the model was not fitted on (validation blocks).
  const { scores } = det.scoreEnds(train, valEnds);
  meta.threshold = potThreshold(valEnds.map((i) => scores[i]), { risk: o.risk ?? 1e-5, least: LEAST_FEATURE_UNITS / F, most: MOST_FEATURE_UNITS / F });
  return det;
}

export async function saveDetector(dir: string, det: Detector): Promise<void> {
  await mkdir(dir, { recursive: true });
  await saveModelFiles(det.model, dir);
  await writeFile(join(dir, 'detector.json'), JSON.stringify(det.meta, null, 1));
}

export async function loadDetector(dir: string): Promise<Detector> {
  await tfBackend();
  const path = join(dir, 'detector.json');
  const meta = JSON.parse(await readFile(path, 'utf8')) as DetectorMeta;
  if (meta.version !== DETECTOR_VERSION) throw new Error(`detector ${path}: version ${meta.version}, this build reads ${DETECTOR_VERSION}`);
  return new Detector(await loadModelFiles(dir), meta);
}
