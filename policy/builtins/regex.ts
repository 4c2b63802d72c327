/**
 * regex.match and glob.match. Regex: RE2 patterns run on JS RegExp with the
 * RE2-only syntax OPA policies commonly use translated ((?i) (?s) (?m)
 * leading flags, (?P<name>…), \A, \z). Known difference: JS has
 * backreferences and lookaround that RE2 rejects; we accept them.
 */
import { BuiltinError, elems, str, type BuiltinDef } from './types.ts';

const cache = new Map<string, RegExp>();

export function re2(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let p = pattern, flags = 'u';
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  if (lead) { p = p.slice(lead[0].length); for (const f of lead[1]) if ('ims'.includes(f) && !flags.includes(f)) flags += f; }
  p = p.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$(?![\\s\\S])');
  let r: RegExp;
  try { r = new RegExp(p, flags); } catch (e) { throw new BuiltinError('regex.match', `error parsing regexp: ${(e as Error).message}`); }
  cache.set(pattern, r);
  return r;
}

/** gobwas/glob semantics: `*` stops at delimiters, `**` does not, `?`, `[…]`, `[!…]`, `{a,b}`, `\` escapes. */
export function globToRegExp(pattern: string, delims: string[]): RegExp {
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
  const notDelim = delims.length ? `[^${delims.map(esc).join('')}]` : '[\\s\\S]';
  let out = '', depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) { out += esc(pattern[++i]); continue; }
    if (c === '*') {
      if (pattern[i + 1] === '*') { out += '[\\s\\S]*'; i++; } else out += notDelim + '*';
    } else if (c === '?') out += notDelim;
    else if (c === '[') {
      const j = pattern.indexOf(']', i + 1);
      if (j < 0) throw new BuiltinError('glob.match', 'unexpected end of input');
      let body = pattern.slice(i + 1, j);
      const neg = body.startsWith('!');
      if (neg) body = body.slice(1);
      out += '[' + (neg ? '^' : '') + body.replace(/[\\\]^]/g, '\\$&') + ']';
      i = j;
    } else if (c === '{') { out += '(?:'; depth++; }
    else if (c === '}' && depth > 0) { out += ')'; depth--; }
    else if (c === ',' && depth > 0) out += '|';
    else out += esc(c);
  }
  if (depth) throw new BuiltinError('glob.match', 'unexpected end of input');
  return new RegExp('^' + out + '$', 'u');
}

export const regexBuiltins: Record<string, BuiltinDef> = {
  'regex.match': { arity: 2, fn: ([p, s]) => re2(str('regex.match', p, 1)).test(str('regex.match', s, 2)) },
  'regex.is_valid': { arity: 1, fn: ([p]) => { if (typeof p !== 'string') return false; try { re2(p); return true; } catch { return false; } } },
  'regex.split': { arity: 2, fn: ([p, s]) => str('regex.split', s, 2).split(new RegExp(re2(str('regex.split', p, 1)).source, 'gu')) },
  'regex.find_n': {
    arity: 3,
    fn: ([p, s, n]) => {
      const all = [...str('regex.find_n', s, 2).matchAll(new RegExp(re2(str('regex.find_n', p, 1)).source, 'gu'))].map((m) => m[0]);
      return typeof n === 'number' && n >= 0 ? all.slice(0, n) : all;
    },
  },
  'glob.match': {
    arity: 3,
    fn: ([p, d, s]) => {
      const delims = d === null ? [] : elems('glob.match', d, 2).map((x) => str('glob.match', x, 2));
      return globToRegExp(str('glob.match', p, 1), d !== null && delims.length === 0 ? ['.'] : delims).test(str('glob.match', s, 3));
    },
  },
  'glob.quote_meta': { arity: 1, fn: ([p]) => str('glob.quote_meta', p, 1).replace(/[*?\\[\]{}]/g, '\\$&') },
};
