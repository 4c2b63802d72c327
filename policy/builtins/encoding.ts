/** JSON and base64 builtins, plus types and time. */
import YAML from 'yaml';
import { fromJSON, toJSON, typeName, type Value } from '../value.ts';
import { BuiltinError, str, type BuiltinDef } from './types.ts';

/** OPA's json.marshal: compact, object keys sorted, sets as sorted arrays. */
export function marshal(v: Value): string { return JSON.stringify(toJSON(v)); }

function b64decode(fn: string, s: string, url: boolean): string {
  const alpha = url ? /^[A-Za-z0-9_-]*={0,2}$/ : /^[A-Za-z0-9+/]*={0,2}$/;
  if (!alpha.test(s) || (!url && s.length % 4 !== 0)) throw new BuiltinError(fn, 'illegal base64 data');
  return Buffer.from(s, url ? 'base64url' : 'base64').toString('utf8');
}

/** The first YAML document; a syntax error in any document makes the whole text invalid (OPA's test-is-valid cases). */
function yamlParse(s: string): { ok: true; value: unknown } | { ok: false; error: string } {
  const docs = YAML.parseAllDocuments(s);
  const errs = docs.flatMap((d) => d.errors);
  if (errs.length) return { ok: false, error: errs[0].message };
  return { ok: true, value: docs.length ? docs[0].toJSON() : null };
}

const is = (t: string): BuiltinDef => ({ arity: 1, fn: ([a]) => typeName(a) === t });

export const encodingBuiltins: Record<string, BuiltinDef> = {
  'json.marshal': { arity: 1, fn: ([a]) => marshal(a) },
  'json.unmarshal': {
    arity: 1,
    fn: ([a]) => {
      try { return fromJSON(JSON.parse(str('json.unmarshal', a, 1))); } catch (e) { if (e instanceof BuiltinError) throw e; throw new BuiltinError('json.unmarshal', (e as Error).message); }
    },
  },
  'json.is_valid': { arity: 1, fn: ([a]) => { if (typeof a !== 'string') return false; try { JSON.parse(a); return true; } catch { return false; } } },
  'base64.encode': { arity: 1, fn: ([a]) => Buffer.from(str('base64.encode', a, 1), 'utf8').toString('base64') },
  'base64.decode': { arity: 1, fn: ([a]) => b64decode('base64.decode', str('base64.decode', a, 1), false) },
  'base64url.encode': { arity: 1, fn: ([a]) => Buffer.from(str('base64url.encode', a, 1), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_') },
  'base64url.encode_no_pad': { arity: 1, fn: ([a]) => Buffer.from(str('base64url.encode_no_pad', a, 1), 'utf8').toString('base64url') },
  'base64url.decode': { arity: 1, fn: ([a]) => b64decode('base64url.decode', str('base64url.decode', a, 1), true) },
  'base64.is_valid': { arity: 1, fn: ([a]) => typeof a === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(a) && a.length % 4 === 0 },
  'hex.decode': {
    arity: 1,
    fn: ([a]) => {
      const s = str('hex.decode', a, 1);
      if (!/^([0-9a-fA-F]{2})*$/.test(s)) throw new BuiltinError('hex.decode', `invalid hex string ${JSON.stringify(s)}`);
      return Buffer.from(s, 'hex').toString('utf8');
    },
  },
  'yaml.marshal': { arity: 1, fn: ([a]) => YAML.stringify(toJSON(a)) },
  'yaml.unmarshal': { arity: 1, fn: ([a]) => { const r = yamlParse(str('yaml.unmarshal', a, 1)); if (!r.ok) throw new BuiltinError('yaml.unmarshal', r.error); return fromJSON(r.value); } },
  'yaml.is_valid': { arity: 1, fn: ([a]) => typeof a === 'string' && yamlParse(a).ok },
  'hex.encode': { arity: 1, fn: ([a]) => Buffer.from(str('hex.encode', a, 1), 'utf8').toString('hex') },
  type_name: { arity: 1, fn: ([a]) => typeName(a) },
  is_null: is('null'),
  is_boolean: is('boolean'),
  is_number: is('number'),
  is_string: is('string'),
  is_array: is('array'),
  is_object: is('object'),
  is_set: is('set'),
  'time.now_ns': { arity: 0, fn: (_a, ctx) => ctx.nowNs() },
};


