// Baseline detectors the autoencoder must beat, each producing one score per
// row of a series with its threshold learnt on the training rows by the same
// POT method, so the comparison is about the score and not the alerting.
//
// - robust z (raw): per column (x − median) / (1.4826·MAD) on the raw rollups,
//   score = mean z² over columns. The textbook first attempt.
// - EWMA: an EWMA control chart (Roberts 1959) per engineered feature (see
//   features.ts), score = mean of the squared standardised chart statistics.
// - window z² (ablation): the engineered features alone, score = mean x² over
//   the same sliding window the autoencoder sees, with the same error cap. Shows what the model adds
//   beyond feature engineering.

import { applyScaler, ERROR_CAP, fitScaler, oneSided, type ScaledRows, type Side } from './features.ts';
import { sliceSeries, type Series } from './series.ts';
import { potThreshold } from './threshold.ts';

export interface RowScores { scores: number[]; threshold: number }

const Z_CLIP = 10;

function med(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function robustZRaw(s: Series, trainRows: number): RowScores {
  const cols = s.names.map((_, j) => {
    const train = s.rows.slice(0, trainRows).map((r) => r[j]).filter(Number.isFinite);
    const c = med(train);
    const spread = 1.4826 * med(train.map((v) => Math.abs(v - c))) || 1;
    return { c, spread };
  });
  const scores = s.rows.map((r) => meanSq(r.map((v, j) => Math.min(Z_CLIP, Math.abs(v - cols[j].c) / cols[j].spread))));
  return { scores, threshold: potThreshold(scores.slice(0, trainRows)).value };
}

function meanSq(xs: number[]): number {
  let sum = 0, n = 0;
  for (const x of xs) if (Number.isFinite(x)) { sum += x * x; n++; }
  return n ? sum / n : NaN;
}

function engineered(s: Series, trainRows: number): { x: ScaledRows; sides: Side[] } {
  const sc = fitScaler(sliceSeries(s, 0, trainRows));
  return { x: applyScaler(sc, s), sides: sc.features.map((f) => f.side) };
}

export function ewmaScores(s: Series, trainRows: number, lambda = 0.1): RowScores {
  // Roberts' EWMA control chart on each standardised feature: z ← λx + (1 − λ)z,
  // whose in-control standard deviation is √(λ / (2 − λ)); gaps leave z unchanged.
  const { x, sides } = engineered(s, trainRows);
  const sd = Math.sqrt(lambda / (2 - lambda));
  const z = new Array<number>(sides.length).fill(0);
  const scores = x.values.map((row) => meanSq(row.map((v, j) => {
    if (Number.isFinite(v)) z[j] = lambda * v + (1 - lambda) * z[j];
    return Math.min(Z_CLIP, Math.abs(oneSided(z[j], sides[j])) / sd);
  })));
  return { scores, threshold: potThreshold(scores.slice(0, trainRows)).value };
}

export function windowZScores(s: Series, trainRows: number, window = 12): RowScores {
  const { x, sides } = engineered(s, trainRows);
  const capped = Math.sqrt(ERROR_CAP);
  const perRow = x.values.map((row) => meanSq(row.map((v, j) => Math.max(-capped, Math.min(capped, oneSided(v, sides[j]))))));
  const scores = perRow.map((_, i) => {
    if (i < window - 1) return NaN;
    let sum = 0, n = 0;
    for (let k = i - window + 1; k <= i; k++) if (Number.isFinite(perRow[k])) { sum += perRow[k]; n++; }
    return n ? sum / n : NaN;
  });
  return { scores, threshold: potThreshold(scores.slice(0, trainRows)).value };
}
