// Event lines of batch frame schema 3 (./batch.ts): one JSON array per tap,
// its fields by position in schema order (TAP_FIELDS, ./schema/v1.ts),
// without the three the frame already says:
//   v      tap schema 1, the only one
//   proxy  the batch's proxy
//   seq    the batch's first_seq + the line's index
// An absent optional field is null. An l4.open line, for example:
//   ["l4.open",1764412800000,"outbound","c1","web","web-1","10.0.0.1",40000,"cart","cart-1","10.0.0.2",8080,null,null,null]
//
// Fields added since (APPENDED_FIELDS_OF: src_version, dst_version on every
// kind; then flags, protocol, grpc_service, grpc_method, grpc_status on
// l7.request) come last and are left off the end while absent, so the layout grows without a new
// frame schema: a line of a frame written before them (or by a sidecar
// without a version label) is the same bytes it always was, and reads as
// those fields absent. A line has its kind's original number of values
// (LINE_MIN_VALUES), or some of the appended ones too. With a callee version:
//   [… ,8080,null,null,null,null,"v2"]
// A collector older than these fields refuses such a line (too many
// values): upgrade collectors before sidecars (since issue 15 every
// l7.request line carries its protocol).
//
// Why positions and not objects (schema 2): the collector parses, checks and
// re-encodes every tap, and an array of primitives is cheaper to parse than
// an object with the same values, and cheaper to read field by field
// (measured on the bench's taps: JSON.parse 1.2 against 1.8 µs per tap).
// The lines are 40% shorter (about 390 against 650 bytes), which is less to
// hash and compress in the sidecar and less to inflate in the collector.
//
// The functions here are generated from TAP_FIELDS once per kind, so the
// field order is defined in one place and each function reads like a
// hand-written one (a loop over field names measured 1.7x slower for the
// TSV rows: every e[name] is a megamorphic lookup).

import { APPENDED_FIELDS_OF, TAP_FIELDS, TAP_KINDS, type TapEvent, type TapKind } from './schema/v1.ts';

/** Fields the frame implies; never on an event line. */
const IMPLIED = new Set(['v', 'proxy', 'seq']);

/** Field names of each kind's event line, by position ("kind" first). */
export const LINE_FIELDS: Readonly<Record<TapKind, readonly string[]>> = Object.fromEntries(TAP_KINDS.map((k) => [
  k, TAP_FIELDS[k].filter((f) => !IMPLIED.has(f.name)).map((f) => f.name),
])) as Record<TapKind, string[]>;

const perKind = <T>(make: (k: TapKind) => T): Record<TapKind, T> =>
  Object.fromEntries(TAP_KINDS.map((k) => [k, make(k)])) as Record<TapKind, T>;

/** Values on the shortest line of each kind: LINE_FIELDS without APPENDED_FIELDS_OF (the line as schema 3 first wrote it). */
export const LINE_MIN_VALUES: Readonly<Record<TapKind, number>> = perKind((k) => LINE_FIELDS[k].length - APPENDED_FIELDS_OF[k].length);

/** The property access for a field name, as code. */
const prop = (name: string) => (/^[a-z_]+$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`);

// e => { if (e.dst_version !== undefined) return JSON.stringify([e.kind, …, e.src_version, e.dst_version]);
//        if (e.src_version !== undefined) return JSON.stringify([e.kind, …, e.src_version]);
//        return JSON.stringify([e.kind, e.ts, e.direction, …]); }   undefined becomes null.
const LINE_OF = perKind((k) => {
  const fields = LINE_FIELDS[k];
  const list = (n: number) => `JSON.stringify([${fields.slice(0, n).map((f) => `e${prop(f)}`).join(', ')}])`;
  const longer = [];
  for (let n = fields.length; n > LINE_MIN_VALUES[k]; n--) longer.push(`if (e${prop(fields[n - 1])} !== undefined) return ${list(n)};`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('e', `${longer.join(' ')} return ${list(LINE_MIN_VALUES[k])};`) as (e: TapEvent) => string;
});

/**
 * A tap as its event line (without the newline). The caller has checked
 * that its proxy and seq are the batch's (./batch.ts does).
 */
export function eventLine(e: TapEvent): string {
  const line = LINE_OF[e.kind];
  if (line === undefined) throw new TypeError(`tap of unknown kind ${JSON.stringify(e.kind)} cannot be written as an event line`);
  return line(e);
}

/** The values of a tap's event line, as JSON.parse gives them back (tests build hostile lines from these). */
export const eventLineValues = (e: TapEvent): unknown[] => JSON.parse(eventLine(e)) as unknown[];

// (a, proxy, seq) => { const e = { v: 1, kind: a[0], proxy, seq, ts: a[1], … }; if (a[12] != null) e.src_identity = a[12]; … return e; }
// (!= null: an appended field left off the end of the line is undefined.)
const EVENT_OF = perKind((k) => {
  const fields = TAP_FIELDS[k];
  const at = (name: string) => LINE_FIELDS[k].indexOf(name);
  const literal = fields.filter((f) => f.required).map((f) =>
    `${f.name}: ${f.name === 'v' ? '1' : f.name === 'proxy' ? 'proxy' : f.name === 'seq' ? 'seq' : `a[${at(f.name)}]`}`);
  const optional = fields.filter((f) => !f.required).map((f) => `if (a[${at(f.name)}] != null) e${prop(f.name)} = a[${at(f.name)}];`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function('a', 'proxy', 'seq', `const e = { ${literal.join(', ')} }; ${optional.join(' ')} return e;`) as
    (a: unknown[], proxy: string, seq: number) => TapEvent;
});

/** A checked line's values as the tap they stand for (checkLine found no problem). */
export function lineEvent(a: unknown[], proxy: string, seq: number): TapEvent {
  return EVENT_OF[a[0] as TapKind](a, proxy, seq);
}

const CHECKS = perKind((k) => TAP_FIELDS[k].filter((f) => !IMPLIED.has(f.name)));

/**
 * Every problem with a parsed event line ("field: what is wrong"), or null
 * when there is none.
 */
export function checkLine(a: unknown): string[] | null {
  if (!Array.isArray(a)) return ['event line must be a JSON array'];
  const kind = a[0] as TapKind;
  const checks = typeof kind === 'string' && Object.hasOwn(CHECKS, kind) ? CHECKS[kind] : undefined;
  if (checks === undefined) return [`kind: must be one of ${TAP_KINDS.join(', ')} (the line's first value)`];
  const min = LINE_MIN_VALUES[kind];
  if (a.length < min || a.length > checks.length) {
    return [`a ${kind} line has ${min} values (${LINE_FIELDS[kind].slice(0, min).join(', ')}), then up to ${checks.length - min} more (${LINE_FIELDS[kind].slice(min).join(', ')}); this one has ${a.length}`];
  }
  let problems: string[] | null = null;
  for (let i = 1; i < a.length; i++) {
    const v = a[i];
    const f = checks[i];
    if (v === null) {
      if (f.required) (problems ??= []).push(`${f.name}: missing (null)`);
      continue;
    }
    const p = f.check(v);
    if (p) (problems ??= []).push(`${f.name}: ${p}`);
  }
  return problems;
}
