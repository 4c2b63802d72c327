// Decoding and checking one received batch frame (format: ./batch.ts): the
// header, the hash line against the bytes, and every event: schema 3 lines
// through checkLine (./tap-lines.ts), schema 2 objects through validateTap
// and against the batch (same proxy, contiguous seq), and the shape of a
// schema 4 frame's signature line. Stateless; whether the signature is
// believed is ./batch-verifier.ts's job (called through decodeRowBatch's
// `admit`, before any event is parsed), the hash chain across batches
// ./chain.ts's.

import type { BatchSignature } from './batch-signer.ts';
import { frameBodyHash, READ_SCHEMAS, SIGNED_BATCH_SCHEMA, type BatchSchema, type BatchSigned, type RowBatch, type TapBatch } from './batch.ts';
import { IngestError } from './errors.ts';
import type { LineChunks } from './line-chunks.ts';
import { validateTap, type TapEvent } from './schema/v1.ts';
import { checkLine, LINE_FIELDS, lineEvent } from './tap-lines.ts';
import { LineRowWriter } from './tap-line-rows.ts';
import { lineRow, toRowBatch } from './tap-row.ts';

/** Problems listed in one error message before "and N more". */
const MAX_LISTED = 10;

const HASH_RE = /^[0-9a-f]{64}$/;
const HASH_LINE = /^\{"hash":"([0-9a-f]{64})"\}$/;
const isUint = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isName = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 128;

