// Interpreter of the meshlens policy IR (policy/ir.ts), in the compact
// positional encoding written by policy/wasm/encode.ts. It mirrors
// policy/eval.ts and policy/eval-data.ts (the oracle) step by step; AS has
// no closures, so continuations are small classes with a virtual run().
import { Value, V_NULL, V_TRUE, vNum, vArr, newObj, newSet, objGet, objSet, setAdd, equal, item, len, indexValue, NULL, NUM, STR, ARR, OBJ, SET } from "./value";
import { callNative, callHost } from "./builtins";
import { fail } from "./abort";

type Env = Array<Value | null>;

// @ts-ignore: decorator
@inline function tag(v: Value): i32 { return <i32>unchecked(v.items![0]).n; }
// @ts-ignore: decorator
@inline function f(v: Value, i: i32): Value { return unchecked(v.items![i]); }
// @ts-ignore: decorator
@inline function isNil(v: Value): bool { return v.kind == NULL; }

export let rules: Array<Value> = new Array<Value>();
const ruleByPath = new Map<string, i32>();
const nodes = new Map<string, Array<string>>();

export let input: Value | null = null;
let data: Value = V_NULL;
let overrides = new Map<string, Value>();
let cache = new Map<string, Value>();
const UNDEF = new Value();

let trailEnv = new Array<Env>();
let trailIdx = new Array<i32>();

let rootKids = new Array<string>();

export function loadRules(rs: Value): void {
  rules = rs.items!;
  for (let r = 0; r < rules.length; r++) {
    const path = f(rules[r], 0);
    ruleByPath.set(joinStrs(path.items!, len(path)), r);
    for (let d = 0; d < len(path); d++) {
      const k = joinStrs(path.items!, d);
      if (!nodes.has(k)) nodes.set(k, new Array<string>());
      const kids = nodes.get(k);
      const child = item(path, d).s;
      if (!kids.includes(child)) kids.push(child);
    }
  }
  if (nodes.has("")) rootKids = nodes.get("");
}

function joinStrs(path: Array<Value>, n: i32): string {
  let s = "";
  for (let i = 0; i < n; i++) { if (i > 0) s += "\u0000"; s += unchecked(path[i]).s; }
  return s;
}

/** Fresh state for one query (the heap was reset under us, so drop everything allocated since start). */
export function beginQuery(inp: Value | null, d: Value): void {
  input = inp;
  data = d;
  overrides = new Map<string, Value>();
  cache = new Map<string, Value>();
  trailEnv = new Array<Env>();
  trailIdx = new Array<i32>();
}

export class K { run(): bool { return true; } }
const K_TRUE = new K();

function bind(env: Env, i: i32, v: Value): void { env[i] = v; trailEnv.push(env); trailIdx.push(i); }
function undo(mark: i32): void {
  while (trailEnv.length > mark) { const e = trailEnv.pop(); e[trailIdx.pop()] = null; }
}

class WithK extends K {
  constructor(public saved: State, public inner: State, public steps: Value, public i: i32, public env: Env, public k: K) { super(); }
  run(): bool { restore(this.saved); const r = evalSteps(this.steps, this.i + 1, this.env, this.k); restore(this.inner); return r; }
}

