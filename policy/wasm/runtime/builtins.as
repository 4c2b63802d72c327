// Builtins the runtime implements natively; every other builtin the policy
// calls goes to the host through env.opa_builtinN (ids from the builtins() export).
// Native ids (B_*) are generated from policy/wasm/natives.ts at build time.
import { Value, V_NULL, vBool, vNum, vStr, vArr, newObj, newSet, objGet, objSet, setAdd, setHas, compare, equal, item, len, typeName, NULL, BOOL, NUM, STR, ARR, OBJ, SET } from "./value";
import * as N from "./natives";
import { regoText } from "./json";

/** Host id of sprintf, or -1: set from the plan's host builtin list at start. */
export let sprintfHostId: i32 = -1;
export function setSprintfHostId(id: i32): void { sprintfHostId = id; }

// OPA hands Go's fmt numbers and strings as themselves and every other value
// as its Rego text; the SDK's JavaScript sprintf would print JSON-ish text, so
// the runtime turns those arguments into their Rego text before the call.
function sprintfArgs(a: Array<Value>): Array<Value> {
  if (a.length != 2 || a[1].kind != ARR) return a;
  const xs = a[1].items!;
  const out = new Array<Value>(xs.length);
  for (let i = 0; i < xs.length; i++) { const x = xs[i]; out[i] = x.kind == NUM || x.kind == STR ? x : vStr(regoText(x)); }
  return [a[0], vArr(out)];
}

@external("env", "opa_builtin0") declare function opa_builtin0(id: i32, ctx: usize): usize;
@external("env", "opa_builtin1") declare function opa_builtin1(id: i32, ctx: usize, a: usize): usize;
@external("env", "opa_builtin2") declare function opa_builtin2(id: i32, ctx: usize, a: usize, b: usize): usize;
@external("env", "opa_builtin3") declare function opa_builtin3(id: i32, ctx: usize, a: usize, b: usize, c: usize): usize;
@external("env", "opa_builtin4") declare function opa_builtin4(id: i32, ctx: usize, a: usize, b: usize, c: usize, d: usize): usize;

// @ts-ignore: decorator
@inline function ptr(v: Value): usize { return changetype<usize>(v); }

export function callHost(id: i32, args: Array<Value>): Value | null {
  const a = id == sprintfHostId ? sprintfArgs(args) : args;
  let r: usize = 0;
  switch (a.length) {
    case 0: r = opa_builtin0(id, 0); break;
    case 1: r = opa_builtin1(id, 0, ptr(a[0])); break;
    case 2: r = opa_builtin2(id, 0, ptr(a[0]), ptr(a[1])); break;
    case 3: r = opa_builtin3(id, 0, ptr(a[0]), ptr(a[1]), ptr(a[2])); break;
    default: r = opa_builtin4(id, 0, ptr(a[0]), ptr(a[1]), ptr(a[2]), ptr(a[3]));
  }
  return r == 0 ? null : changetype<Value>(r);
}

function isInt(v: Value): bool { return v.kind == NUM && v.n == Math.floor(v.n) && isFinite(v.n); }
function num2(a: Array<Value>): bool { return a[0].kind == NUM && a[1].kind == NUM; }
function strs(a: Array<Value>, n: i32): bool { for (let i = 0; i < n; i++) if (a[i].kind != STR) return false; return true; }

function setOp(a: Value, b: Value, op: i32): Value {
  const out = newSet();
  if (op == 0) { for (let i = 0; i < len(a); i++) setAdd(out, item(a, i)); for (let i = 0; i < len(b); i++) setAdd(out, item(b, i)); }
  else for (let i = 0; i < len(a); i++) { const x = item(a, i); if (setHas(b, x) == (op == 1)) setAdd(out, x); }
  return out;
}

