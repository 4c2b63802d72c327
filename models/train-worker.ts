// Body of the training worker thread: one job per worker (see train-job.ts).
// Trains a detector on the series it is given, saves it to the directory it
// is given, and reports what it learnt. tensorflow.js keeps its own backend
// (WASM or native) in this thread.

import { parentPort, workerData } from 'node:worker_threads';
import { saveDetector, trainDetector, type TrainOptions } from './detector.ts';
import type { Series } from './series.ts';

export interface TrainJob { series: Series; options: Omit<TrainOptions, 'onEpoch'>; dir: string }

export type TrainReply =
  | { ok: true; ms: number; threshold: number; epochs: number; backend: string; trainedAt: string; rows: number }
  | { ok: false; message: string };

const job = workerData as TrainJob;
const t0 = performance.now();
let reply: TrainReply;
try {
  // Structured cloning turned NaN into NaN (fine) but check the shape anyway.
  if (!job || !Array.isArray(job.series?.rows)) throw new Error('train worker: no series in workerData');
  const det = await trainDetector(job.series, job.options);
  await saveDetector(job.dir, det);
  const t = det.meta.training;
  reply = { ok: true, ms: performance.now() - t0, threshold: det.threshold, epochs: t.epochs, backend: t.backend, trainedAt: t.trainedAt, rows: t.rows };
} catch (e) {
  reply = { ok: false, message: (e as Error).message };
}
parentPort!.postMessage(reply);
