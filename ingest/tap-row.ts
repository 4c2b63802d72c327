// One tap event <-> one `taps` row. Rows are flat and carry every column;
// fields a kind lacks take the column defaults. Reading back keeps only the
// fields of the event's kind, and of its optional fields those the event
// carried (the `present` column), so a row gives back the exact event: the
// tap explorer shows what was recorded, and ./chain-audit.ts re-hashes it.

import type { RowBatch, StorableBatch, TapBatch } from './batch.ts';
import { TAP_FIELDS, TAP_KINDS, type TapEvent, type TapKind } from './schema/v1.ts';
import { LineChunks } from './line-chunks.ts';
import { LINE_FIELDS } from './tap-lines.ts';
import { TAP_COLUMNS, type TapColumn } from './sql.ts';

/**
 * The `present` column: bit i set when the event carried PRESENT_FIELDS[i]
 * (even as '' or {}: a column cannot tell those from absent, and the batch
 * hash can), and PRESENT_KNOWN set on every row written since. Rows stored
 * before the column read 0: presence not known, a field taken as present
 * when not empty. The order is part of the stored data: append new
 * optional fields, never reorder (bits 0..13 in use, 15 is PRESENT_KNOWN).
 */
export const PRESENT_FIELDS = [
  'src_identity', 'dst_identity', 'tls_version', 'error', 'headers', 'decision', 'decision_reason', 'src_version', 'dst_version',
  'flags', 'protocol', 'grpc_service', 'grpc_method', 'grpc_status',
] as const;
export const PRESENT_KNOWN = 0x8000;
const bitOf = (name: string): number => {
  const i = (PRESENT_FIELDS as readonly string[]).indexOf(name);
  if (i < 0) throw new TypeError(`optional tap field ${name} has no bit in PRESENT_FIELDS (./tap-row.ts): append it there`);
  return 1 << i;
};

/** Each kind's fields in schema order, with the `present` bit of an optional one (0: required). */
const ROW_FIELDS: Record<TapKind, readonly { name: string; bit: number }[]> = Object.fromEntries(TAP_KINDS.map((k) => [
  k, TAP_FIELDS[k].map((f) => ({ name: f.name, bit: f.required ? 0 : bitOf(f.name) })),
])) as Record<TapKind, { name: string; bit: number }[]>;

/** The `present` value of an event (what encodeTapRows writes). */
export function presentMask(e: TapEvent): number {
  let m = PRESENT_KNOWN;
  for (const f of ROW_FIELDS[e.kind]) if (f.bit !== 0 && (e as unknown as Record<string, unknown>)[f.name] !== undefined) m |= f.bit;
  return m;
}

/** A batch's events as `taps` rows (stream, batch and present added, headers as a JSON string). */
export function batchRows(batch: TapBatch): Record<string, unknown>[] {
  return batch.events.map((e) => {
    const row: Record<string, unknown> = { ...e, stream: batch.stream, batch: batch.batch, present: presentMask(e) };
    if (e.kind === 'l7.request') row.headers = JSON.stringify(e.headers ?? {});
    return row;
  });
}

/**
 * A Float64 column's value as text every server reads back as the same
 * double, so a stored tap hashes as sealed. ClickHouse 18.16 parses
 * decimals with a fast method that is off by 1-2 ulp for some (measured: 788
 * of the 3M values 0.000..2999.999 ms, 3.47 stored as 3.4699999999999998).
 * An integer is exact there, and so is m / 1000 written "<m>e-3": that is m
 * times 1e-3 in x87 long double rounded to double, an error below 2^-63
 * relative, while m / 1000 lies more than 2^-61 from any rounding boundary
 * (measured too: 5M such values, none off). Sidecars round latencies and
 * durations to microseconds, so all they write takes one of these forms;
 * anything else is written as JS prints it (exact on modern servers).
 */
export function floatText(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const m = Math.round(v * 1000);
  return m / 1000 === v && m <= Number.MAX_SAFE_INTEGER ? `${m}e-3` : String(v);
}

/** Names of the `taps` columns, in the order encodeTapRows writes them. */
export const TAP_INSERT_COLUMNS: readonly string[] = TAP_COLUMNS.map((c) => c.name);

// TabSeparated, ClickHouse's cheapest text input (measured on 18.16: server
// CPU per row ~15% below JSONEachRow, client ~3x cheaper than building
// JSON objects). Values are validated before they get here (numbers are
// finite, in range, integers where the column is), so a number is written
// as JS prints it; a string escapes the four bytes TSV gives meaning to.
const TSV_SPECIAL = /[\t\n\r\\]/;
const TSV_ESCAPES: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' };
export function tsvEscape(s: string): string {
  return TSV_SPECIAL.test(s) ? s.replace(/[\t\n\r\\]/g, (c) => TSV_ESCAPES[c]) : s;
}

