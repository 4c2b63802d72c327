/** urlquery.* with Go's url.QueryEscape rules (space → "+", unreserved kept) and sorted keys when encoding objects. */
import { RObject, RSet, type Value } from '../value.ts';
import { BuiltinError, obj, str, type BuiltinDef } from './types.ts';

const escape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()).replace(/%20/g, '+');

function unescape(fn: string, s: string): string {
  try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch { throw new BuiltinError(fn, `invalid URL escape in ${JSON.stringify(s)}`); }
}

export const urlqueryBuiltins: Record<string, BuiltinDef> = {
  'urlquery.encode': { arity: 1, fn: ([a]) => escape(str('urlquery.encode', a, 1)) },
  'urlquery.decode': { arity: 1, fn: ([a]) => unescape('urlquery.decode', str('urlquery.decode', a, 1)) },
  'urlquery.encode_object': {
    arity: 1,
    fn: ([o]) => {
      const parts: string[] = [];
      for (const [k, v] of obj('urlquery.encode_object', o, 1).entries()) {
        const key = escape(str('urlquery.encode_object', k, 1));
        const vals = typeof v === 'string' ? [v] : Array.isArray(v) ? v : v instanceof RSet ? v.sorted() : [str('urlquery.encode_object', v, 1)];
        for (const x of vals) parts.push(`${key}=${escape(str('urlquery.encode_object', x, 1))}`);
      }
      return parts.join('&');
    },
  },
  'urlquery.decode_object': {
    arity: 1,
    fn: ([a]) => {
      const out = new RObject();
      for (const pair of str('urlquery.decode_object', a, 1).split(/[&]/)) {
        if (!pair) continue;
        const i = pair.indexOf('=');
        const k = unescape('urlquery.decode_object', i < 0 ? pair : pair.slice(0, i)), v = i < 0 ? '' : unescape('urlquery.decode_object', pair.slice(i + 1));
        out.set(k, [...((out.get(k) as Value[] | undefined) ?? []), v]);
      }
      return out;
    },
  },
};