const HEADER_FIELDS: Record<string, [(v: unknown) => boolean, string]> = {
  schema: [(v) => (READ_SCHEMAS as readonly unknown[]).includes(v), `must be one of ${READ_SCHEMAS.join(', ')}`],
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
  if (!(READ_SCHEMAS as readonly unknown[]).includes(o.schema)) {
    const old = o.schema === 1 ? ' (schema 1, one JSON object per batch, is what sidecars sent before batch frames)' : '';
    throw new IngestError('INGEST_ERR_SCHEMA_VERSION',
      `${label}: schema ${JSON.stringify(o.schema)} is not supported${old}; this collector reads batch frames of schema ${READ_SCHEMAS.slice(0, -1).join(', ')} and ${READ_SCHEMAS.at(-1)}`);
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

/** Longest signature line read (a P-256 leaf and two intermediates take ~3 KB). */
const MAX_SIGNATURE_LINE = 16 * 1024;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The signature line's fields, or a list of what is wrong with them. */
function readSignature(text: string): BatchSignature | string {
  if (text.length > MAX_SIGNATURE_LINE) return `the signature line is ${text.length} bytes, at most ${MAX_SIGNATURE_LINE} are read`;
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    return `the signature line is not JSON: ${why(e)}`;
  }
  const problems: string[] = [];
  const r = (o !== null && typeof o === 'object' && !Array.isArray(o) ? o : {}) as Record<string, unknown>;
  if (typeof r.sig !== 'string' || !BASE64.test(r.sig) || r.sig.length > 200) problems.push('sig: must be base64 of a DER ECDSA signature');
  if (!Array.isArray(r.x5c) || r.x5c.length < 1 || r.x5c.length > 4 || !r.x5c.every((c) => typeof c === 'string' && BASE64.test(c))) {
    problems.push('x5c: must be 1 to 4 base64 DER certificates, the leaf first');
  }
  for (const k of Object.keys(r)) if (k !== 'sig' && k !== 'x5c') problems.push(`${k}: unknown field`);
  if (problems.length > 0) return `the signature line must be {"sig":"<base64>","x5c":["<base64 DER leaf>",…]}: ${problems.join('; ')}`;
  return { sig: r.sig as string, x5c: r.x5c as string[] };
}

/** A frame whose header, line layout, hash line (and signature line's shape) are checked. */
interface Frame {
  buf: Buffer;
  header: Omit<TapBatch, 'events'>;
  label: string;
  count: number;
  /** Where each line ends (its "\n"), header excluded: events, then the hash line. */
  ends: number[];
  /** Where the first event line starts. */
  start: number;
}

/**
 * The frame's header and line layout, its bytes checked against its hash
 * line: INGEST_ERR_NOT_JSON / _MALFORMED / _SCHEMA_VERSION for the shape,
 * INGEST_ERR_CHAIN when the bytes do not hash to the hash line.
 */
function readFrame(frame: Uint8Array): Frame {
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  if (buf.length === 0) throw new IngestError('INGEST_ERR_MALFORMED', 'tap batch frame is empty');
  const headerEnd = buf.indexOf(0x0a);
  const o = readHeader(buf, headerEnd < 0 ? buf.length : headerEnd);
  const label = batchLabel(o);
  const count = o.events as number;
  const malformed = (what: string) => new IngestError('INGEST_ERR_MALFORMED', `${label}: ${what}`);

  // Line ends first: the frame must be header, `count` event lines, hash
  // line, and in schema 4 the signature line.
  const signed = o.schema === SIGNED_BATCH_SCHEMA;
  const n = count + (signed ? 2 : 1);
  const ends: number[] = [];
  for (let at = headerEnd + 1; at > 0 && at < buf.length && ends.length < n;) {
    const j = buf.indexOf(0x0a, at);
    if (j < 0) throw malformed(`line ${ends.length + 2} has no newline (every line of a frame ends in \\n)`);
    ends.push(j);
    at = j + 1;
  }
  if (headerEnd < 0 || ends.length !== n || ends[n - 1] !== buf.length - 1) {
    const lines = headerEnd < 0 ? 1 : ends.length + 1;
    throw malformed(`the header says ${count} events, so the frame must have ${n + 1} lines (header, events, hash line${signed ? ', signature line' : ''}); it has ${lines}${ends.length === n ? ' or more' : ''}`);
  }
  const bodyEnd = count === 0 ? headerEnd + 1 : ends[count - 1] + 1;
  const m = HASH_LINE.exec(buf.toString('latin1', bodyEnd, ends[count]));
  if (!m) throw malformed(`line ${count + 2} must be {"hash":"<64 lower-case hex digits>"}`);
  let signature: BatchSignature | undefined;
  if (signed) {
    const s = readSignature(buf.toString('latin1', ends[count] + 1, buf.length - 1));
    if (typeof s === 'string') throw malformed(s);
    signature = s;
  }
  const hash = m[1];
  const actual = frameBodyHash(buf, bodyEnd);
  if (actual !== hash) {
    throw new IngestError('INGEST_ERR_CHAIN',
      `${label}: hash mismatch: the frame's bytes hash to ${short(actual)}…, its hash line says ${short(hash)}… (altered after sealing, or corrupted)`);
  }
  const header = {
    schema: o.schema as BatchSchema, proxy: o.proxy as string, stream: o.stream as string, batch: o.batch as number,
    first_seq: o.first_seq as number, lost: o.lost as number, prev_hash: o.prev_hash as string, hash,
    ...(signature ? { signature } : {}),
  };
  return { buf, header, label, count, ends, start: headerEnd + 1 };
}

/** Takes event line `i` (bytes start..end) without JSON.parse and says true, or says false to have it parsed (./tap-line-rows.ts). */
type PlainLine = (start: number, end: number, i: number) => boolean;

/**
 * JSON.parse of each event line, handed to `visit` with the problem list,
 * until MAX_LISTED problems; a line that is not JSON is a problem named by
 * `where(i)`. Returns the problems. While none is found, `plain` may take
 * a line first.
 */
function parseLines(f: Frame, where: (i: number) => string, visit: (v: unknown, i: number, problems: string[]) => void, plain?: PlainLine): string[] {
  const problems: string[] = [];
  let start = f.start;
  for (let i = 0; i < f.count && problems.length <= MAX_LISTED; i++) {
    if (plain !== undefined && problems.length === 0 && plain(start, f.ends[i], i)) {
      start = f.ends[i] + 1;
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(f.buf.toString('utf8', start, f.ends[i]));
    } catch (err) {
      problems.push(`${where(i)}: not JSON: ${why(err)}`);
      continue;
    } finally {
      start = f.ends[i] + 1;
    }
    visit(v, i, problems);
  }
  return problems;
}

/**
 * Checks each schema 3 event line (checkLine) and hands its values to
 * `take` while no problem has been found; throws INGEST_ERR_MALFORMED
 * listing them at the end, so `take` may have seen some lines of a batch
 * that is then refused.
 */
function eachLine(f: Frame, take: (a: unknown[], i: number) => void, plain?: PlainLine): void {
  const where = (i: number) => `event ${i} (line ${i + 2}, seq ${f.header.first_seq + i})`;
  const problems = parseLines(f, where, (a, i, found) => {
    const bad = checkLine(a);
    if (bad !== null) for (const p of bad) found.push(`${where(i)}: ${p}`);
    else if (found.length === 0) take(a as unknown[], i);
  }, plain);
  if (problems.length > 0) throw new IngestError('INGEST_ERR_MALFORMED', `${f.label}: ${listed(problems)}`);
}

/** Schema 2 event lines as taps: each a JSON object through validateTap, then matched with the batch (proxy, seq). */
function objectEvents(f: Frame): TapEvent[] {
  const events: TapEvent[] = new Array(f.count);
  const problems = parseLines(f, (i) => `event ${i} (line ${i + 2})`, (e, i, found) => {
    const bad = validateTap(e);
    if (bad.length > 0) {
      const ev = e as Record<string, unknown>;
      const seq = ev !== null && typeof ev === 'object' && ev.seq !== undefined ? ` (seq ${String(ev.seq).slice(0, 32)})` : '';
      for (const p of bad) found.push(`event ${i}${seq}: ${p}`);
    }
    events[i] = e as TapEvent;
  });
  if (problems.length > 0) throw new IngestError('INGEST_ERR_MALFORMED', `${f.label}: ${listed(problems)}`);
  const { proxy, first_seq } = f.header;
  for (let i = 0; i < f.count; i++) {
    const e = events[i];
    if (e.proxy !== proxy) problems.push(`event ${i} (seq ${e.seq}): proxy ${e.proxy} differs from the batch's ${proxy}`);
    if (e.seq !== first_seq + i) problems.push(`event ${i}: seq ${e.seq}, expected ${first_seq + i} (first_seq ${first_seq} + ${i})`);
  }
  if (problems.length > 0) throw new IngestError('INGEST_ERR_SEQ', `${f.label}: ${listed(problems)}`);
  return events;
}

/**
 * The frame as a TapBatch, or an IngestError naming every problem found (up
 * to MAX_LISTED): INGEST_ERR_NOT_JSON / _MALFORMED / _SCHEMA_VERSION for the
 * shape, INGEST_ERR_CHAIN when the bytes do not hash to the frame's hash
 * line, INGEST_ERR_SEQ when a schema 2 frame's events do not match its
 * header (schema 3 events take proxy and seq from the header).
 */
export function decodeBatch(frame: Uint8Array): TapBatch {
  // A schema 4 batch keeps its signature line, read but not verified.
  const f = readFrame(frame);
  if (f.header.schema === 2) return { ...f.header, events: objectEvents(f) };
  const events: TapEvent[] = new Array(f.count);
  const { proxy, first_seq } = f.header;
  eachLine(f, (a, i) => { events[i] = lineEvent(a, proxy, first_seq + i); });
  return { ...f.header, events };
}

/** What decodeRowBatch's `admit` sees: a frame whose shape and hash are checked, its events not yet parsed. */
export interface FrameHead {
  header: Omit<TapBatch, 'events'>;
  /** "batch 3 of web-1/s1", for messages. */
  label: string;
}

/**
 * decodeBatch's checks with the events written as `taps` rows into `w`
 * (the collector's form, ./collector.ts). A schema 3 line goes from its
 * parsed values to its row, with no event object between; a refused
 * batch leaves nothing in `w`. `admit`, when given, judges the frame
 * after its hash is checked and before any event line is parsed (the
 * collector's sender and signature checks): it throws to refuse the
 * frame, and what it returns is the batch's `signed`.
 */
export function decodeRowBatch(frame: Uint8Array, w: LineChunks, admit?: (f: FrameHead) => BatchSigned | undefined): RowBatch {
  const f = readFrame(frame);
  const signed = admit?.(f);
  const b = f.header.schema === 2 ? toRowBatch({ ...f.header, events: objectEvents(f) }, w) : lineRows(f, w, signed?.service);
  if (signed) b.signed = signed;
  return b;
}

// Where an event line holds its direction and the two services (the same for every kind: common fields lead).
const AT_DIRECTION = LINE_FIELDS['l4.open'].indexOf('direction');
const AT_SRC = LINE_FIELDS['l4.open'].indexOf('src_service');
const AT_DST = LINE_FIELDS['l4.open'].indexOf('dst_service');

/**
 * Rows of a schema 3/4 frame. `service`, for a signed frame, is the
 * signer's: a sidecar speaks only for its own side of each exchange (the
 * callee of an inbound tap, the caller of an outbound one), so even a
 * sidecar whose key was stolen cannot put words in another service's mouth.
 */
function lineRows(f: Frame, w: LineChunks, service?: string): RowBatch {
  const h = f.header;
  const plain = new LineRowWriter(h, w, service);
  try {
    eachLine(f, (a, i) => {
      if (service !== undefined) {
        const own = a[AT_DIRECTION] === 'inbound' ? a[AT_DST] : a[AT_SRC];
        if (own !== service) {
          throw new IngestError('INGEST_ERR_FOREIGN_SERVICE', `${f.label}: event ${i} (seq ${h.first_seq + i}) is ${String(a[AT_DIRECTION])} with ${a[AT_DIRECTION] === 'inbound' ? 'callee' : 'caller'} ${JSON.stringify(own)}, but the batch is signed by a sidecar of ${service}: a sidecar records only its own side`);
        }
      }
      w.put(lineRow(h, h.first_seq + i, a), false); // a row ends in "\n"
    }, (start, end, i) => plain.put(f.buf, start, end, h.first_seq + i));
  } catch (e) {
    w.discard();
    throw e;
  }
  return { ...h, count: f.count, rows: w.cut() };
}
