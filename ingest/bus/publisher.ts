// What a sidecar's tap emitter hands its batches to. One implementation per
// bus: embedded (HTTP to the control plane's collector, below) and Kafka
// (a later issue). Outcomes are values, not exceptions: the emitter decides
// from `retriable` whether to resend the same sealed batch or count it lost.

import type { TapBatch } from '../batch.ts';

export type PublishResult =
  | { ok: true; duplicate: boolean }
  | { ok: false; retriable: boolean; code: string; message: string };

export interface TapPublisher {
  /** Sends a sealed batch: `frame` when given (its encoding from sealFrame, so it is not encoded twice), else encodeBatch(batch). */
  publish(batch: TapBatch, frame?: Buffer): Promise<PublishResult>;
  close(): Promise<void>;
}
