// What a sidecar's tap emitter hands its batches to. One implementation per
// bus: embedded (HTTP to the control plane's collector, below) and Kafka
// (a later issue). Outcomes are values, not exceptions: the emitter decides
// from `retriable` whether to resend the same sealed batch or count it lost.

import { encodeBatch, type TapBatch } from '../batch.ts';

export type PublishResult =
  | { ok: true; duplicate: boolean }
  | { ok: false; retriable: boolean; code: string; message: string };

/** What names a sealed batch in a publisher's messages (and its Kafka key). */
export type BatchLabel = Pick<TapBatch, 'proxy' | 'stream' | 'batch'>;

export interface TapPublisher {
  /**
   * Sends a sealed batch: `frame` when given (as sealed, so it is not
   * encoded again; `batch` then only names it), else encodeBatch(batch),
   * which needs its events (frameOf).
   */
  publish(batch: TapBatch | BatchLabel, frame?: Buffer): Promise<PublishResult>;
  /**
   * The largest frame this bus takes (Kafka's message.max.bytes, the
   * collector's body limit); the emitter seals its batches under it, so a
   * backlog is sent in big batches without one being refused as too large.
   */
  readonly maxFrameBytes: number;
  close(): Promise<void>;
}

/** The frame to send for a publish() call: the one given, else the batch encoded (it must then carry its events). */
export function frameOf(batch: TapBatch | BatchLabel, frame: Buffer | undefined): Buffer {
  if (frame) return frame;
  if (!('events' in batch)) throw new TypeError(`tap batch ${batch.batch} of ${batch.proxy}/${batch.stream}: publish() needs its frame or its events`);
  return encodeBatch(batch);
}
