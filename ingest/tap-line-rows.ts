// The collector's common case, without JavaScript values: a schema 3 event
// line (./tap-lines.ts) read straight from the frame's bytes, checked and
// written as its `taps` row (./tap-row.ts) into the row chunks.
//
// Why: per tap, the collector made a string of the line, JSON.parse'd it,
// checked the values, built the row as a string of ~40 pieces and wrote it
// out as UTF-8: about half of its main thread's busy time, and most of its
// garbage (profiled, bench:ingest --drain, 2026-12-07). Here one pass over
// the line finds its values, the checks run on the bytes, and the row is
// copied into place: decoding a signed frame to rows went from 5.6 to 3.5
// CPU µs per tap (bench:frames), the collector from ~8 to ~5.9 CPU-s per
// million taps (docs/benchmarks.md, drain mode).
//
// Only the plain lines sidecars write are read this way: printable ASCII,
// no backslash, no whitespace, numbers as JSON.stringify prints integers
// and decimals of up to 3 places. Anything else (an escape, a non-ASCII
// byte, an exponent, a value that fails its check, a foreign service) and
// put() returns false having written nothing: the caller reads that line
// the full way (JSON.parse, checkLine, lineRow), which accepts it or names
// its problems as before. So this reader never refuses a line, and for
// every line it takes it writes the bytes lineRow would (tap-line-rows.test.ts
// checks both on the same lines, hostile ones included).
//
// Why the restriction is enough: with no backslash and no byte below 0x20
// a string has nothing TabSeparated escapes (tab, newline, CR, backslash)
// and nothing JSON would decode, so its bytes are its value and its row
// text; a canonical integer's digits are what String() prints.

import { TAP_KINDS, TAP_FIELDS, type CheckSpec, type TapKind } from './schema/v1.ts';
import { TAP_COLUMNS } from './sql.ts';
import type { LineChunks } from './line-chunks.ts';
import { LINE_FIELDS, LINE_MIN_VALUES } from './tap-lines.ts';
import { PRESENT_FIELDS, PRESENT_KNOWN, tsvEscape, type BatchKey } from './tap-row.ts';
import {
  digits, floatMillis, MAX_VALUES, sameBytes, scanLine, T_NULL, T_NUMBER, T_OBJECT, T_STRING, valueFrom as from, valueTo as to, valueType as type,
} from './plain-json-line.ts';

const MINUS = 0x2d, DOT = 0x2e, ZERO = 0x30, TAB = 0x09, NL = 0x0a;

const ascii = (s: string) => Buffer.from(s, 'latin1');

// How a value is checked: by its spec (CheckSpec's types), or by calling its check.
const BY_CHECK = 0, STR = 1, ENUM = 2, UINT = 3, INT = 4, NONNEG = 5;
const CHECK_OF: Record<CheckSpec['type'], number> = { str: STR, enum: ENUM, uint: UINT, int: INT, nonneg: NONNEG };

/** How a value of a kind's line is checked and shown in its column (one shape for all: read per value). */
interface Field {
  name: string;
  required: boolean;
  how: number;
  min: number;
  max: number;
  check: (v: unknown) => string | null;
  enumBytes: Buffer[] | null;
  /** The `present` bit of an optional field (0: required). */
  bit: number;
  /** Shown as JSON (headers: an object). */
  json: boolean;
}

/**
 * One column of a row: a constant (`bytes`), a batch value, the seq,
 * `present`, or the line's value at `at` (`bytes`, its default, when
 * absent). One shape for all, as they are read per column.
 */
const CONST = 0, PROXY = 1, STREAM = 2, BATCH = 3, SEQ = 4, PRESENT = 5, VALUE = 6;
interface Op { op: number; bytes: Buffer; at: number; float: boolean; json: boolean }
const NONE = Buffer.alloc(0);
const op = (code: number, bytes = NONE, at = -1, float = false, json = false): Op => ({ op: code, bytes, at, float, json });
const BATCH_OPS: Record<string, number> = { proxy: PROXY, stream: STREAM, batch: BATCH, seq: SEQ, present: PRESENT };

interface Plan {
  kind: TapKind; name: Buffer; fields: Field[]; min: number; ops: Op[]; constBytes: number;
  /** Positions of direction and the two services (the own-side check of a signed batch). */
  direction: number; src: number; dst: number;
}

