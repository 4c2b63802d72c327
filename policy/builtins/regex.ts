/**
 * regex.match and glob.match. Regex: RE2 patterns run on JS RegExp with the
 * RE2-only syntax OPA policies commonly use translated ((?i) (?s) (?m)
 * leading flags, (?P<name>…), \A, \z). Known difference: JS has
 * backreferences and lookaround that RE2 rejects; we accept them.
 */
import { BuiltinError, elems, int, str, type BuiltinDef } from './types.ts';

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
  // With the u flag, `\-` is legal only inside a class: escape it there alone.
  const esc = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  const escIn = (c: string) => c.replace(/[\\\]^-]/g, '\\$&');
  const notDelim = delims.length ? `[^${delims.map(escIn).join('')}]` : '[\\s\\S]';
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
  // Go's ReplaceAllString: $1 / ${1} / ${name} expand; an unknown group expands to "".
  'regex.replace': {
    arity: 3,
    fn: ([s, p, v]) => {
      const re = new RegExp(re2(str('regex.replace', p, 2)).source, re2(str('regex.replace', p, 2)).flags + 'g');
      const tmpl = str('regex.replace', v, 3);
      return str('regex.replace', s, 1).replace(re, (...m) => {
        const groups = (typeof m[m.length - 1] === 'object' ? m[m.length - 1] : {}) as Record<string, string | undefined>;
        return tmpl.replace(/\$(?:\{(\w+)\}|(\w+))|\$\$/g, (all, a, b) => {
          if (all === '$$') return '$';
          const name = a ?? b;
          const v = /^\d+$/.test(name) ? m[Number(name)] : groups[name];
          return typeof v === 'string' ? v : '';
        });
      });
    },
  },
  'regex.find_all_string_submatch_n': {
    arity: 3,
    fn: ([p, s, n]) => {
      const re = re2(str('regex.find_all_string_submatch_n', p, 1));
      const all = [...str('regex.find_all_string_submatch_n', s, 2).matchAll(new RegExp(re.source, re.flags + 'g'))].map((m) => [...m].map((x) => x ?? ''));
      const k = int('regex.find_all_string_submatch_n', n, 3);
      return k >= 0 ? all.slice(0, k) : all;
    },
  },
  // Literal text with regex parts between the delimiters, matched as a whole ("urn:foo:{.*}").
  'regex.template_match': {
    arity: 4,
    fn: ([t, s, ds, de]) => {
      const tmpl = str('regex.template_match', t, 1), open = str('regex.template_match', ds, 3), close = str('regex.template_match', de, 4);
      if ([...open].length !== 1 || [...close].length !== 1) throw new BuiltinError('regex.template_match', 'delimiters must be one character');
      let out = '', depth = 0, part = '';
      for (const c of tmpl) {
        if (c === open) { if (depth++ === 0) { out += part.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'); part = ''; continue; } }
        else if (c === close && depth > 0) { if (--depth === 0) { out += '(?:' + re2(part).source + ')'; part = ''; continue; } }
        part += c;
      }
      if (depth) throw new BuiltinError('regex.template_match', `unbalanced braces in ${JSON.stringify(tmpl)}`);
      out += part.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
      return new RegExp('^' + out + '$', 'u').test(str('regex.template_match', s, 2));
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