export function evalSteps(steps: Value, i: i32, env: Env, k: K): bool {
  if (i == len(steps)) return k.run();
  const s = item(steps, i);
  const mark = trailEnv.length;
  switch (tag(s)) {
    case 0: { // unify
      const r = unify(f(s, 1), f(s, 2), env) && evalSteps(steps, i + 1, env, k);
      undo(mark);
      return r;
    }
    case 1: { // scan
      const src = evalTerm(f(s, 1), env);
      if (src == null) return false;
      const key = f(s, 2), val = f(s, 3);
      const n = len(src);
      if (src.kind != ARR && src.kind != OBJ && src.kind != SET) return false;
      for (let j = 0; j < n; j++) {
        const kv = src.kind == ARR ? vNum(<f64>j) : item(src, j);
        const vv = src.kind == OBJ ? unchecked(src.vals![j]) : item(src, j);
        const r = (isNil(key) || unifyVal(key, kv, env)) && (isNil(val) || unifyVal(val, vv, env)) && evalSteps(steps, i + 1, env, k);
        undo(mark);
        if (r) return true;
      }
      return false;
    }
    case 2: { // call
      const argTerms = f(s, 3);
      const args = new Array<Value>(len(argTerms));
      for (let j = 0; j < len(argTerms); j++) {
        const v = evalTerm(item(argTerms, j), env);
        if (v == null) return false;
        unchecked(args[j] = v);
      }
      const r = callFn(<i32>f(s, 1).n, <i32>f(s, 2).n, args);
      if (r == null) return false;
      const out = f(s, 4);
      if (isNil(out)) return !(r.kind == 1 && !r.b) && evalSteps(steps, i + 1, env, k);
      const ok = unifyVal(out, r, env) && evalSteps(steps, i + 1, env, k);
      undo(mark);
      return ok;
    }
    case 3: { // test
      const v = evalTerm(f(s, 1), env);
      return v != null && !(v.kind == 1 && !v.b) && evalSteps(steps, i + 1, env, k);
    }
    case 4: // not
      return !evalSteps(f(s, 1), 0, env, K_TRUE) && evalSteps(steps, i + 1, env, k);
    case 5: { // every
      const src = evalTerm(f(s, 1), env);
      if (src == null) return false;
      const key = f(s, 2), val = f(s, 3), body = f(s, 4);
      if (src.kind == ARR || src.kind == OBJ || src.kind == SET) {
        for (let j = 0; j < len(src); j++) {
          const kv = src.kind == ARR ? vNum(<f64>j) : item(src, j);
          const vv = src.kind == OBJ ? unchecked(src.vals![j]) : item(src, j);
          const ok = (isNil(key) || unifyVal(key, kv, env)) && unifyVal(val, vv, env) && evalSteps(body, 0, env, K_TRUE);
          undo(mark);
          if (!ok) return false;
        }
      }
      return evalSteps(steps, i + 1, env, k);
    }
    default: { // with
      const mods = f(s, 1);
      const vals = new Array<Value>(len(mods));
      for (let j = 0; j < len(mods); j++) {
        if (isNil(f(item(mods, j), 2))) { unchecked(vals[j] = V_NULL); continue; } // function replaced by a function
        const v = evalTerm(f(item(mods, j), 2), env);
        if (v == null) return false;
        unchecked(vals[j] = v);
      }
      const saved = save();
      applyWith(mods, vals);
      const inner = save();
      const r = evalSteps(f(s, 2), 0, env, new WithK(saved, inner, steps, i, env, k));
      restore(saved);
      return r;
    }
  }
}

function unify(a: Value, b: Value, env: Env): bool {
  const ta = tag(a), tb = tag(b);
  if (ta == 1 && env[<i32>f(a, 1).n] == null) {
    const v = evalTerm(b, env);
    if (v == null) return false;
    bind(env, <i32>f(a, 1).n, v);
    return true;
  }
  if (tb == 1 && env[<i32>f(b, 1).n] == null) return unify(b, a, env);
  if (ta == 3 && tb == 3) {
    const ia = f(a, 1), ib = f(b, 1);
    if (len(ia) != len(ib)) return false;
    for (let j = 0; j < len(ia); j++) if (!unify(item(ia, j), item(ib, j), env)) return false;
    return true;
  }
  if (ta == 3 || ta == 5) { const v = evalTerm(b, env); return v != null && unifyVal(a, v, env); }
  if (tb == 3 || tb == 5) { const v = evalTerm(a, env); return v != null && unifyVal(b, v, env); }
  const va = evalTerm(a, env), vb = evalTerm(b, env);
  return va != null && vb != null && equal(va, vb);
}

