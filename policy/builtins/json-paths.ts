/**
 * json.filter, json.remove and json.patch (RFC 6902). Paths are "a/b/c"
 * strings (JSON pointer escapes ~0 ~1) or arrays of segments; a segment
 * addresses an object key, an array index or a set element.
 */
import { equal, RObject, RSet, type Value } from '../value.ts';
import { BuiltinError, elems, obj, str, type BuiltinDef } from './types.ts';

type Path = Value[];

function toPath(fn: string, p: Value): Path {
  if (Array.isArray(p)) return p;
  const s = str(fn, p, 2).replace(/^\//, '');
  return s === '' ? [] : s.split('/').map((x) => x.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const index = (seg: Value, len: number, forAdd = false): number | undefined => {
  const n = typeof seg === 'number' ? seg : typeof seg === 'string' && /^(0|[1-9]\d*)$/.test(seg) ? Number(seg) : NaN;
  return Number.isInteger(n) && n >= 0 && (forAdd ? n <= len : n < len) ? n : undefined;
};

/** Path tree: segment key → subtree; an empty subtree keeps or removes the whole value. */
type Tree = Map<string, { seg: Value; sub: Tree }>;
function tree(paths: Path[]): Tree {
  const root: Tree = new Map();
  for (const p of paths) {
    let t = root;
    for (let i = 0; i < p.length; i++) {
      const k = JSON.stringify(p[i]);
      let n = t.get(k);
      if (!n) { n = { seg: p[i], sub: new Map() }; t.set(k, n); } else if (n.sub.size === 0 && i > 0) break;
      if (i === p.length - 1) n.sub.clear();
      t = n.sub;
    }
  }
  return root;
}

function lookup(t: Tree, key: Value): { sub: Tree } | undefined {
  return t.get(JSON.stringify(key)) ?? (typeof key === 'number' ? t.get(JSON.stringify(String(key))) : undefined);
}

function keep(v: Value, t: Tree): Value {
  if (t.size === 0) return v;
  if (v instanceof RObject) { const o = new RObject(); for (const [k, x] of v.entries()) { const n = lookup(t, k); if (n) o.set(k, keep(x, n.sub)); } return o; }
  if (Array.isArray(v)) return v.flatMap((x, i) => { const n = lookup(t, i); return n ? [keep(x, n.sub)] : []; });
  if (v instanceof RSet) { const s = new RSet(); for (const x of v.sorted()) { const n = lookup(t, x); if (n) s.add(keep(x, n.sub)); } return s; }
  return v;
}

function drop(v: Value, t: Tree): Value | undefined {
  if (t.size === 0) return undefined;
  const sub = (k: Value, x: Value): Value | undefined => { const n = lookup(t, k); return n ? drop(x, n.sub) : x; };
  if (v instanceof RObject) { const o = new RObject(); for (const [k, x] of v.entries()) { const r = sub(k, x); if (r !== undefined) o.set(k, r); } return o; }
  if (Array.isArray(v)) return v.flatMap((x, i) => { const r = sub(i, x); return r === undefined ? [] : [r]; });
  if (v instanceof RSet) { const s = new RSet(); for (const x of v.sorted()) { const r = sub(x, x); if (r !== undefined) s.add(r); } return s; }
  return v;
}

function get(v: Value, path: Path): Value | undefined {
  let cur: Value | undefined = v;
  for (const seg of path) {
    if (cur instanceof RObject) cur = cur.get(seg);
    else if (Array.isArray(cur)) { const i = index(seg, cur.length); cur = i === undefined ? undefined : cur[i]; }
    else if (cur instanceof RSet) cur = cur.has(seg) ? seg : undefined;
    else return undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** Copy-on-write edit of the parent of path; f gets the parent container and the last segment. */
function edit(v: Value, path: Path, f: (parent: Value, seg: Value) => Value | undefined): Value | undefined {
  if (!path.length) return undefined;
  const [seg, ...rest] = path;
  if (!rest.length) return f(v, seg);
  const child = get(v, [seg]);
  if (child === undefined) return undefined;
  const next = edit(child, rest, f);
  if (next === undefined) return undefined;
  return replaceChild(v, seg, next);
}

function replaceChild(v: Value, seg: Value, x: Value): Value | undefined {
  if (v instanceof RObject) { const o = new RObject(); for (const [k, y] of v.entries()) o.set(k, y); o.set(seg, x); return o; }
  if (Array.isArray(v)) { const i = index(seg, v.length); if (i === undefined) return undefined; const a = [...v]; a[i] = x; return a; }
  return undefined;
}

function add(doc: Value, path: Path, x: Value): Value | undefined {
  if (!path.length) return x;
  return edit(doc, path, (p, seg) => {
    if (p instanceof RObject) { const o = new RObject(); for (const [k, y] of p.entries()) o.set(k, y); o.set(seg, x); return o; }
    if (Array.isArray(p)) { const i = seg === '-' ? p.length : index(seg, p.length, true); if (i === undefined) return undefined; return [...p.slice(0, i), x, ...p.slice(i)]; }
    if (p instanceof RSet) { const s = new RSet(); for (const y of p.sorted()) s.add(y); s.add(x); return s; }
    return undefined;
  });
}

function remove(doc: Value, path: Path): Value | undefined {
  return edit(doc, path, (p, seg) => {
    if (p instanceof RObject) { if (!p.has(seg)) return undefined; const o = new RObject(); for (const [k, y] of p.entries()) if (!equal(k, seg)) o.set(k, y); return o; }
    if (Array.isArray(p)) { const i = index(seg, p.length); if (i === undefined) return undefined; return [...p.slice(0, i), ...p.slice(i + 1)]; }
    if (p instanceof RSet) { if (!p.has(seg)) return undefined; const s = new RSet(); for (const y of p.sorted()) if (!equal(y, seg)) s.add(y); return s; }
    return undefined;
  });
}

function applyPatch(doc: Value, patch: RObject): Value | undefined {
  const op = patch.get('op'), path = patch.get('path');
  if (typeof op !== 'string' || path === undefined) throw new BuiltinError('json.patch', 'patch operation needs "op" and "path"');
  const p = toPath('json.patch', path);
  const from = () => { const f = patch.get('from'); if (f === undefined) throw new BuiltinError('json.patch', `"${op}" needs "from"`); return toPath('json.patch', f); };
  const value = () => { const v = patch.get('value'); if (v === undefined) throw new BuiltinError('json.patch', `"${op}" needs "value"`); return v; };
  switch (op) {
    case 'add': return add(doc, p, value());
    case 'remove': return remove(doc, p);
    case 'replace': { const r = remove(doc, p); return r === undefined ? undefined : add(r, p, value()); }
    case 'move': { const f = from(), v = get(doc, f); const r = v === undefined ? undefined : remove(doc, f); return r === undefined ? undefined : add(r, p, v!); }
    case 'copy': { const v = get(doc, from()); return v === undefined ? undefined : add(doc, p, v); }
    case 'test': { const v = get(doc, p); return v !== undefined && equal(v, value()) ? doc : undefined; }
    default: throw new BuiltinError('json.patch', `unknown patch operation "${op}"`);
  }
}

export const jsonPathBuiltins: Record<string, BuiltinDef> = {
  'json.filter': { arity: 2, fn: ([o, ps]) => keep(obj('json.filter', o, 1), tree(elems('json.filter', ps, 2).map((p) => toPath('json.filter', p)))) },
  'json.remove': { arity: 2, fn: ([o, ps]) => drop(obj('json.remove', o, 1), tree(elems('json.remove', ps, 2).map((p) => toPath('json.remove', p)))) ?? new RObject() },
  'json.patch': {
    arity: 2,
    fn: ([doc, patches]) => {
      let cur: Value | undefined = doc;
      for (const p of elems('json.patch', patches, 2)) {
        cur = applyPatch(cur!, obj('json.patch', p, 2));
        if (cur === undefined) return undefined;
      }
      return cur;
    },
  },
};
