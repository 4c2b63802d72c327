// The live anomaly detector in the control process: rollups from the store
// in, alert rows into the store, models under `<data-dir>/models/`.

import { join, resolve } from 'node:path';
import type { TapStore } from '../ingest/index.ts';
import { startLiveDetector, type LiveDetector } from '../models/index.ts';
import type { FlagSpec, FlagValues } from './flags.ts';

export const MODEL_FLAGS: FlagSpec[] = [
  { name: 'models', type: 'bool', default: true, help: 'run the anomaly detector (trains on rollups, writes alerts)' },
  { name: 'model-warmup-min', type: 'int', env: 'MESHLENS_MODEL_WARMUP_MIN', default: 20, help: 'minutes of history a service or edge needs before its first model' },
  { name: 'retrain-every-min', type: 'int', env: 'MESHLENS_RETRAIN_EVERY_MIN', default: 360, help: 'minutes between retraining runs of each model' },
];

/** The flags of training times alone (`meshlens replay` has these, not --models). */
export const MODEL_TIMING_FLAGS = MODEL_FLAGS.filter((s) => s.name !== 'models');

export function modelProblems(f: FlagValues): string[] {
  return f.models ? modelTimingProblems(f) : [];
}

export function modelTimingProblems(f: FlagValues): string[] {
  const p: string[] = [];
  // The smallest model (window 4) trains on at least 80 buckets of 10 s.
  if (!(Number(f['model-warmup-min']) >= 14)) p.push(`--model-warmup-min: at least 14 (minutes), got ${f['model-warmup-min']}`);
  if (!(Number(f['retrain-every-min']) >= 1)) p.push(`--retrain-every-min: at least 1, got ${f['retrain-every-min']}`);
  return p;
}

/** The live detector's training times from the flags. */
export function modelTiming(f: FlagValues): { trainAfterMs: number; retrainEveryMs: number; minHistoryRows: number } {
  const warmupMs = Number(f['model-warmup-min']) * 60_000;
  return {
    trainAfterMs: warmupMs,
    retrainEveryMs: Number(f['retrain-every-min']) * 60_000,
    // Most of the warm-up's buckets must have traffic (10 s buckets).
    minHistoryRows: Math.floor((warmupMs / 10_000) * 0.8),
  };
}

/** `onAlert` hears of every alert state written (the tuning engine evaluates at once). */
export async function startModels(f: FlagValues, store: TapStore, log: (line: string) => void, onAlert: () => void = () => {}): Promise<LiveDetector | null> {
  if (!f.models) return null;
  const modelDir = join(resolve(String(f['data-dir'])), 'models');
  const live = await startLiveDetector({
    source: { series: (scope, fromMs, untilMs) => store.rollupSeries(scope, fromMs, untilMs) },
    sink: { write: async (a) => { await store.writeAlert(a); onAlert(); }, recent: () => store.alerts({ limit: 1000 }) },
    modelDir,
    ...modelTiming(f),
    log,
  });
  log(`models: ${modelDir}, first training after ${f['model-warmup-min']} min of history, retraining every ${f['retrain-every-min']} min`);
  return live;
}