function planOf(k: TapKind): Plan | null {
  const byName = new Map(TAP_FIELDS[k].map((f) => [f.name, f]));
  const fields: Field[] = LINE_FIELDS[k].map((name) => {
    const f = byName.get(name)!;
    const bit = f.required ? 0 : 1 << (PRESENT_FIELDS as readonly string[]).indexOf(name);
    const spec = f.spec;
    return {
      name, required: f.required, how: spec ? CHECK_OF[spec.type] : BY_CHECK,
      min: spec?.type === 'int' ? spec.min : 0, max: spec?.type === 'str' || spec?.type === 'uint' || spec?.type === 'int' ? spec.max : 0,
      check: f.check, bit, json: name === 'headers', enumBytes: spec?.type === 'enum' ? spec.values.map(ascii) : null,
    };
  });
  const ops: Op[] = [];
  for (const c of TAP_COLUMNS) {
    const dflt = ascii(String(c.dflt));
    if (Object.hasOwn(BATCH_OPS, c.name)) { ops.push(op(BATCH_OPS[c.name])); continue; }
    if (c.name === 'v') { ops.push(op(CONST, ascii('1'))); continue; }
    const at = LINE_FIELDS[k].indexOf(c.name);
    if (at < 0) { ops.push(op(CONST, dflt)); continue; }
    // A value is written as its bytes only where lineRow writes the same; a kind with any other column is read the full way.
    const text = c.type.includes('String');
    const checked = byName.get(c.name)!.spec?.type;
    const fits = checked === 'nonneg' ? c.type === 'Float64'
      : checked === 'uint' || checked === 'int' ? !text && c.type !== 'Float64'
        : text; // str, enum, and the checks without a spec (flags, headers)
    if (!fits) return null;
    ops.push(op(VALUE, dflt, at, checked === 'nonneg', c.name === 'headers'));
  }
  const constBytes = ops.reduce((n, o) => n + o.bytes.length + 1, 0);
  const at = (name: string) => LINE_FIELDS[k].indexOf(name);
  return { kind: k, name: ascii(k), fields, min: LINE_MIN_VALUES[k], ops, constBytes, direction: at('direction'), src: at('src_service'), dst: at('dst_service') };
}

const INBOUND = ascii('inbound');
const PLANS: Plan[] = TAP_KINDS.map(planOf).filter((p): p is Plan => p !== null);

/** A value made for a check that has no spec (flags, headers), by position. */
const made: unknown[] = new Array(MAX_VALUES);

/** Whether value `j` passes its field's check (the same verdict as the check on the parsed value). */
function checks(buf: Buffer, f: Field, j: number): boolean {
  const t = type[j];
  const s = from[j];
  const e = to[j];
  switch (f.how) {
    case STR: return t === T_STRING && e - s <= f.max; // ASCII: a byte is a character
    case ENUM: {
      if (t !== T_STRING) return false;
      for (const want of f.enumBytes!) if (sameBytes(buf, s, e, want)) return true;
      return false;
    }
    case UINT: {
      if (t !== T_NUMBER || buf[s] === MINUS) return false;
      for (let i = s; i < e; i++) if (buf[i] === DOT) return false;
      const v = digits(buf, s, e);
      return v >= 0 && v <= f.max;
    }
    case INT: {
      if (t !== T_NUMBER) return false;
      const neg = buf[s] === MINUS;
      for (let i = s; i < e; i++) if (buf[i] === DOT) return false;
      const v = digits(buf, neg ? s + 1 : s, e);
      if (v < 0 || (neg && v === 0)) return false; // -0: read the full way
      return (neg ? -v : v) >= f.min && (neg ? -v : v) <= f.max;
    }
    case NONNEG: return t === T_NUMBER && buf[s] !== MINUS && floatMillis(buf, s, e) >= 0;
    default: {
      // No spec: make the value and ask the check itself. Only a string, or
      // headers' object, is written as lineRow would; anything else goes the full way.
      if (t !== (f.json ? T_OBJECT : T_STRING)) return false;
      const v = t === T_STRING ? buf.toString('latin1', s, e) : JSON.parse(buf.toString('latin1', s, e)) as unknown;
      made[j] = v;
      return f.check(v) === null;
    }
  }
}

