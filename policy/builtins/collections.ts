/** Aggregates and array/object/set builtins. */
import { compare, equal, RObject, RSet, type Value } from '../value.ts';
import { arr, BuiltinError, elems, int, obj, operandErr, set, setOf, type BuiltinDef } from './types.ts';

function member(v: Value, coll: Value, key?: Value): boolean {
  if (Array.isArray(coll)) return coll.some((x, i) => equal(x, v) && (key === undefined || equal(key, i)));
  if (coll instanceof RSet) return coll.has(v) && (key === undefined || equal(key, v));
  if (coll instanceof RObject) return coll.entries().some(([k, x]) => equal(x, v) && (key === undefined || equal(key, k)));
  return false;
}

export const collectionBuiltins: Record<string, BuiltinDef> = {
  count: {
    arity: 1,
    fn: ([a]) => {
      if (typeof a === 'string') return [...a].length;
      if (Array.isArray(a)) return a.length;
      if (a instanceof RSet || a instanceof RObject) return a.size;
      return operandErr('count', 1, 'one of {array, object, set, string}', a);
    },
  },
  sum: { arity: 1, fn: ([a]) => elems('sum', a, 1).reduce((s: number, x) => s + (typeof x === 'number' ? x : operandErr('sum', 1, 'a collection of numbers', x)), 0) },
  product: { arity: 1, fn: ([a]) => elems('product', a, 1).reduce((s: number, x) => s * (typeof x === 'number' ? x : operandErr('product', 1, 'a collection of numbers', x)), 1) },
  max: { arity: 1, fn: ([a]) => { const e = elems('max', a, 1); return e.length ? e.reduce((m, x) => (compare(x, m) > 0 ? x : m)) : undefined; } },
  min: { arity: 1, fn: ([a]) => { const e = elems('min', a, 1); return e.length ? e.reduce((m, x) => (compare(x, m) < 0 ? x : m)) : undefined; } },
  sort: { arity: 1, fn: ([a]) => [...elems('sort', a, 1)].sort(compare) },
  'array.concat': { arity: 2, fn: ([a, b]) => [...arr('array.concat', a, 1), ...arr('array.concat', b, 2)] },
  'array.slice': {
    arity: 3,
    fn: ([a, s, e]) => {
      const xs = arr('array.slice', a, 1);
      let i = int('array.slice', s, 2), j = int('array.slice', e, 3);
      if (i < 0) i = 0;
      if (j > xs.length) j = xs.length;
      return i >= j ? [] : xs.slice(i, j);
    },
  },
  'array.flatten': { arity: 1, fn: ([a]) => arr('array.flatten', a, 1).flatMap((x) => (Array.isArray(x) ? x : [x])) },
  'array.reverse': { arity: 1, fn: ([a]) => [...arr('array.reverse', a, 1)].reverse() },
  'object.get': {
    arity: 3,
    fn: ([o, k, d]) => {
      const ob = obj('object.get', o, 1);
      if (!Array.isArray(k)) return ob.has(k) ? ob.get(k)! : d;
      let cur: Value = ob;
      for (const p of k) {
        if (cur instanceof RObject && cur.has(p)) cur = cur.get(p)!;
        else if (Array.isArray(cur) && typeof p === 'number' && p >= 0 && p < cur.length) cur = cur[p];
        else if (cur instanceof RSet && cur.has(p)) cur = p;
        else return d;
      }
      return cur;
    },
  },
  'object.keys': { arity: 1, fn: ([o]) => setOf(obj('object.keys', o, 1).entries().map(([k]) => k)) },
  'object.union': { arity: 2, fn: ([a, b]) => mergeObjects(obj('object.union', a, 1), obj('object.union', b, 2)) },
  'object.remove': {
    arity: 2,
    fn: ([o, ks]) => {
      const ob = obj('object.remove', o, 1);
      const drop = ks instanceof RObject ? ks.entries().map(([k]) => k) : elems('object.remove', ks, 2);
      const out = new RObject();
      for (const [k, v] of ob.entries()) if (!drop.some((d) => equal(d, k))) out.set(k, v);
      return out;
    },
  },
  'object.filter': {
    arity: 2,
    fn: ([o, ks]) => {
      const ob = obj('object.filter', o, 1);
      const keep = ks instanceof RObject ? ks.entries().map(([k]) => k) : elems('object.filter', ks, 2);
      const out = new RObject();
      for (const [k, v] of ob.entries()) if (keep.some((d) => equal(d, k))) out.set(k, v);
      return out;
    },
  },
  'object.union_n': {
    arity: 1,
    fn: ([a]) => arr('object.union_n', a, 1).reduce((acc: RObject, o) => mergeObjects(acc, obj('object.union_n', o, 1)), new RObject()),
  },
  'object.subset': {
    arity: 2,
    fn: ([sup, sub]) => {
      const kinds = (v: Value) => v instanceof RObject || v instanceof RSet || Array.isArray(v);
      if (!kinds(sup) || !kinds(sub)) throw new BuiltinError('object.subset', 'both arguments must be objects, sets, or arrays');
      if (sup instanceof RObject !== sub instanceof RObject || (sup instanceof RSet && Array.isArray(sub))) throw new BuiltinError('object.subset', 'both arguments must be of the same type (or super an array and sub a set)');
      return isSubset(sup, sub);
    },
  },
  union: { arity: 1, fn: ([a]) => setOf(set('union', a, 1).sorted().flatMap((s) => set('union', s, 1).sorted())) },
  intersection: {
    arity: 1,
    fn: ([a]) => {
      const sets = set('intersection', a, 1).sorted().map((s) => set('intersection', s, 1));
      if (!sets.length) return new RSet();
      return setOf(sets[0].sorted().filter((x) => sets.every((s) => s.has(x))));
    },
  },
  'internal.member_2': { arity: 2, fn: ([v, c]) => member(v, c) },
  'internal.member_3': { arity: 3, fn: ([k, v, c]) => member(v, c, k) },
};

/** object.subset: objects recurse, sets are membership, an array sub is a contiguous run of an array super, a set sub's elements all occur in an array super. */
function isSubset(sup: Value, sub: Value): boolean {
  if (sup instanceof RObject && sub instanceof RObject) {
    return sub.entries().every(([k, v]) => { const s = sup.get(k); return s !== undefined && (s instanceof RObject && v instanceof RObject ? isSubset(s, v) : s instanceof RSet && v instanceof RSet ? isSubset(s, v) : equal(s, v)); });
  }
  if (sup instanceof RSet && sub instanceof RSet) return sub.sorted().every((x) => sup.has(x));
  if (Array.isArray(sup) && sub instanceof RSet) return sub.sorted().every((x) => sup.some((y) => equal(x, y)));
  if (Array.isArray(sup) && Array.isArray(sub)) {
    if (!sub.length) return true;
    for (let i = 0; i + sub.length <= sup.length; i++) if (sub.every((x, j) => equal(x, sup[i + j]))) return true;
    return false;
  }
  return equal(sup, sub);
}

/** object.union: b wins, nested objects merge recursively (OPA's semantics). */
function mergeObjects(a: RObject, b: RObject): RObject {
  const out = new RObject();
  for (const [k, v] of a.entries()) out.set(k, v);
  for (const [k, v] of b.entries()) {
    const prev = out.get(k);
    out.set(k, prev instanceof RObject && v instanceof RObject ? mergeObjects(prev, v) : v);
  }
  return out;
}

