/** String builtins. Offsets and lengths count Unicode code points, as OPA does. */
import { RSet, typeName, type Value } from '../value.ts';
import { arr, BuiltinError, elems, int, operandErr, str, type BuiltinDef } from './types.ts';

function s1(name: string, f: (s: string) => Value): BuiltinDef { return { arity: 1, fn: ([a]) => f(str(name, a, 1)) }; }
function s2(name: string, f: (a: string, b: string) => Value): BuiltinDef { return { arity: 2, fn: ([a, b]) => f(str(name, a, 1), str(name, b, 2)) }; }

function trimSet(s: string, cut: string, left: boolean, right: boolean): string {
  const cs = new Set([...cut]);
  const cps = [...s];
  let i = 0, j = cps.length;
  if (left) while (i < j && cs.has(cps[i])) i++;
  if (right) while (j > i && cs.has(cps[j - 1])) j--;
  return cps.slice(i, j).join('');
}

/** A string, or an array/set of strings, as strings.any_{prefix,suffix}_match take them (OPA's error wording). */
function stringsOf(fn: string, v: Value, pos: number): string[] {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) && !(v instanceof RSet)) throw new BuiltinError(fn, `operand ${pos} must be one of {string, set, array} but got ${typeName(v)}`, 'eval_type_error');
  const xs = elems(fn, v, pos);
  const bad = xs.find((x) => typeof x !== 'string');
  if (bad !== undefined) throw new BuiltinError(fn, `operand ${pos} must be ${Array.isArray(v) ? 'array' : 'set'} of strings but got ${Array.isArray(v) ? 'array' : 'set'} containing ${typeName(bad)}`, 'eval_type_error');
  return xs as string[];
}

function anyMatch(fn: string, a: Value, b: Value, match: (s: string, p: string) => boolean): boolean {
  const ss = stringsOf(fn, a, 1), ps = stringsOf(fn, b, 2);
  return ss.some((s) => ps.some((p) => match(s, p)));
}

export const stringBuiltins: Record<string, BuiltinDef> = {
  startswith: s2('startswith', (a, b) => a.startsWith(b)),
  endswith: s2('endswith', (a, b) => a.endsWith(b)),
  contains: s2('contains', (a, b) => a.includes(b)),
  lower: s1('lower', (s) => s.toLowerCase()),
  upper: s1('upper', (s) => s.toUpperCase()),
  split: s2('split', (a, b) => (b === '' ? [...a] : a.split(b))),
  concat: {
    arity: 2,
    fn: ([d, xs]) => {
      const sep = str('concat', d, 1);
      const parts = Array.isArray(xs) || xs instanceof RSet ? elems('concat', xs, 2) : operandErr('concat', 2, 'one of {array, set}', xs);
      return parts.map((p) => str('concat', p, 2)).join(sep);
    },
  },
  trim: s2('trim', (a, b) => trimSet(a, b, true, true)),
  trim_left: s2('trim_left', (a, b) => trimSet(a, b, true, false)),
  trim_right: s2('trim_right', (a, b) => trimSet(a, b, false, true)),
  trim_prefix: s2('trim_prefix', (a, b) => (a.startsWith(b) ? a.slice(b.length) : a)),
  trim_suffix: s2('trim_suffix', (a, b) => (b !== '' && a.endsWith(b) ? a.slice(0, a.length - b.length) : a)),
  trim_space: s1('trim_space', (s) => s.trim()),
  substring: {
    arity: 3,
    fn: ([s, o, l]) => {
      const cps = [...str('substring', s, 1)];
      const off = int('substring', o, 2), len = int('substring', l, 3);
      if (off < 0) throw new BuiltinError('substring', 'negative offset');
      if (off >= cps.length) return '';
      return (len < 0 ? cps.slice(off) : cps.slice(off, off + len)).join('');
    },
  },
  indexof: s2('indexof', (a, b) => {
    const i = a.indexOf(b);
    return i < 0 ? -1 : [...a.slice(0, i)].length;
  }),
  replace: {
    arity: 3,
    fn: ([s, o, n]) => str('replace', s, 1).split(str('replace', o, 2)).join(str('replace', n, 3)),
  },
  'strings.replace_n': {
    arity: 2,
    fn: ([pats, s]) => {
      let out = str('strings.replace_n', s, 2);
      const entries = (pats as { entries?: () => [Value, Value][] }).entries?.() ?? operandErr('strings.replace_n', 1, 'object', pats);
      for (const [k, v] of entries) out = out.split(str('strings.replace_n', k, 1)).join(str('strings.replace_n', v, 1));
      return out;
    },
  },
  'strings.reverse': s1('strings.reverse', (s) => [...s].reverse().join('')),
  'strings.count': s2('strings.count', (a, b) => (b === '' ? [...a].length + 1 : a.split(b).length - 1)),
  'strings.any_prefix_match': { arity: 2, fn: ([a, b]) => anyMatch('strings.any_prefix_match', a, b, (s, p) => s.startsWith(p)) },
  'strings.any_suffix_match': { arity: 2, fn: ([a, b]) => anyMatch('strings.any_suffix_match', a, b, (s, p) => s.endsWith(p)) },
  // Every part, then the first n (n > 0) or the last -n (n < 0): not Go's SplitN.
  'strings.split_n': {
    arity: 3,
    fn: ([s, d, n]) => {
      const text = str('strings.split_n', s, 1), sep = str('strings.split_n', d, 2);
      if (typeof n === 'number' && !Number.isInteger(n)) throw new BuiltinError('strings.split_n', 'operand 3 must be integer number but got floating-point number');
      const k = int('strings.split_n', n, 3);
      const parts = sep === '' ? [...text] : text.split(sep);
      return k >= 0 ? parts.slice(0, k) : parts.slice(Math.max(0, parts.length + k));
    },
  },
  'array.join': { arity: 2, fn: ([a, d]) => arr('array.join', a, 1).map((p) => str('array.join', p, 1)).join(str('array.join', d, 2)) },
};