// Both row encoders below are generated from TAP_COLUMNS, so the column
// list stays defined once, and each reads like a hand-written function. A
// loop over the columns with computed property names measured 1.7x slower
// (4.2 vs 2.5 µs per tap): every e[name] is a megamorphic lookup.

/**
 * One column's code in a generated row function: `value` is the code of
 * its value (null: always the column default), shown as TSV (escaped text,
 * or a number as JS prints it; `headers` as its JSON); when `absent` (code)
 * holds, the column default instead.
 */
function columnCode(c: TapColumn, value: string | null, absent: string | null): string {
  const dflt = JSON.stringify(String(c.dflt));
  if (value === null) return dflt;
  const v = c.name === 'headers' ? `JSON.stringify(${value})` : value;
  const shown = c.type.includes('String') ? `esc(${v})` : c.type === 'Float64' ? `flt(${v})` : `String(${v})`;
  return absent === null ? `(${shown})` : `(${absent} ? ${dflt} : ${shown})`;
}

/** A row function of `params` whose body (after `prelude`, statements) joins the columns' code with tabs and ends the line. */
const rowFunction = (params: string[], parts: string[], prelude = '') =>
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function(...params, `${prelude} return ${parts.join(" + '\\t' + ")} + '\\n';`);

/** The `present` column's code: PRESENT_KNOWN or'ed with the bit of each optional field that `isSet` (code) says is there. */
const presentCode = (fields: readonly { name: string; bit: number }[], isSet: (name: string) => string) =>
  `String(${[String(PRESENT_KNOWN), ...fields.filter((f) => f.bit !== 0).map((f) => `(${isSet(f.name)} ? ${f.bit} : 0)`)].join(' | ')})`;

/**
 * One event as a TSV line of TAP_INSERT_COLUMNS (with its newline), one
 * function per kind: columns the kind lacks are constants, and each
 * optional field is read once (a missing property of these many-shaped
 * objects is a slow lookup; reading it twice, for the value and the
 * `present` bit, measured +20% per row). For l7, roughly:
 *   (b, e, esc, flt) => { const o_headers = e.headers, …;
 *     return esc(e.proxy) + '\t' + esc(b.stream) + '\t' + String(b.batch) + '\t' + String(e.seq) + … +
 *       (o_headers === undefined ? '{}' : esc(JSON.stringify(o_headers))) + … +
 *       String(32768 | (o_src_identity !== undefined ? 1 : 0) | …) + '\n'; }
 * Required fields (and the batch's own columns) need no default.
 */
const EVENT_TSV = Object.fromEntries(TAP_KINDS.map((k) => {
  const fields = new Map(ROW_FIELDS[k].map((f) => [f.name, f]));
  const optional = ROW_FIELDS[k].filter((f) => f.bit !== 0);
  const prelude = optional.length === 0 ? '' : `const ${optional.map((f) => `o_${f.name} = e.${f.name}`).join(', ')};`;
  return [k, rowFunction(['b', 'e', 'esc', 'flt'], TAP_COLUMNS.map((c) => {
    if (c.name === 'present') return presentCode(ROW_FIELDS[k], (f) => `o_${f} !== undefined`);
    if (c.name === 'stream' || c.name === 'batch') return columnCode(c, `b.${c.name}`, null);
    const f = fields.get(c.name);
    if (f === undefined) return columnCode(c, null, null);
    return f.bit === 0 ? columnCode(c, `e.${c.name}`, null) : columnCode(c, `o_${c.name}`, `o_${c.name} === undefined`);
  }), prelude)];
})) as Record<TapKind, (b: TapBatch, e: TapEvent, esc: (s: string) => string, flt: (v: number) => string) => string>;

function tsvLine(b: TapBatch, e: TapEvent): string {
  const line = EVENT_TSV[e.kind];
  if (line === undefined) throw new TypeError(`tap of unknown kind ${JSON.stringify(e.kind)} cannot be written as a taps row`);
  return line(b, e, tsvEscape, floatText);
}