function unifyVal(p: Value, v: Value, env: Env): bool {
  const t = tag(p);
  if (t == 1) {
    const i = <i32>f(p, 1).n;
    const cur = env[i];
    if (cur == null) { bind(env, i, v); return true; }
    return equal(cur, v);
  }
  if (t == 3) {
    const its = f(p, 1);
    if (v.kind != ARR || len(v) != len(its)) return false;
    for (let j = 0; j < len(its); j++) if (!unifyVal(item(its, j), item(v, j), env)) return false;
    return true;
  }
  if (t == 5) {
    const pairs = f(p, 1);
    if (v.kind != OBJ || len(v) != len(pairs)) return false;
    for (let j = 0; j < len(pairs); j++) {
      const kv = evalTerm(f(item(pairs, j), 0), env);
      if (kv == null) return false;
      const x = objGet(v, kv);
      if (x == null || !unifyVal(f(item(pairs, j), 1), x, env)) return false;
    }
    return true;
  }
  const pv = evalTerm(p, env);
  return pv != null && equal(pv, v);
}

class ComprK extends K {
  constructor(public kind: i32, public key: Value, public head: Value, public env: Env, public out: Value) { super(); }
  run(): bool {
    const h = evalTerm(this.head, this.env);
    if (h == null) return false;
    if (this.kind == 0) this.out.items!.push(h);
    else if (this.kind == 1) setAdd(this.out, h);
    else {
      const k = evalTerm(this.key, this.env);
      if (k == null) return false;
      const old = objGet(this.out, k);
      if (old != null && !equal(old, h)) fail("eval_conflict_error: object keys must be unique");
      objSet(this.out, k, h);
    }
    return false;
  }
}

export function evalTerm(t: Value, env: Env): Value | null {
  switch (tag(t)) {
    case 0: return f(t, 1);
    case 1: return env[<i32>f(t, 1).n];
    case 2: {
      const pt = f(t, 3);
      const path = new Array<Value>(len(pt));
      for (let j = 0; j < len(pt); j++) { const v = evalTerm(item(pt, j), env); if (v == null) return null; unchecked(path[j] = v); }
      const bk = <i32>f(t, 1).n;
      if (bk == 1) return resolveData(path);
      const base = bk == 0 ? input : evalTerm(f(t, 2), env);
      return base == null ? null : indexValue(base, path, 0);
    }
    case 3: {
      const its = f(t, 1);
      const out = new Array<Value>(len(its));
      for (let j = 0; j < len(its); j++) { const v = evalTerm(item(its, j), env); if (v == null) return null; unchecked(out[j] = v); }
      return vArr(out);
    }
    case 4: {
      const its = f(t, 1);
      const out = newSet();
      for (let j = 0; j < len(its); j++) { const v = evalTerm(item(its, j), env); if (v == null) return null; setAdd(out, v); }
      return out;
    }
    case 5: {
      const pairs = f(t, 1);
      const out = newObj();
      for (let j = 0; j < len(pairs); j++) {
        const kv = evalTerm(f(item(pairs, j), 0), env), v = evalTerm(f(item(pairs, j), 1), env);
        if (kv == null || v == null) return null;
        objSet(out, kv, v);
      }
      return out;
    }
    default: {
      const kind = <i32>f(t, 1).n;
      const out = kind == 0 ? vArr(new Array<Value>()) : kind == 1 ? newSet() : newObj();
      evalSteps(f(t, 4), 0, env, new ComprK(kind, f(t, 2), f(t, 3), env, out));
      return out;
    }
  }
}

function callFn(fk: i32, id: i32, args: Array<Value>): Value | null {
  if (mockVals.size > 0 || mockFns.size > 0) {
    const key = fnKey(fk, id);
    if (mockVals.has(key)) return mockVals.get(key);
    if (mockFns.has(key)) {
      // The replacement runs with no mocks in force (as policy/eval.ts: it reaches the originals).
      const to = mockFns.get(key);
      const saved = save();
      mockVals = new Map<i32, Value>(); mockFns = new Map<i32, i32>(); cache = new Map<string, Value>();
      const r = callUnmocked(to >> 24, to & 0xffffff, args);
      restore(saved);
      return r;
    }
  }
  return callUnmocked(fk, id, args);
}

