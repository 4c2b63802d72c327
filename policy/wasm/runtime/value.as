// Rego values: one class for every kind so that code never casts. Objects
// keep keys sorted (items) with values alongside (vals); sets keep sorted,
// unique items. Order follows OPA: null < boolean < number < string < array
// < object < set. "Undefined" is a null reference, never a Value.
export const NULL: i32 = 0;
export const BOOL: i32 = 1;
export const NUM: i32 = 2;
export const STR: i32 = 3;
export const ARR: i32 = 4;
export const OBJ: i32 = 5;
export const SET: i32 = 6;

export class Value {
  kind: i32 = 0;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  items: Array<Value> | null = null;
  vals: Array<Value> | null = null;
}

function mk(kind: i32): Value { const v = new Value(); v.kind = kind; return v; }
export const V_NULL = mk(NULL);
export const V_TRUE = mk(BOOL);
V_TRUE.b = true;
export const V_FALSE = mk(BOOL);

export function vBool(b: bool): Value { return b ? V_TRUE : V_FALSE; }
export function vNum(n: f64): Value { const v = mk(NUM); v.n = n; return v; }
export function vStr(s: string): Value { const v = mk(STR); v.s = s; return v; }
export function vArr(items: Array<Value>): Value { const v = mk(ARR); v.items = items; return v; }
export function newObj(): Value { const v = mk(OBJ); v.items = new Array<Value>(); v.vals = new Array<Value>(); return v; }
export function newSet(): Value { const v = mk(SET); v.items = new Array<Value>(); return v; }

export function len(v: Value): i32 { return v.items == null ? 0 : v.items!.length; }
// @ts-ignore: decorator
@inline export function item(v: Value, i: i32): Value { return unchecked(v.items![i]); }

export function compare(a: Value, b: Value): i32 {
  if (a.kind != b.kind) return a.kind < b.kind ? -1 : 1;
  switch (a.kind) {
    case NULL: return 0;
    case BOOL: return a.b == b.b ? 0 : (a.b ? 1 : -1);
    case NUM: return a.n == b.n ? 0 : (a.n < b.n ? -1 : 1);
    case STR: return a.s == b.s ? 0 : (a.s < b.s ? -1 : 1);
    case OBJ: {
      const n = min(len(a), len(b));
      for (let i = 0; i < n; i++) {
        let c = compare(item(a, i), item(b, i));
        if (c == 0) c = compare(unchecked(a.vals![i]), unchecked(b.vals![i]));
        if (c != 0) return c;
      }
      return len(a) - len(b);
    }
    default: {
      const n = min(len(a), len(b));
      for (let i = 0; i < n; i++) { const c = compare(item(a, i), item(b, i)); if (c != 0) return c; }
      return len(a) - len(b);
    }
  }
}

export function equal(a: Value, b: Value): bool { return compare(a, b) == 0; }

/** Index of k in sorted items, or -(insertion point) - 1. */
function search(items: Array<Value>, k: Value): i32 {
  let lo = 0, hi = items.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compare(unchecked(items[mid]), k);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1; else hi = mid - 1;
  }
  return -lo - 1;
}

function insertAt(a: Array<Value>, at: i32, v: Value): void {
  a.push(v);
  for (let j = a.length - 1; j > at; j--) unchecked(a[j] = a[j - 1]);
  unchecked(a[at] = v);
}

export function objGet(o: Value, k: Value): Value | null {
  const i = search(o.items!, k);
  return i >= 0 ? unchecked(o.vals![i]) : null;
}

export function objSet(o: Value, k: Value, v: Value): void {
  const i = search(o.items!, k);
  if (i >= 0) { o.vals![i] = v; return; }
  const at = -i - 1;
  insertAt(o.items!, at, k);
  insertAt(o.vals!, at, v);
}

/** Appends when k sorts after every key (the common case when parsing sorted input); else inserts. */
export function setAdd(s: Value, v: Value): void {
  const items = s.items!;
  const n = items.length;
  if (n == 0 || compare(unchecked(items[n - 1]), v) < 0) { items.push(v); return; }
  const i = search(items, v);
  if (i < 0) insertAt(items, -i - 1, v);
}

export function setHas(s: Value, v: Value): bool { return search(s.items!, v) >= 0; }

export function typeName(v: Value): string {
  switch (v.kind) {
    case NULL: return "null";
    case BOOL: return "boolean";
    case NUM: return "number";
    case STR: return "string";
    case ARR: return "array";
    case OBJ: return "object";
    default: return "set";
  }
}

/** Value at path[from..] below v (objects by key, arrays by integer index, sets by member), or undefined. */
export function indexValue(v: Value | null, path: Array<Value>, from: i32): Value | null {
  let cur = v;
  for (let i = from; i < path.length; i++) {
    if (cur == null) return null;
    const k = unchecked(path[i]);
    const c = cur!;
    if (c.kind == OBJ) cur = objGet(c, k);
    else if (c.kind == ARR) {
      if (k.kind != NUM || k.n != Math.floor(k.n) || k.n < 0 || k.n >= <f64>len(c)) return null;
      cur = item(c, <i32>k.n);
    } else if (c.kind == SET) cur = setHas(c, k) ? k : null;
    else return null;
  }
  return cur;
}