/** Writes the decimal digits of a non-negative safe integer at `at`; returns the end. */
function putUint(out: Buffer, at: number, v: number): number {
  let n = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) n++;
  for (let i = at + n - 1; i >= at; i--) { out[i] = ZERO + (v % 10); v = Math.floor(v / 10); }
  return at + n;
}

const putBytes = (out: Buffer, at: number, src: Buffer, s: number, e: number) => {
  for (let i = s; i < e; i++) out[at++] = src[i];
  return at;
};

/** Writes the rows of one batch's plain event lines; see the header. */
export class LineRowWriter {
  readonly #w: LineChunks;
  readonly #proxy: Buffer;
  readonly #stream: Buffer;
  readonly #batch: Buffer;
  /** The signer's service, for a signed batch: each line's own side must be it (lineRows in ./batch-check.ts). */
  readonly #service: Buffer | null;

  constructor(h: BatchKey, w: LineChunks, service?: string) {
    this.#w = w;
    this.#proxy = Buffer.from(tsvEscape(h.proxy));
    this.#stream = Buffer.from(tsvEscape(h.stream));
    this.#batch = ascii(String(h.batch));
    this.#service = service === undefined ? null : Buffer.from(service);
  }

  /** The row of the event line buf[start, end) (without its newline) with this seq, written; false, nothing written, when the line is to be read the full way. */
  put(buf: Buffer, start: number, end: number, seq: number): boolean {
    const n = scanLine(buf, start, end);
    if (n < 1 || type[0] !== T_STRING) return false;
    let plan: Plan | null = null;
    for (const p of PLANS) if (sameBytes(buf, from[0], to[0], p.name)) { plan = p; break; }
    if (plan === null || n < plan.min || n > plan.fields.length) return false;
    let present = PRESENT_KNOWN;
    for (let j = 1; j < n; j++) {
      const f = plan.fields[j];
      if (type[j] === T_NULL) {
        if (f.required) return false;
        continue;
      }
      if (!checks(buf, f, j)) return false;
      present |= f.bit;
    }
    if (this.#service !== null && !this.#ownSide(buf, plan)) return false;
    return this.#write(buf, plan, n, seq, present, end - start);
  }

  /** Whether the line's own side (the callee inbound, the caller outbound) is the signer's service. */
  #ownSide(buf: Buffer, plan: Plan): boolean {
    const own = sameBytes(buf, from[plan.direction], to[plan.direction], INBOUND) ? plan.dst : plan.src;
    return sameBytes(buf, from[own], to[own], this.#service!);
  }

  #write(buf: Buffer, plan: Plan, n: number, seq: number, present: number, lineBytes: number): boolean {
    const w = this.#w;
    const out = w.reserve(lineBytes + plan.constBytes + this.#proxy.length + this.#stream.length + this.#batch.length + 64 + 4 * n);
    let at = w.at;
    const ops = plan.ops;
    for (let c = 0; c < ops.length; c++) {
      if (c > 0) out[at++] = TAB;
      const o = ops[c];
      switch (o.op) {
        case CONST: at = putBytes(out, at, o.bytes, 0, o.bytes.length); break;
        case PROXY: at = putBytes(out, at, this.#proxy, 0, this.#proxy.length); break;
        case STREAM: at = putBytes(out, at, this.#stream, 0, this.#stream.length); break;
        case BATCH: at = putBytes(out, at, this.#batch, 0, this.#batch.length); break;
        case SEQ: at = putUint(out, at, seq); break;
        case PRESENT: at = putUint(out, at, present); break;
        case VALUE: {
          const j = o.at;
          if (j >= n || type[j] === T_NULL) at = putBytes(out, at, o.bytes, 0, o.bytes.length);
          else if (o.float) {
            // floatText (./tap-row.ts): an integer as itself, else <thousandths>e-3.
            const m = floatMillis(buf, from[j], to[j]);
            if (m % 1000 === 0) at = putUint(out, at, m / 1000);
            else { at = putUint(out, at, m); out[at++] = 0x65; out[at++] = MINUS; out[at++] = 0x33; }
          } else if (o.json) {
            const text = JSON.stringify(made[j]);
            at += out.write(text, at, 'latin1');
          } else {
            at = putBytes(out, at, buf, from[j], to[j]);
          }
          break;
        }
      }
    }
    out[at++] = NL;
    w.commit(at);
    made.fill(undefined, 0, n);
    return true;
  }
}
