/**
 * sprintf with Go fmt verbs as OPA exposes them: integers format as Go ints,
 * other numbers as float64, strings as Go strings, anything else as Rego
 * text (`["a", 1]`, `{"k": 1}`, `{1, 2}`, `set()`).
 */
import { RObject, RSet, type Value } from '../value.ts';
import { arr, str, type BuiltinDef } from './types.ts';

/** Rego's canonical text for a value (OPA's Term.String()). */
export function regoText(v: Value): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean' || typeof v === 'number') return goFloat(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(regoText).join(', ') + ']';
  if (v instanceof RSet) return v.size ? '{' + v.sorted().map(regoText).join(', ') + '}' : 'set()';
  return '{' + (v as RObject).entries().map(([k, x]) => `${regoText(k)}: ${regoText(x)}`).join(', ') + '}';
}

function goFloat(v: boolean | number): string {
  if (typeof v === 'boolean') return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  const s = String(v);
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

function pad(s: string, width: number, flags: string): string {
  if (s.length >= width) return s;
  if (flags.includes('-')) return s + ' '.repeat(width - s.length);
  if (flags.includes('0') && /^[+-]?[0-9.]/.test(s)) {
    const sign = /^[+-]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(width - s.length) + s.slice(sign.length);
  }
  return ' '.repeat(width - s.length) + s;
}

function formatOne(verb: string, flags: string, prec: number | null, a: Value | undefined): string {
  if (a === undefined) return `%!${verb}(MISSING)`;
  const isInt = typeof a === 'number' && Number.isInteger(a);
  const plus = (s: string) => (flags.includes('+') && typeof a === 'number' && a >= 0 ? '+' + s : s);
  switch (verb) {
    case 'v': return typeof a === 'string' ? a : regoText(a);
    case 's': return typeof a === 'string' ? (prec !== null ? a.slice(0, prec) : a) : `%!s(${goType(a)}=${regoText(a)})`;
    case 'q': return typeof a === 'string' ? JSON.stringify(a) : `%!q(${goType(a)}=${regoText(a)})`;
    case 'd': return isInt ? plus(String(a)) : `%!d(${goType(a)}=${regoText(a)})`;
    case 'f': case 'F': return typeof a === 'number' ? plus(a.toFixed(prec ?? 6)) : `%!f(${goType(a)}=${regoText(a)})`;
    case 'e': return typeof a === 'number' ? plus(a.toExponential(prec ?? 6).replace(/e([+-])(\d)$/, 'e$10$2')) : `%!e(${goType(a)}=${regoText(a)})`;
    case 'g': return typeof a === 'number' ? plus(prec !== null ? String(Number(a.toPrecision(prec))) : goFloat(a)) : `%!g(${goType(a)}=${regoText(a)})`;
    case 'x': case 'X': {
      let s: string;
      if (isInt) s = (a as number).toString(16);
      else if (typeof a === 'string') s = Buffer.from(a).toString('hex');
      else return `%!${verb}(${goType(a)}=${regoText(a)})`;
      return verb === 'X' ? s.toUpperCase() : s;
    }
    case 'o': return isInt ? (a as number).toString(8) : `%!o(${goType(a)}=${regoText(a)})`;
    case 'b': return isInt ? (a as number).toString(2) : `%!b(${goType(a)}=${regoText(a)})`;
    case 't': return typeof a === 'boolean' ? String(a) : `%!t(${goType(a)}=${regoText(a)})`;
    default: return `%!${verb}(${goType(a)}=${regoText(a)})`;
  }
}

function goType(a: Value): string {
  if (typeof a === 'number') return Number.isInteger(a) ? 'int' : 'float64';
  if (typeof a === 'string') return 'string';
  if (typeof a === 'boolean') return 'bool';
  return '*ast.Term';
}

export function sprintf(format: string, values: Value[]): string {
  // OPA hands Go's fmt numbers as numbers, strings as strings and every other value as its Rego text.
  const args: Value[] = values.map((v) => (typeof v === 'number' || typeof v === 'string' ? v : regoText(v)));
  let out = '', ai = 0;
  const re = /%([-+# 0]*)(\d+)?(?:\.(\d+))?([a-zA-Z%])/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    out += format.slice(last, m.index);
    last = re.lastIndex;
    const [, flags, width, prec, verb] = m;
    if (verb === '%') { out += '%'; continue; }
    out += pad(formatOne(verb, flags, prec === undefined ? null : Number(prec), args[ai++]), width ? Number(width) : 0, flags);
  }
  out += format.slice(last);
  if (ai < args.length) out += '%!(EXTRA ' + args.slice(ai).map((a) => `${goType(a)}=${typeof a === 'string' ? a : regoText(a)}`).join(', ') + ')';
  return out;
}

export const sprintfBuiltins: Record<string, BuiltinDef> = {
  sprintf: { arity: 2, fn: ([f, a]) => sprintf(str('sprintf', f, 1), arr('sprintf', a, 2)) },
};