function callUnmocked(fk: i32, id: i32, args: Array<Value>): Value | null {
  if (fk == 0) return single(rules[id], args, "functions must not produce multiple outputs for same inputs");
  if (fk == 1) return callNative(id, args);
  return callHost(id, args);
}

// ---- the virtual document ----

export function resolveData(path: Array<Value>): Value | null {
  // Fast path: no `with` in force and no rule under the first segment → plain base data.
  if (overrides.size == 0 && path.length > 0 && path[0].kind == STR && !rootKids.includes(path[0].s)) return indexValue(data, path, 0);
  for (let d = 0; d <= path.length; d++) {
    if (d > 0 && path[d - 1].kind != STR) break;
    const key = joinStrs(path, d);
    if (overrides.has(key)) return indexValue(overrides.get(key), path, d);
    if (d > 0 && ruleByPath.has(key)) {
      const rule = rules[ruleByPath.get(key)];
      if (<i32>f(rule, 1).n == 3) return null;
      return indexValue(evalRule(rule, key), path, d);
    }
  }
  let allStr = true;
  for (let j = 0; j < path.length; j++) if (path[j].kind != STR) allStr = false;
  if (allStr) {
    const key = joinStrs(path, path.length);
    if (nodes.has(key)) return nodeValue(path, key);
  }
  return indexValue(data, path, 0);
}

function nodeValue(path: Array<Value>, key: string): Value {
  const base = indexValue(data, path, 0);
  const out = newObj();
  if (base != null && base.kind == OBJ) for (let j = 0; j < len(base); j++) objSet(out, item(base, j), unchecked(base.vals![j]));
  const kids = nodes.get(key);
  for (let j = 0; j < kids.length; j++) {
    const sub = path.slice(0);
    const kv = new Value(); kv.kind = STR; kv.s = kids[j];
    sub.push(kv);
    const v = resolveData(sub);
    if (v != null) objSet(out, kv, v);
  }
  return out;
}

function evalRule(rule: Value, key: string): Value | null {
  if (cache.has(key)) { const h = cache.get(key); return h == UNDEF ? null : h; }
  const v = computeRule(rule);
  cache.set(key, v == null ? UNDEF : v!);
  return v;
}

/** Collects a rule's solutions: 1 set, 2 object, otherwise one value (conflict on a second distinct one). */
class EmitK extends K {
  found: bool = false;
  constructor(public mode: i32, public def: Value, public env: Env, public out: Value | null, public msg: string) { super(); }
  run(): bool {
    const keyT = f(this.def, 2);
    let k: Value | null = null;
    if (!isNil(keyT)) { k = evalTerm(keyT, this.env); if (k == null) return false; }
    if (this.mode == 1) { setAdd(this.out!, k!); return false; }
    const v = evalTerm(f(this.def, 3), this.env);
    if (v == null) return false;
    if (this.mode == 2) {
      const old = objGet(this.out!, k!);
      if (old != null && !equal(old, v)) fail(f(this.def, 6).s + ": eval_conflict_error: object keys must be unique");
      objSet(this.out!, k!, v);
      return false;
    }
    if (this.out != null && !equal(this.out!, v)) fail(f(this.def, 6).s + ": eval_conflict_error: " + this.msg);
    this.out = v;
    this.found = true;
    return false;
  }
}

function computeRule(rule: Value): Value | null {
  const kind = <i32>f(rule, 1).n;
  const defs = f(rule, 4);
  if (kind == 1 || kind == 2) {
    const out = kind == 1 ? newSet() : newObj();
    for (let j = 0; j < len(defs); j++) solutions(item(defs, j), null, new EmitK(kind, item(defs, j), [], out, ""));
    return out;
  }
  return single(rule, null, "complete rules must not produce multiple outputs");
}