function member(v: Value, c: Value, k: Value | null): bool {
  if (c.kind == SET) return k == null && setHas(c, v);
  for (let i = 0; i < len(c); i++) {
    const x = c.kind == OBJ ? unchecked(c.vals![i]) : item(c, i);
    if (!equal(x, v)) continue;
    if (k == null) return true;
    const key = c.kind == OBJ ? item(c, i) : vNum(<f64>i);
    if (equal(key, k!)) return true;
  }
  return false;
}

function collection(v: Value): bool { return v.kind == ARR || v.kind == SET; }

export function callNative(id: i32, a: Array<Value>): Value | null {
  switch (id) {
    case N.B_EQUAL: return vBool(equal(a[0], a[1]));
    case N.B_NEQ: return vBool(!equal(a[0], a[1]));
    case N.B_LT: return vBool(compare(a[0], a[1]) < 0);
    case N.B_LTE: return vBool(compare(a[0], a[1]) <= 0);
    case N.B_GT: return vBool(compare(a[0], a[1]) > 0);
    case N.B_GTE: return vBool(compare(a[0], a[1]) >= 0);
    case N.B_PLUS: return num2(a) ? vNum(a[0].n + a[1].n) : null;
    case N.B_MUL: return num2(a) ? vNum(a[0].n * a[1].n) : null;
    case N.B_MINUS:
      if (a[0].kind == SET && a[1].kind == SET) return setOp(a[0], a[1], 2);
      return num2(a) ? vNum(a[0].n - a[1].n) : null;
    case N.B_DIV: return num2(a) && a[1].n != 0 ? vNum(a[0].n / a[1].n) : null;
    case N.B_REM: return isInt(a[0]) && isInt(a[1]) && a[1].n != 0 ? vNum(a[0].n % a[1].n) : null;
    case N.B_OR: return a[0].kind == SET && a[1].kind == SET ? setOp(a[0], a[1], 0) : null;
    case N.B_AND: return a[0].kind == SET && a[1].kind == SET ? setOp(a[0], a[1], 1) : null;
    case N.B_INTERNAL_MEMBER_2: return vBool(member(a[0], a[1], null));
    case N.B_INTERNAL_MEMBER_3: return vBool(member(a[1], a[2], a[0]));
    case N.B_COUNT: {
      const v = a[0];
      if (v.kind == STR) return vNum(<f64>codePoints(v.s));
      if (v.kind == ARR || v.kind == OBJ || v.kind == SET) return vNum(<f64>len(v));
      return null;
    }
    case N.B_SUM: case N.B_PRODUCT: {
      if (!collection(a[0])) return null;
      let acc: f64 = id == N.B_SUM ? 0 : 1;
      for (let i = 0; i < len(a[0]); i++) { const x = item(a[0], i); if (x.kind != NUM) return null; acc = id == N.B_SUM ? acc + x.n : acc * x.n; }
      return vNum(acc);
    }
    case N.B_MAX: case N.B_MIN: {
      if (!collection(a[0]) || len(a[0]) == 0) return null;
      let best = item(a[0], 0);
      for (let i = 1; i < len(a[0]); i++) { const c = compare(item(a[0], i), best); if (id == N.B_MAX ? c > 0 : c < 0) best = item(a[0], i); }
      return best;
    }
    case N.B_SORT: {
      if (!collection(a[0])) return null;
      const out = a[0].items!.slice(0);
      out.sort((x: Value, y: Value): i32 => compare(x, y));
      return vArr(out);
    }
    case N.B_ABS: return a[0].kind == NUM ? vNum(Math.abs(a[0].n)) : null;
    case N.B_ROUND: return a[0].kind == NUM ? vNum(Math.sign(a[0].n) * Math.round(Math.abs(a[0].n))) : null;
    case N.B_CEIL: return a[0].kind == NUM ? vNum(Math.ceil(a[0].n)) : null;
    case N.B_FLOOR: return a[0].kind == NUM ? vNum(Math.floor(a[0].n)) : null;
    case N.B_IS_NULL: return vBool(a[0].kind == NULL);
    case N.B_IS_BOOLEAN: return vBool(a[0].kind == BOOL);
    case N.B_IS_NUMBER: return vBool(a[0].kind == NUM);
    case N.B_IS_STRING: return vBool(a[0].kind == STR);
    case N.B_IS_ARRAY: return vBool(a[0].kind == ARR);
    case N.B_IS_OBJECT: return vBool(a[0].kind == OBJ);
    case N.B_IS_SET: return vBool(a[0].kind == SET);
    case N.B_TYPE_NAME: return vStr(typeName(a[0]));
    case N.B_STARTSWITH: return strs(a, 2) ? vBool(a[0].s.startsWith(a[1].s)) : null;
    case N.B_ENDSWITH: return strs(a, 2) ? vBool(a[0].s.endsWith(a[1].s)) : null;
    case N.B_CONTAINS: return strs(a, 2) ? vBool(a[0].s.includes(a[1].s)) : null;
    case N.B_LOWER: return strs(a, 1) ? vStr(a[0].s.toLowerCase()) : null;
    case N.B_UPPER: return strs(a, 1) ? vStr(a[0].s.toUpperCase()) : null;
    case N.B_TRIM_SPACE: return strs(a, 1) ? vStr(a[0].s.trim()) : null;
    case N.B_INDEXOF: return strs(a, 2) ? vNum(<f64>a[0].s.indexOf(a[1].s)) : null;
    case N.B_SPLIT: {
      if (!strs(a, 2)) return null;
      const parts = a[0].s.split(a[1].s);
      const out = new Array<Value>(parts.length);
      for (let i = 0; i < parts.length; i++) out[i] = vStr(parts[i]);
      return vArr(out);
    }
    case N.B_CONCAT: {
      if (a[0].kind != STR || !collection(a[1])) return null;
      let s = "";
      for (let i = 0; i < len(a[1]); i++) { const x = item(a[1], i); if (x.kind != STR) return null; if (i > 0) s += a[0].s; s += x.s; }
      return vStr(s);
    }
    case N.B_ARRAY_CONCAT: {
      if (a[0].kind != ARR || a[1].kind != ARR) return null;
      return vArr(a[0].items!.concat(a[1].items!));
    }
    case N.B_OBJECT_GET: {
      if (a[0].kind != OBJ) return null;
      if (a[1].kind != ARR) { const v = objGet(a[0], a[1]); return v == null ? a[2] : v; }
      let cur: Value = a[0];
      for (let i = 0; i < len(a[1]); i++) {
        const k = item(a[1], i);
        let nx: Value | null = null;
        if (cur.kind == OBJ) nx = objGet(cur, k);
        else if (cur.kind == ARR && isInt(k) && k.n >= 0 && k.n < <f64>len(cur)) nx = item(cur, <i32>k.n);
        else if (cur.kind == SET && setHas(cur, k)) nx = k;
        if (nx == null) return a[2];
        cur = nx!;
      }
      return cur;
    }
    case N.B_OBJECT_KEYS: {
      if (a[0].kind != OBJ) return null;
      const out = newSet();
      for (let i = 0; i < len(a[0]); i++) out.items!.push(item(a[0], i));
      return out;
    }
    case N.B_ARRAY_REVERSE: {
      if (a[0].kind != ARR) return null;
      const out = a[0].items!.slice(0);
      out.reverse();
      return vArr(out);
    }
    case N.B_UNION: case N.B_INTERSECTION: {
      if (a[0].kind != SET) return null;
      let acc: Value | null = null;
      for (let i = 0; i < len(a[0]); i++) {
        const x = item(a[0], i);
        if (x.kind != SET) return null;
        acc = acc == null ? x : setOp(acc!, x, id == N.B_UNION ? 0 : 1);
      }
      return acc == null ? newSet() : acc;
    }
    default: return null;
  }
}

function codePoints(s: string): i32 {
  let n = 0;
  for (let i = 0; i < s.length; i++) { const c = s.charCodeAt(i); if (c < 0xdc00 || c > 0xdfff) n++; }
  return n;
}

