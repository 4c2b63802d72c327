// Training off the event loop. tensorflow.js training is synchronous work
// in long slices (seconds per epoch on a day of rollups with the WASM
// backend), which would stall the control plane's config streams, the
// collector and the UI. A worker thread per job keeps them responsive:
// the series goes in by structured clone, the model comes back as files in
// the job's directory (the main thread loads them with loadDetector), and
// the thread exits, returning its tensorflow.js memory. A thread rather than
// a child process: no second Node start-up per job, no IPC protocol, and
// nothing about chdb (one store per process) is shared either way.

import { Worker } from 'node:worker_threads';
import type { TrainJob, TrainReply } from './train-worker.ts';

export type TrainResult = Extract<TrainReply, { ok: true }>;

export function trainInWorker(job: TrainJob): { done: Promise<TrainResult>; cancel(): Promise<void> } {
  const w = new Worker(new URL('./train-worker-boot.mjs', import.meta.url), { workerData: job });
  const done = new Promise<TrainResult>((resolve, reject) => {
    let settled = false;
    w.once('message', (r: TrainReply) => {
      settled = true;
      if (r.ok) resolve(r); else reject(new Error(`training ${job.options.subject ?? ''} in ${job.dir}: ${r.message}`));
      void w.terminate();
    });
    w.once('error', (e) => { settled = true; reject(new Error(`training worker for ${job.dir}: ${e.message}`, { cause: e })); });
    w.once('exit', (code) => { if (!settled) reject(new Error(`training worker for ${job.dir} exited with code ${code} before replying`)); });
  });
  return { done, cancel: async () => { await w.terminate(); } };
}
