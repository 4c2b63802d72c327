// Tap batches: how a sidecar ships its events, and the hash chain that lets
// the collector tell a gap or an altered batch from an honest retry.
//
// A sidecar process has one *stream* (a random id chosen at start). Within a
// stream, batches are numbered 0, 1, 2, … and events carry contiguous `seq`
// numbers. Each batch's hash covers the previous batch's hash, so removing,
// reordering or editing any batch breaks every hash after it.
//
// On the wire (Kafka record value, HTTP body) a batch is a *frame*: lines of
// JSON, one per line, each ending in "\n":
//
//   {"schema":3,"proxy":"web-1","stream":"k3x","batch":7,"first_seq":7000,"lost":0,"events":2,"prev_hash":"9f…"}
//   ["l7.request",1764412800000,"outbound","c1",…]
//   ["l4.close",1764412800012,"outbound","c1",…]
//   {"hash":"3c…"}
//
// Schema 3 event lines are JSON arrays, fields by position, without v,
// proxy and seq (the header gives them): ./tap-lines.ts. Schema 2, which
// sidecars wrote before, has one JSON object per event line with every
// field; collectors still read it (a fleet upgrades one sidecar at a
// time), and sealBatch writes it when asked to.
//
//   hash = sha256_hex(every byte of the frame before the hash line)
//
// The hash covers the bytes as sent (header, with prev_hash, and events), so
// the collector checks it without re-serialising anything, and events are
// parsed line by line: one JSON.parse of a whole batch of a thousand events
// makes a string of ~650 KB, which V8 keeps in its large-object space, and
// making and parsing that cost more than twice what the lines do (measured:
// 5.3 µs vs 2.3 µs per tap). Schema 1 was one JSON object per batch with
// the hash over a re-serialisation; the collector refuses it by name.

import { createHash } from 'node:crypto';
import { LineChunks } from './line-chunks.ts';
import type { TapEvent } from './schema/v1.ts';
import { eventLine } from './tap-lines.ts';

export const GENESIS_HASH = '0'.repeat(64);
/** The batch frame format sidecars write. */
export const BATCH_SCHEMA = 3 as const;
/** The frame formats collectors read. */
export const READ_SCHEMAS = [2, 3] as const;
export type BatchSchema = (typeof READ_SCHEMAS)[number];

export interface TapBatch {
  /** The frame format the hash was taken over; encodeBatch writes it again. */
  schema: BatchSchema;
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

/**
 * A decoded batch whose events are already encoded as `taps` rows
 * (toRowBatch, ./tap-row.ts): the header and hash as in TapBatch, the
 * event count, and the rows. The collector keeps this form from decoding
 * to the store write, so the event objects of a whole group (tens of
 * thousands of taps waiting for one INSERT) are never alive at once; see
 * ./collector.ts for what that saved.
 */
export interface RowBatch extends Omit<TapBatch, 'events'> {
  count: number;
  /** TabSeparated rows of TAP_INSERT_COLUMNS, one line per event. */
  rows: Buffer[];
}

/** A batch as the store and the chain take it: with its events, or with them encoded. */
export type StorableBatch = TapBatch | RowBatch;

/** Events in a batch of either form. */
export const eventCount = (b: StorableBatch): number => ('rows' in b ? b.count : b.events.length);

/** The header line's object, fields in wire order. */
export function batchHeader(b: UnsealedBatch, schema: BatchSchema = BATCH_SCHEMA): Record<string, unknown> {
  return {
    schema, proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, lost: b.lost,
    events: b.events.length, prev_hash: b.prev_hash,
  };
}

/**
 * Header and event lines as Buffers of about `chunkBytes`, cut at line
 * ends. Schema 3 leaves each event's proxy and seq to the header, so an
 * event that disagrees with it is refused here rather than lost.
 */
function bodyChunks(b: UnsealedBatch, schema: BatchSchema, chunkBytes = 256 * 1024): Buffer[] {
  const w = new LineChunks(chunkBytes);
  w.put(JSON.stringify(batchHeader(b, schema)), true);
  if (schema === 2) {
    for (const e of b.events) w.put(JSON.stringify(e), true);
    return w.chunks();
  }
  for (let i = 0; i < b.events.length; i++) {
    const e = b.events[i];
    if (e.proxy !== b.proxy || e.seq !== b.first_seq + i) {
      throw new TypeError(`batch ${b.batch} of ${b.proxy}/${b.stream}: event ${i} is seq ${e.seq} of ${e.proxy}; a batch frame carries seq ${b.first_seq + i} of ${b.proxy} there`);
    }
    w.put(eventLine(e), true);
  }
  return w.chunks();
}

function sha256(chunks: readonly Uint8Array[]): string {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
}

const hashLine = (hash: string) => Buffer.from(`{"hash":"${hash}"}\n`);

/** The hash a batch's frame carries (of its header and event lines). */
export function batchHash(b: UnsealedBatch, schema: BatchSchema = BATCH_SCHEMA): string {
  return sha256(bodyChunks(b, schema));
}

/** A batch with its hash, for a frame of `schema` (sidecars write BATCH_SCHEMA; 2 is for testing collectors). */
export function sealBatch(b: UnsealedBatch, schema: BatchSchema = BATCH_SCHEMA): TapBatch {
  return { ...b, schema, hash: batchHash(b, schema) };
}

/** Seals a batch and returns its frame too, encoding the events once. */
export function sealFrame(b: UnsealedBatch, schema: BatchSchema = BATCH_SCHEMA): { batch: TapBatch; frame: Buffer } {
  const body = bodyChunks(b, schema);
  const hash = sha256(body);
  return { batch: { ...b, schema, hash }, frame: Buffer.concat([...body, hashLine(hash)]) };
}

/**
 * A sealed batch as its frame, with the hash it carries (not a fresh one):
 * a batch altered after sealing makes a frame the collector rejects.
 */
export function encodeBatch(b: TapBatch): Buffer {
  return Buffer.concat([...bodyChunks(b, b.schema), hashLine(b.hash)]);
}

/** The hash of a frame's bytes before its hash line (decodeBatch compares it with the line). */
export function frameBodyHash(frame: Uint8Array, bodyEnd: number): string {
  return sha256([frame.subarray(0, bodyEnd)]);
}
