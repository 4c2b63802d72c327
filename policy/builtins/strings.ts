/** String builtins. Offsets and lengths count Unicode code points, as OPA does. */
import { RSet, type Value } from '../value.ts';
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
  'strings.any_prefix_match': {
    arity: 2,
    fn: ([a, b]) => {
      const ss = typeof a === 'string' ? [a] : elems('strings.any_prefix_match', a, 1);
      const ps = typeof b === 'string' ? [b] : elems('strings.any_prefix_match', b, 2);
      return ss.some((s) => ps.some((p) => (s as string).startsWith(p as string)));
    },
  },
  'array.join': { arity: 2, fn: ([a, d]) => arr('array.join', a, 1).map((p) => str('array.join', p, 1)).join(str('array.join', d, 2)) },
};