// The same row from a schema 3 event line's values (./tap-lines.ts), one
// function per kind; columns the kind lacks are constants, and an optional
// value that is null, or undefined past the end of a shorter line (an
// appended field left off), is the column default. For l7, roughly:
//   (b, seq, a, esc) => esc(b.proxy) + '\t' + esc(b.stream) + '\t' + String(b.batch) + '\t' + String(seq) + '\t' + "1" + '\t' + esc(a[0]) + … +
//                       (a[22] == null ? '{}' : esc(JSON.stringify(a[22]))) + … + '\n'
const LINE_TSV = Object.fromEntries(TAP_KINDS.map((k) => {
  const required = new Set(TAP_FIELDS[k].filter((f) => f.required).map((f) => f.name));
  return [k, rowFunction(['b', 'seq', 'a', 'esc', 'flt'], TAP_COLUMNS.map((c) => {
    if (c.name === 'present') return presentCode(ROW_FIELDS[k], (f) => `a[${LINE_FIELDS[k].indexOf(f)}] != null`);
    if (c.name === 'proxy' || c.name === 'stream' || c.name === 'batch') return columnCode(c, `b.${c.name}`, null);
    if (c.name === 'seq') return columnCode(c, 'seq', null);
    if (c.name === 'v') return JSON.stringify('1'); // tap schema 1, the only one: a constant
    const j = LINE_FIELDS[k].indexOf(c.name);
    return j < 0 ? columnCode(c, null, null) : columnCode(c, `a[${j}]`, required.has(c.name) ? null : `a[${j}] == null`);
  }))];
})) as Record<TapKind, (b: BatchKey, seq: number, a: unknown[], esc: (s: string) => string, flt: (v: number) => string) => string>;

/** What a row takes from its batch. */
export interface BatchKey { proxy: string; stream: string; batch: number }

/** A checked event line's values (checkLine, ./tap-lines.ts) as a TSV row of TAP_INSERT_COLUMNS, with its newline. */
export function lineRow(b: BatchKey, seq: number, a: unknown[]): string {
  return LINE_TSV[a[0] as TapKind](b, seq, a, tsvEscape, floatText);
}

/**
 * Batches' events as TabSeparated rows of TAP_INSERT_COLUMNS, in Buffers of
 * about `chunkBytes` each (./line-chunks.ts); a RowBatch's rows are taken
 * as they are.
 */
export function encodeTapRows(batches: readonly StorableBatch[], chunkBytes = 1 << 20): Buffer[] {
  const out: Buffer[] = [];
  let w: LineChunks | null = null;
  for (const b of batches) {
    if ('rows' in b) {
      if (w) out.push(...w.cut());
      out.push(...b.rows);
    } else {
      w ??= new LineChunks(chunkBytes);
      for (const e of b.events) w.put(tsvLine(b, e), false); // tsvLine ends in "\n"
    }
  }
  if (w) out.push(...w.cut());
  return out;
}

/**
 * A TapBatch as a RowBatch: its events encoded as rows now, written into
 * `w`'s current chunk (pass one writer for many batches: they share
 * chunks), and the event objects left behind.
 */
export function toRowBatch(b: TapBatch, w: LineChunks): RowBatch {
  for (const e of b.events) w.put(tsvLine(b, e), false);
  const { events, ...head } = b;
  return { ...head, count: events.length, rows: w.cut() };
}

/** Whether a stored row says which optional fields its event carried (rows stored before the `present` column do not). */
export const presenceKnown = (row: Record<string, unknown>): boolean => (Number(row.present) & PRESENT_KNOWN) !== 0;

/** Numeric column defaults (grpc_status: -1): a row stored before `present` holds them for a field its event lacked. */
const COLUMN_DEFAULT = new Map(TAP_COLUMNS.filter((c) => typeof c.dflt === 'number').map((c) => [c.name, c.dflt]));

/**
 * A stored row as the event it came from, fields in schema order (a schema
 * 2 event line is the event's JSON object). An optional field is there when
 * its `present` bit says so, '' and {} included; for a row stored before
 * that column, when it is not empty.
 */
export function rowEvent(row: Record<string, unknown>): TapEvent {
  const fields = ROW_FIELDS[row.kind as TapKind] ?? ROW_FIELDS['l4.open'];
  const known = presenceKnown(row);
  const mask = Number(row.present);
  const e: Record<string, unknown> = {};
  for (const { name, bit } of fields) {
    const val = row[name];
    if (bit === 0) e[name] = val;
    else if (name === 'headers') {
      const h = typeof val === 'string' && val !== '' ? JSON.parse(val) as Record<string, string> : {};
      if (known ? (mask & bit) !== 0 : Object.keys(h).length > 0) e.headers = h;
    } else if (known ? (mask & bit) !== 0 : val !== '' && val !== undefined && val !== COLUMN_DEFAULT.get(name)) {
      e[name] = val;
    }
  }
  return e as unknown as TapEvent;
}

/** A stored row as the event it came from, plus `stream` and `batch`. */
export function rowToTap(row: Record<string, unknown>): Record<string, unknown> {
  return { stream: row.stream, batch: row.batch, ...rowEvent(row) };
}