function single(rule: Value, args: Array<Value> | null, msg: string): Value | null {
  const defs = f(rule, 4);
  let value: Value | null = null;
  for (let j = 0; j < len(defs); j++) {
    let d = item(defs, j);
    while (true) {
      const em = new EmitK(0, d, [], value, msg);
      solutions(d, args, em);
      if (em.found) { value = em.out; break; }
      const next = f(d, 5);
      if (isNil(next)) break;
      d = next;
    }
  }
  if (value != null) return value;
  return f(rule, 2).b ? evalTerm(f(rule, 3), []) : null;
}

function solutions(def: Value, args: Array<Value> | null, em: EmitK): void {
  const n = <i32>f(def, 0).n;
  const env = new Array<Value | null>(n);
  em.env = env;
  em.def = def;
  const mark = trailEnv.length;
  if (args != null && !isNil(f(def, 1))) {
    const pats = f(def, 1);
    for (let j = 0; j < len(pats); j++) {
      if (!unifyVal(item(pats, j), args[j], env)) { undo(mark); return; }
    }
  }
  evalSteps(f(def, 4), 0, env, em);
  undo(mark);
}

// ---- with ----

class State {
  constructor(public input: Value | null, public data: Value, public overrides: Map<string, Value>, public cache: Map<string, Value>,
    public mockVals: Map<i32, Value>, public mockFns: Map<i32, i32>) {}
}
function save(): State { return new State(input, data, overrides, cache, mockVals, mockFns); }
function restore(s: State): void { input = s.input; data = s.data; overrides = s.overrides; cache = s.cache; mockVals = s.mockVals; mockFns = s.mockFns; }

// Functions replaced by `with`, keyed fnKey(kind, id): by a value, or by another function.
let mockVals = new Map<i32, Value>();
let mockFns = new Map<i32, i32>();
// @ts-ignore: decorator
@inline function fnKey(fk: i32, id: i32): i32 { return (fk << 24) | id; }

function applyWith(mods: Value, vals: Array<Value>): void {
  const ov = new Map<string, Value>();
  const ks = overrides.keys();
  for (let j = 0; j < ks.length; j++) ov.set(ks[j], overrides.get(ks[j]));
  overrides = ov;
  cache = new Map<string, Value>();
  for (let j = 0; j < len(mods); j++) {
    const m = item(mods, j);
    if (<i32>f(m, 0).n == 2) { applyFnMock(m, vals[j]); continue; }
    const path = f(m, 1);
    if (<i32>f(m, 0).n == 0) { input = setPath(input, path, 0, vals[j]); continue; }
    data = setPath(data, path, 0, vals[j]);
    const key = joinStrs(path.items!, len(path));
    overrides.set(key, vals[j]);
    const all = overrides.keys();
    for (let x = 0; x < all.length; x++) if (all[x].startsWith(key + "\u0000")) overrides.delete(all[x]);
  }
}

function applyFnMock(m: Value, v: Value): void {
  const fv = new Map<i32, Value>(), ff = new Map<i32, i32>();
  const kv = mockVals.keys(), kf = mockFns.keys();
  for (let j = 0; j < kv.length; j++) fv.set(kv[j], mockVals.get(kv[j]));
  for (let j = 0; j < kf.length; j++) ff.set(kf[j], mockFns.get(kf[j]));
  mockVals = fv; mockFns = ff;
  const target = f(m, 1);
  const key = fnKey(<i32>f(target, 0).n, <i32>f(target, 1).n);
  if (isNil(f(m, 3))) { mockVals.set(key, v); if (mockFns.has(key)) mockFns.delete(key); return; }
  const as = f(m, 3);
  mockFns.set(key, fnKey(<i32>f(as, 0).n, <i32>f(as, 1).n));
  if (mockVals.has(key)) mockVals.delete(key);
}

function setPath(root: Value | null, path: Value, i: i32, v: Value): Value {
  if (i == len(path)) return v;
  const out = newObj();
  let child: Value | null = null;
  if (root != null && root.kind == OBJ) {
    for (let j = 0; j < len(root); j++) objSet(out, item(root, j), unchecked(root.vals![j]));
    child = objGet(root, item(path, i));
  }
  objSet(out, item(path, i), setPath(child, path, i + 1, v));
  return out;
}

export function vTrue(): Value { return V_TRUE; }
