// Body of the training worker thread: one job per worker (see train-job.ts).
// Trains a detector on the series it is given, saves it to the directory it
// is given, and reports what it learnt. tensorflow.js keeps its own backend
// (WASM or native) in this thread.

import { getPriority, setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { saveDetector, trainDetector, type TrainOptions } from './detector.ts';
import type { Series } from './series.ts';

export interface TrainJob { series: Series; options: Omit<TrainOptions, 'onEpoch'>; dir: string }

export type TrainReply =
  | { ok: true; ms: number; threshold: number; epochs: number; backend: string; trainedAt: string; rows: number; /** This thread's nice value while training. */ nice: number }
  | { ok: false; message: string };

const job = workerData as TrainJob;
// Train at the lowest CPU priority: on Linux the nice value is per thread, so
// this lowers only this worker. Measured in `meshlens up` on 2 cores: ten
// models trained at normal priority slowed the whole demo mesh (p50 latency
// up on every service for the ~30 s of training), and the first scores of
// the new models alerted on exactly that. Where the OS refuses, train anyway.
try { setPriority(19); } catch { /* not permitted here: normal priority */ }
const t0 = performance.now();
let reply: TrainReply;
try {
  // Structured cloning turned NaN into NaN (fine) but check the shape anyway.
  if (!job || !Array.isArray(job.series?.rows)) throw new Error('train worker: no series in workerData');
  const det = await trainDetector(job.series, job.options);
  await saveDetector(job.dir, det);
  const t = det.meta.training;
  reply = { ok: true, ms: performance.now() - t0, threshold: det.threshold, epochs: t.epochs, backend: t.backend, trainedAt: t.trainedAt, rows: t.rows, nice: getPriority() };
} catch (e) {
  reply = { ok: false, message: (e as Error).message };
}
parentPort!.postMessage(reply);
