// Tap batches: how a sidecar ships its events, and the hash chain that lets
// the collector tell a gap or an altered batch from an honest retry.
//
// A sidecar process has one *stream* (a random id chosen at start). Within a
// stream, batches are numbered 0, 1, 2, … and events carry contiguous `seq`
// numbers. Each batch's hash covers the previous batch's hash, so removing,
// reordering or editing any batch breaks every hash after it.
//
//   hash = sha256_hex(prev_hash + "\n" + JSON.stringify(body))
//   body = { proxy, stream, batch, first_seq, lost, events }  (in that order)
//
// JSON.stringify of a value parsed from JSON reproduces the same text for
// everything a tap can hold (strings, integers, finite floats, plain
// objects), so the collector recomputes the hash from the parsed batch.

import { createHash } from 'node:crypto';
import type { TapEvent } from './schema/v1.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface TapBatch {
  schema: 1;
  proxy: string;
  /** Random id of the sidecar process lifetime; a restart starts a new chain. */
  stream: string;
  /** Batch number within the stream, from 0. */
  batch: number;
  /** seq of events[0]; events carry first_seq, first_seq+1, … */
  first_seq: number;
  /** Events the sidecar had to drop so far in this stream (buffer full), cumulative. */
  lost: number;
  events: TapEvent[];
  prev_hash: string;
  hash: string;
}

export type UnsealedBatch = Omit<TapBatch, 'hash' | 'schema'>;

export function batchHash(b: UnsealedBatch): string {
  const body = JSON.stringify({
    proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, lost: b.lost, events: b.events,
  });
  return createHash('sha256').update(b.prev_hash).update('\n').update(body).digest('hex');
}

export function sealBatch(b: UnsealedBatch): TapBatch {
  return { schema: 1, ...b, hash: batchHash(b) };
}
