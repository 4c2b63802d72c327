/**
 * units.parse and units.parse_bytes, as OPA's topdown/parse_units.go and
 * parse_bytes.go: quotes are dropped, spaces refused, a number (with an
 * optional exponent) followed by an SI or binary suffix. units.parse keeps
 * the case of the first suffix letter (m is milli, M mega); parse_bytes
 * lowercases everything and truncates to an integer.
 */
import { BuiltinError, str, type BuiltinDef } from './types.ts';

const K = 1000, KI = 1024;
const UNITS: Record<string, number> = {
  '': 1, m: 0.001,
  k: K, K, ki: KI, Ki: KI,
  M: K ** 2, mi: KI ** 2, Mi: KI ** 2,
  g: K ** 3, G: K ** 3, gi: KI ** 3, Gi: KI ** 3,
  t: K ** 4, T: K ** 4, ti: KI ** 4, Ti: KI ** 4,
  p: K ** 5, P: K ** 5, pi: KI ** 5, Pi: KI ** 5,
  e: K ** 6, E: K ** 6, ei: KI ** 6, Ei: KI ** 6,
};
const BYTES: Record<string, number> = {
  '': 1,
  k: K, kb: K, ki: KI, kib: KI,
  m: K ** 2, mb: K ** 2, mi: KI ** 2, mib: KI ** 2,
  g: K ** 3, gb: K ** 3, gi: KI ** 3, gib: KI ** 3,
  t: K ** 4, tb: K ** 4, ti: KI ** 4, tib: KI ** 4,
  p: K ** 5, pb: K ** 5, pi: KI ** 5, pib: KI ** 5,
  e: K ** 6, eb: K ** 6, ei: KI ** 6, eib: KI ** 6,
};

/** "2.5e3Ki" → ["2.5e3", "Ki"]; an `e` not followed by digits is the exa suffix. */
function split(s: string): [string, string] {
  const m = /^[+-]?[0-9.]*(?:[eE][+-]?\d+)?/.exec(s)!;
  return [m[0], s.slice(m[0].length)];
}

function prepare(fn: string, v: Parameters<typeof str>[1], what: string): [number, string] {
  const s = str(fn, v, 1).replace(/"/g, '');
  if (s.includes(' ')) throw new BuiltinError(fn, 'spaces not allowed in resource strings');
  const [n, unit] = split(s);
  if (n === '' || /^[+-]$/.test(n)) throw new BuiltinError(fn, `no ${what ? what + ' ' : ''}amount provided`);
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(n)) throw new BuiltinError(fn, 'could not parse amount to a number');
  const x = Number(n);
  if (!Number.isFinite(x)) throw new BuiltinError(fn, 'exponent too large');
  return [x, unit];
}

export const unitBuiltins: Record<string, BuiltinDef> = {
  'units.parse': {
    arity: 1,
    fn: ([a]) => {
      const [n, u] = prepare('units.parse', a, '');
      const unit = u.length > 1 ? u[0] + u.slice(1).toLowerCase() : u;
      const f = UNITS[unit];
      if (f === undefined) throw new BuiltinError('units.parse', `unit ${unit} not recognized`);
      return unit === 'm' ? n / 1000 : n * f; // divide: 100m * 0.001 is not 0.1 in doubles
    },
  },
  'units.parse_bytes': {
    arity: 1,
    fn: ([a]) => {
      const [n, u] = prepare('units.parse_bytes', typeof a === 'string' ? a.toLowerCase() : a, 'byte');
      const f = BYTES[u];
      if (f === undefined) throw new BuiltinError('units.parse_bytes', `byte unit ${u} not recognized`);
      return Math.trunc(n * f);
    },
  },
};
