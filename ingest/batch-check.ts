// Decoding and checking one received batch frame (format: ./batch.ts): the
// header, the hash line against the bytes, every event through
// validateTap, and events matching the batch (same proxy, contiguous seq).
// Stateless; the hash chain across batches is ./chain.ts's job.

import { BATCH_SCHEMA, frameBodyHash, type TapBatch } from './batch.ts';
import { IngestError } from './errors.ts';
import { validateTap, type TapEvent } from './schema/v1.ts';

/** Problems listed in one error message before "and N more". */
const MAX_LISTED = 10;

const HASH_RE = /^[0-9a-f]{64}$/;
const HASH_LINE = /^\{"hash":"([0-9a-f]{64})"\}$/;
const isUint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isName = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 128;

const HEADER_FIELDS: Record<string, [(v: unknown) => boolean, string]> = {
  schema: [(v) => v === BATCH_SCHEMA, `must be ${BATCH_SCHEMA}`],
  proxy: [isName, 'must be a string of 1..128 characters'],
  stream: [isName, 'must be a string of 1..128 characters'],
  batch: [isUint, 'must be an integer >= 0'],
  first_seq: [isUint, 'must be an integer >= 0'],
  lost: [isUint, 'must be an integer >= 0'],
  events: [isUint, 'must be the number of event lines, an integer >= 0'],
  prev_hash: [(v) => typeof v === 'string' && HASH_RE.test(v), 'must be 64 lower-case hex digits'],
};

/** "batch 3 of web-1/s1", with whatever identity fields are readable. */
export function batchLabel(o: Record<string, unknown>): string {
  const part = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v).slice(0, 128) : '?');
  return `batch ${part(o.batch)} of ${part(o.proxy)}/${part(o.stream)}`;
}

function listed(problems: string[]): string {
  const more = problems.length - MAX_LISTED;
  return problems.slice(0, MAX_LISTED).join('; ') + (more > 0 ? `; and ${more} more` : '');
}

const short = (h: string) => h.slice(0, 12);
const why = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The header line as an object, or an IngestError saying what is wrong with it. */
function readHeader(buf: Buffer, end: number): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 0, end));
  } catch (e) {
    throw new IngestError('INGEST_ERR_NOT_JSON', `tap batch frame: line 1 (the header) is not JSON: ${why(e)}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new IngestError('INGEST_ERR_MALFORMED', 'tap batch frame: line 1 (the header) must be a JSON object');
  }
  const o = header as Record<string, unknown>;
  const label = batchLabel(o);
  if (o.schema !== BATCH_SCHEMA) {
    const old = o.schema === 1 ? ' (schema 1, one JSON object per batch, is what sidecars sent before batch frames)' : '';
    throw new IngestError('INGEST_ERR_SCHEMA_VERSION',
      `${label}: schema ${JSON.stringify(o.schema)} is not supported${old}; this collector reads batch frames of schema ${BATCH_SCHEMA}`);
  }
  const problems: string[] = [];
  for (const [field, [ok, msg]] of Object.entries(HEADER_FIELDS)) {
    if (o[field] === undefined) problems.push(`${field}: missing`);
    else if (!ok(o[field])) problems.push(`${field}: ${msg}`);
  }
  for (const field of Object.keys(o)) if (!(field in HEADER_FIELDS)) problems.push(`${field}: unknown field`);
  if (problems.length > 0) throw new IngestError('INGEST_ERR_MALFORMED', `${label}: header: ${listed(problems)}`);
  return o;
}

/**
 * The frame as a TapBatch, or an IngestError naming every problem found (up
 * to MAX_LISTED): INGEST_ERR_NOT_JSON / _MALFORMED / _SCHEMA_VERSION for the
 * shape, INGEST_ERR_CHAIN when the bytes do not hash to the frame's hash
 * line, INGEST_ERR_SEQ when events do not match the header.
 */
export function decodeBatch(frame: Uint8Array): TapBatch {
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (buf.length === 0) throw new IngestError('INGEST_ERR_MALFORMED', 'tap batch frame is empty');
  const headerEnd = buf.indexOf(0x0a);
  const o = readHeader(buf, headerEnd < 0 ? buf.length : headerEnd);
  const label = batchLabel(o);
  const count = o.events as number;
  const malformed = (what: string) => new IngestError('INGEST_ERR_MALFORMED', `${label}: ${what}`);

  // Line ends first: the frame must be header, `count` event lines, hash line.
  const ends: number[] = [];
  for (let at = headerEnd + 1; at > 0 && at < buf.length && ends.length <= count;) {
    const j = buf.indexOf(0x0a, at);
    if (j < 0) throw malformed(`line ${ends.length + 2} has no newline (every line of a frame ends in \\n)`);
    ends.push(j);
    at = j + 1;
  }
  if (headerEnd < 0 || ends.length !== count + 1 || ends[count] !== buf.length - 1) {
    const lines = headerEnd < 0 ? 1 : ends.length + 1;
    throw malformed(`the header says ${count} events, so the frame must have ${count + 2} lines (header, events, hash line); it has ${lines}${ends.length > count + 1 ? ' or more' : ''}`);
  }
  const bodyEnd = count === 0 ? headerEnd + 1 : ends[count - 1] + 1;
  const m = HASH_LINE.exec(buf.toString('latin1', bodyEnd, buf.length - 1));
  if (!m) throw malformed('the last line must be {"hash":"<64 lower-case hex digits>"}');
  const hash = m[1];
  const actual = frameBodyHash(buf, bodyEnd);
  if (actual !== hash) {
    throw new IngestError('INGEST_ERR_CHAIN',
      `${label}: hash mismatch: the frame's bytes hash to ${short(actual)}…, its hash line says ${short(hash)}… (altered after sealing, or corrupted)`);
  }

  const events: TapEvent[] = new Array(count);
  const problems: string[] = [];
  let start = headerEnd + 1;
  for (let i = 0; i < count && problems.length <= MAX_LISTED; i++) {
    let e: unknown;
    try {
      e = JSON.parse(buf.toString('utf8', start, ends[i]));
    } catch (err) {
      problems.push(`event ${i} (line ${i + 2}): not JSON: ${why(err)}`);
      start = ends[i] + 1;
      continue;
    }
    start = ends[i] + 1;
    const found = validateTap(e);
    if (found.length > 0) {
      const ev = e as Record<string, unknown>;
      const seq = ev !== null && typeof ev === 'object' && ev.seq !== undefined ? ` (seq ${String(ev.seq).slice(0, 32)})` : '';
      for (const p of found) problems.push(`event ${i}${seq}: ${p}`);
    }
    events[i] = e as TapEvent;
  }
  if (problems.length > 0) throw malformed(listed(problems));

  const b: TapBatch = {
    schema: BATCH_SCHEMA, proxy: o.proxy as string, stream: o.stream as string, batch: o.batch as number,
    first_seq: o.first_seq as number, lost: o.lost as number, events, prev_hash: o.prev_hash as string, hash,
  };
  for (let i = 0; i < count; i++) {
    const e = events[i];
    if (e.proxy !== b.proxy) problems.push(`event ${i} (seq ${e.seq}): proxy ${e.proxy} differs from the batch's ${b.proxy}`);
    if (e.seq !== b.first_seq + i) problems.push(`event ${i}: seq ${e.seq}, expected ${b.first_seq + i} (first_seq ${b.first_seq} + ${i})`);
  }
  if (problems.length > 0) throw new IngestError('INGEST_ERR_SEQ', `${label}: ${listed(problems)}`);
  return b;
}
