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
// proxy and seq (the header gives them): ./tap-lines.ts. Fields added to
// taps since go at the end of a line and are left off while absent, so
// lines of any age read under the same schema number. Schema 2, which
// sidecars wrote before, has one JSON object per event line with every
// field; collectors still read it (a fleet upgrades one sidecar at a
// time), and sealBatch writes it when asked to.
//
//   hash = sha256_hex(every byte of the frame before the hash line)
//
// Schema 4 is a *signed* schema 3 frame: the same lines, then one more
// after the hash line, written by a sidecar that holds an X.509 SVID
// (identity/; the signer: ./batch-signer.ts):
//
//   {"sig":"MEUCIQ…","x5c":["MIIB…", …]}
//
//   sig  base64 of the DER ECDSA (P-256, SHA-256) signature of the ASCII
//        bytes "meshlens-tap-batch-v1:" + hash (the hash line's 64 hex digits)
//   x5c  base64 DER certificates, the signer's leaf first, then any
//        intermediates up to (not including) a root of the trust bundle
//
// The signature covers the hash, and the hash covers the header and every
// event, so it covers the whole batch; the signature line itself is not
// hashed, so the chain (prev_hash) is the same whoever signed. The header's
// schema 4 is hashed and signed: a signed frame cannot be passed off as an
// unsigned one of the same hash. A collector with a trust bundle believes a
// batch only if the leaf chains to the bundle, its subject CN is the
// header's proxy and the signature verifies (./batch-verifier.ts); one
// without a bundle reads schemas 2, 3 and 4 and checks no signature.
// sealFrame writes schema 4 when given a signer, schema 3 (or 2) without.
//
// The hash covers the bytes as sent (header, with prev_hash, and events), so
// the collector checks it without re-serialising anything, and events are
// parsed line by line: one JSON.parse of a whole batch of a thousand events
// makes a string of ~650 KB, which V8 keeps in its large-object space, and
// making and parsing that cost more than twice what the lines do (measured:
// 5.3 µs vs 2.3 µs per tap). Schema 1 was one JSON object per batch with
// the hash over a re-serialisation; the collector refuses it by name.

import { createHash } from 'node:crypto';
import { signatureLine, type BatchSignature, type BatchSigner } from './batch-signer.ts';
import { LineChunks } from './line-chunks.ts';
import type { TapEvent } from './schema/v1.ts';
import { eventLine } from './tap-lines.ts';

export const GENESIS_HASH = '0'.repeat(64);
/** The batch frame format sidecars write without a signer. */
export const BATCH_SCHEMA = 3 as const;
/** The frame format of a signed batch (schema 3 lines and a signature line). */
export const SIGNED_BATCH_SCHEMA = 4 as const;
/** The frame formats collectors read (a collector with a trust bundle believes only 4). */
export const READ_SCHEMAS = [2, 3, 4] as const;
export type BatchSchema = (typeof READ_SCHEMAS)[number];
/** Event-line formats a batch is sealed in; a signer turns 3 into 4. */
export type UnsignedSchema = Exclude<BatchSchema, typeof SIGNED_BATCH_SCHEMA>;

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
  /** Schema 4 only: the signature line, as sealed (a decoded one is NOT verified by decodeBatch). */
  signature?: BatchSignature;
}

export type UnsealedBatch = Omit<TapBatch, 'hash' | 'schema' | 'signature'>;

/** Who signed a batch, once a collector has believed the signature (./batch-verifier.ts). */
export interface BatchSigned {
  /** The certificate's SPIFFE id (URI SAN). */
  uri: string;
  /** Its subject CN, which equals the batch's proxy. */
  proxy: string;
  /** The service of its SPIFFE id: each event's own side (the callee inbound, the caller outbound) must be it. */
  service: string;
  /** SHA-256 fingerprint of the leaf certificate (colon hex, as node prints it). */
  fingerprint: string;
  /** The signature (base64 DER), so a stored batch can be checked again against the hash. */
  sig: string;
}

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
  /** Set by a collector that verified the batch's signature. */
  signed?: BatchSigned;
}

