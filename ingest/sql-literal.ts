// Query parameters as SQL literals, for servers without parameterised queries.
//
// ClickHouse 18.16 has no {name:Type} placeholders (measured: `SELECT
// {x:UInt64}` is a syntax error there and `param_x` an unknown setting), so
// against it the store substitutes each placeholder with a literal here, in
// this ONE function, and nowhere else. Safety rests on three rules:
//   1. Only placeholders of the form {name:Type} in our own SQL constants are
//      replaced; every one must have a value and every value a placeholder.
//   2. Only the types below are accepted; numbers must be finite (integers
//      for the integer types, and within their range) and are written in
//      plain decimal, so a number can never carry SQL.
//   3. Strings are always quoted, and inside the quotes every backslash and
//      quote is escaped and every other byte outside printable ASCII
//      (control characters, DEL) becomes a \xHH escape; ClickHouse reads
//      \\ \' and \xHH inside '...' as those bytes. UTF-8 text stays as is.
// Plain literals (not toUInt64(...)) because 18.16 requires a literal in
// LIMIT; the placeholders we use sit beside columns of the same type.

import { IngestError } from './errors.ts';

const INT_RANGE: Record<string, [bigint, bigint]> = {
  UInt8: [0n, 255n], UInt16: [0n, 65535n], UInt32: [0n, 4294967295n], UInt64: [0n, 18446744073709551615n],
  Int32: [-2147483648n, 2147483647n], Int64: [-9223372036854775808n, 9223372036854775807n],
};

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([A-Za-z0-9]+)\}/g;

/** A string as a quoted ClickHouse literal. */
export function quoteString(s: string): string {
  let out = "'";
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + "'";
}

function literal(name: string, type: string, v: unknown): string {
  const bad = (why: string) => new IngestError('INGEST_ERR_CONFIG', `query parameter ${name}:${type}: ${why}, got ${JSON.stringify(v)}`);
  if (type === 'String') {
    if (typeof v !== 'string') throw bad('must be a string');
    return quoteString(v);
  }
  if (type === 'Float64') {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('must be a finite number');
    return String(v);
  }
  const range = INT_RANGE[type];
  if (!range) throw bad(`type ${type} is not supported`);
  let n: bigint;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'bigint') n = v;
  else throw bad('must be a safe integer');
  if (n < range[0] || n > range[1]) throw bad(`out of range ${range[0]}..${range[1]}`);
  return n.toString(10);
}

/** `sql` with every {name:Type} placeholder replaced by the typed literal of params[name]. */
export function bindLiterals(sql: string, params: Record<string, unknown>): string {
  const used = new Set<string>();
  const out = sql.replace(PLACEHOLDER, (_m, name: string, type: string) => {
    if (!Object.hasOwn(params, name)) throw new IngestError('INGEST_ERR_CONFIG', `query parameter ${name}:${type} has no value`);
    used.add(name);
    return literal(name, type, params[name]);
  });
  const extra = Object.keys(params).filter((k) => !used.has(k));
  if (extra.length > 0) throw new IngestError('INGEST_ERR_CONFIG', `query parameters without a placeholder: ${extra.join(', ')}`);
  return out;
}