/** A batch as the store and the chain take it: with its events, or with them encoded. */
export type StorableBatch = TapBatch | RowBatch;

/** Events in a batch of either form. */
export const eventCount = (b: StorableBatch): number => ('rows' in b ? b.count : b.events.length);

/**
 * A batch whose events are already schema 3 event lines (./tap-lines.ts,
 * no newlines), as a sidecar's emitter keeps them: each tap is encoded once,
 * when it is pushed, and its line serves the spool and the frame alike.
 */
export interface UnsealedLines extends Omit<UnsealedBatch, 'events'> {
  lines: readonly string[];
}

/** A sealed batch without its events: what the emitter and the publisher need beside the frame. */
export interface SealedHead extends Omit<TapBatch, 'events'> {
  /** Events in the batch. */
  count: number;
}

/** The header line's object, fields in wire order. */
export function batchHeader(b: UnsealedBatch | UnsealedLines, schema: BatchSchema = BATCH_SCHEMA): Record<string, unknown> {
  return headerOf(b, 'lines' in b ? b.lines.length : b.events.length, schema);
}

/** The fields of a batch's header besides its event count. */
type BatchFields = Omit<UnsealedBatch, 'events'>;

function headerOf(b: BatchFields, events: number, schema: BatchSchema): Record<string, unknown> {
  return { schema, proxy: b.proxy, stream: b.stream, batch: b.batch, first_seq: b.first_seq, lost: b.lost, events, prev_hash: b.prev_hash };
}

/**
 * Header and event lines as Buffers of about `chunkBytes`, cut at line
 * ends. Schema 3 leaves each event's proxy and seq to the header, so an
 * event that disagrees with it is refused here rather than lost.
 */
function bodyChunks(b: UnsealedBatch, schema: BatchSchema, chunkBytes = 256 * 1024): Buffer[] {
  // Schema 4's header and event lines are schema 3's; the signature line comes after the hash.
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

/**
 * The schema a batch is sealed in: `schema`'s lines, signed (4) when there
 * is a signer. Schema 2 frames are never signed (sidecars stopped writing
 * them before signatures).
 */
function sealedSchema(schema: UnsignedSchema, signer: BatchSigner | null | undefined): BatchSchema {
  if (!signer) return schema;
  if (schema !== 3) throw new TypeError(`a signed batch frame is schema ${SIGNED_BATCH_SCHEMA} (schema 3 lines and a signature line); schema ${schema} cannot be signed`);
  return SIGNED_BATCH_SCHEMA;
}

/**
 * A batch with its hash, for a frame of `schema` (sidecars write
 * BATCH_SCHEMA; 2 is for testing collectors), signed (schema 4) when a
 * signer is given.
 */
export function sealBatch(b: UnsealedBatch, schema: UnsignedSchema = BATCH_SCHEMA, signer?: BatchSigner | null): TapBatch {
  const s = sealedSchema(schema, signer);
  const { signature: _old, ...unsigned } = b as TapBatch; // a batch sealed again never keeps an old signature
  const hash = batchHash(unsigned, s);
  return signer ? { ...unsigned, schema: s, hash, signature: signer.sign(hash) } : { ...unsigned, schema: s, hash };
}

/**
 * Seals a batch and returns its frame too, encoding the events once; with
 * a signer (the emitter's current one, null while it has no certificate)
 * the frame is schema 4 and carries the signature line.
 */
export function sealFrame(b: UnsealedBatch, schema: UnsignedSchema = BATCH_SCHEMA, signer?: BatchSigner | null): { batch: TapBatch; frame: Buffer } {
  const s = sealedSchema(schema, signer);
  const { signature: _old, ...unsigned } = b as TapBatch;
  const body = bodyChunks(unsigned, s);
  const hash = sha256(body);
  if (!signer) return { batch: { ...unsigned, schema: s, hash }, frame: Buffer.concat([...body, hashLine(hash)]) };
  const signature = signer.sign(hash);
  return { batch: { ...unsigned, schema: s, hash, signature }, frame: Buffer.concat([...body, hashLine(hash), Buffer.from(signatureLine(signature))]) };
}

/**
 * sealFrame for a batch of event lines: the same frame, byte for byte, as
 * sealFrame writes for the events the lines encode (schema 3, or 4 with a
 * signer). The lines are the caller's, unchecked: a sidecar's emitter makes
 * them with eventLine from its own taps.
 */
export function sealLines(b: UnsealedLines, signer?: BatchSigner | null): { batch: SealedHead; frame: Buffer } {
  const { lines, ...head } = b;
  const sealer = new LineSealer({ ...head, count: lines.length }, signer);
  sealer.add(lines);
  return sealer.finish();
}

/**
 * sealLines in steps, for a batch too big to seal in one go without
 * holding up a sidecar's requests (10,000 lines take ~10 ms): the header
 * (which says how many events follow) is hashed first, then each add()
 * encodes and hashes some of the lines, and finish() writes the hash line
 * (and signature line) once `count` lines were added.
 */
export class LineSealer {
  readonly #head: BatchFields & { count: number };
  readonly #signer: BatchSigner | null;
  readonly #schema: BatchSchema;
  readonly #hash = createHash('sha256');
  readonly #chunks: Buffer[] = [];
  #added = 0;

  constructor(head: BatchFields & { count: number }, signer?: BatchSigner | null) {
    this.#head = head;
    this.#signer = signer ?? null;
    this.#schema = sealedSchema(BATCH_SCHEMA, this.#signer);
    this.#push(Buffer.from(`${JSON.stringify(headerOf(head, head.count, this.#schema))}\n`));
  }

  add(lines: readonly string[]): void {
    if (this.#added + lines.length > this.#head.count) throw new TypeError(`batch ${this.#head.batch} of ${this.#head.proxy}/${this.#head.stream}: ${this.#added + lines.length} event lines for a header of ${this.#head.count}`);
    if (lines.length === 0) return;
    this.#added += lines.length;
    this.#push(Buffer.from(`${lines.join('\n')}\n`));
  }

  finish(): { batch: SealedHead; frame: Buffer } {
    if (this.#added !== this.#head.count) throw new TypeError(`batch ${this.#head.batch} of ${this.#head.proxy}/${this.#head.stream}: ${this.#added} event lines for a header of ${this.#head.count}`);
    const hash = this.#hash.digest('hex');
    const { count, ...head } = this.#head;
    const sealed: SealedHead = { ...head, schema: this.#schema, hash, count };
    const tail = [hashLine(hash)];
    if (this.#signer) {
      sealed.signature = this.#signer.sign(hash);
      tail.push(Buffer.from(signatureLine(sealed.signature)));
    }
    return { batch: sealed, frame: Buffer.concat([...this.#chunks, ...tail]) };
  }

  #push(b: Buffer): void {
    this.#hash.update(b);
    this.#chunks.push(b);
  }
}

/**
 * A sealed batch as its frame, with the hash (and signature) it carries,
 * not fresh ones: a batch altered after sealing makes a frame the collector
 * rejects.
 */
export function encodeBatch(b: TapBatch): Buffer {
  const tail = [hashLine(b.hash)];
  if (b.schema === SIGNED_BATCH_SCHEMA) {
    if (!b.signature) throw new TypeError(`batch ${b.batch} of ${b.proxy}/${b.stream}: a schema ${SIGNED_BATCH_SCHEMA} batch needs its signature`);
    tail.push(Buffer.from(signatureLine(b.signature)));
  }
  return Buffer.concat([...bodyChunks(b, b.schema), ...tail]);
}

/** The hash of a frame's bytes before its hash line (decodeBatch compares it with the line). */
export function frameBodyHash(frame: Uint8Array, bodyEnd: number): string {
  return sha256([frame.subarray(0, bodyEnd)]);
}
