// JSON (UTF-8 bytes in linear memory) to Value and back. Parse errors give
// undefined (null) so that opa_json_parse can return 0 as OPA's does.
import { Value, V_NULL, V_TRUE, V_FALSE, vNum, vStr, vArr, newObj, objSet, item, len, NULL, BOOL, NUM, STR, ARR, OBJ } from "./value";

let p: usize = 0;
let end: usize = 0;
let bad = false;

export function parseJSON(ptr: usize, n: usize): Value | null {
  p = ptr; end = ptr + n; bad = false;
  const v = parseValue();
  skipWs();
  if (bad || p != end) return null;
  return v;
}

function skipWs(): void {
  while (p < end) {
    const c = load<u8>(p);
    if (c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09) p++; else break;
  }
}

function lit(s: string, v: Value): Value {
  for (let i = 0; i < s.length; i++) {
    if (p >= end || <i32>load<u8>(p) != s.charCodeAt(i)) { bad = true; return V_NULL; }
    p++;
  }
  return v;
}

function parseValue(): Value {
  skipWs();
  if (p >= end) { bad = true; return V_NULL; }
  const c = load<u8>(p);
  if (c == 0x7b) { // {
    p++;
    const o = newObj();
    skipWs();
    if (p < end && load<u8>(p) == 0x7d) { p++; return o; }
    while (!bad) {
      skipWs();
      if (p >= end || load<u8>(p) != 0x22) { bad = true; break; }
      const k = vStr(parseString());
      skipWs();
      if (p >= end || load<u8>(p) != 0x3a) { bad = true; break; }
      p++;
      const v = parseValue();
      objSet(o, k, v);
      skipWs();
      if (p < end && load<u8>(p) == 0x2c) { p++; continue; }
      if (p < end && load<u8>(p) == 0x7d) { p++; break; }
      bad = true;
    }
    return o;
  }
  if (c == 0x5b) { // [
    p++;
    const items = new Array<Value>();
    skipWs();
    if (p < end && load<u8>(p) == 0x5d) { p++; return vArr(items); }
    while (!bad) {
      items.push(parseValue());
      skipWs();
      if (p < end && load<u8>(p) == 0x2c) { p++; continue; }
      if (p < end && load<u8>(p) == 0x5d) { p++; break; }
      bad = true;
    }
    return vArr(items);
  }
  if (c == 0x22) return vStr(parseString());
  if (c == 0x74) return lit("true", V_TRUE);
  if (c == 0x66) return lit("false", V_FALSE);
  if (c == 0x6e) return lit("null", V_NULL);
  const start = p;
  // Fast path: plain integers (the common case in requests) without building a string.
  let acc: f64 = 0;
  let q = p;
  const neg = load<u8>(q) == 0x2d;
  if (neg) q++;
  const digits = q;
  while (q < end && load<u8>(q) >= 0x30 && load<u8>(q) <= 0x39 && q - digits < 15) { acc = acc * 10 + <f64>(load<u8>(q) - 0x30); q++; }
  if (q > digits && (q == end || !isNumChar(load<u8>(q)))) { p = q; return vNum(neg ? -acc : acc); }
  while (p < end) {
    const d = load<u8>(p);
    if ((d >= 0x30 && d <= 0x39) || d == 0x2d || d == 0x2b || d == 0x2e || d == 0x65 || d == 0x45) p++; else break;
  }
  if (p == start) { bad = true; return V_NULL; }
  const f = parseFloat(String.UTF8.decodeUnsafe(start, p - start));
  if (isNaN(f)) bad = true;
  return vNum(f);
}

function isNumChar(d: u8): bool {
  return (d >= 0x30 && d <= 0x39) || d == 0x2d || d == 0x2b || d == 0x2e || d == 0x65 || d == 0x45;
}

function hex(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return <i32>c - 0x41 + 10;
  bad = true;
  return 0;
}

function parseString(): string {
  p++; // opening quote
  let out = "";
  let run = p;
  while (p < end) {
    const c = load<u8>(p);
    if (c == 0x22) {
      const tail = String.UTF8.decodeUnsafe(run, p - run);
      p++;
      return out.length == 0 ? tail : out + tail;
    }
    if (c == 0x5c) {
      out += String.UTF8.decodeUnsafe(run, p - run);
      p++;
      if (p >= end) break;
      const e = load<u8>(p);
      p++;
      if (e == 0x6e) out += "\n";
      else if (e == 0x74) out += "\t";
      else if (e == 0x72) out += "\r";
      else if (e == 0x62) out += "\b";
      else if (e == 0x66) out += "\f";
      else if (e == 0x75) {
        if (p + 4 > end) break;
        const u = (hex(load<u8>(p)) << 12) | (hex(load<u8>(p + 1)) << 8) | (hex(load<u8>(p + 2)) << 4) | hex(load<u8>(p + 3));
        p += 4;
        out += String.fromCharCode(u);
      } else out += String.fromCharCode(e);
      run = p;
      continue;
    }
    p++;
  }
  bad = true;
  return out;
}

export function fmtNum(n: f64): string {
  if (n == Math.floor(n) && Math.abs(n) < 1e15) return (<i64>n).toString();
  return n.toString();
}

export function quote(s: string): string {
  let out = "\"";
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x22 || c == 0x5c || c < 0x20) {
      out += s.substring(run, i);
      if (c == 0x22) out += "\\\"";
      else if (c == 0x5c) out += "\\\\";
      else if (c == 0x0a) out += "\\n";
      else if (c == 0x09) out += "\\t";
      else if (c == 0x0d) out += "\\r";
      else out += "\\u00" + (c < 16 ? "0" : "") + c.toString(16);
      run = i + 1;
    }
  }
  return out + s.substring(run) + "\"";
}

/** JSON text as OPA dumps it: sets as arrays (sorted), non-string object keys as their JSON text. */
export function dumpJSON(v: Value): string {
  const parts = new Array<string>();
  dumpInto(v, parts);
  return parts.join("");
}

function dumpInto(v: Value, out: Array<string>): void {
  switch (v.kind) {
    case NULL: out.push("null"); return;
    case BOOL: out.push(v.b ? "true" : "false"); return;
    case NUM: out.push(fmtNum(v.n)); return;
    case STR: out.push(quote(v.s)); return;
    case OBJ: {
      out.push("{");
      for (let i = 0; i < len(v); i++) {
        if (i > 0) out.push(",");
        const k = item(v, i);
        out.push(k.kind == STR ? quote(k.s) : quote(dumpJSON(k)));
        out.push(":");
        dumpInto(unchecked(v.vals![i]), out);
      }
      out.push("}");
      return;
    }
    default: {
      out.push("[");
      for (let i = 0; i < len(v); i++) { if (i > 0) out.push(","); dumpInto(item(v, i), out); }
      out.push("]");
    }
  }
}

/** Rego's canonical text of a value (OPA's Term.String()): `["a", 1]`, `{"k": 1}`, `{1, 2}`, `set()`. */
export function regoText(v: Value): string {
  switch (v.kind) {
    case NULL: return "null";
    case BOOL: return v.b ? "true" : "false";
    case NUM: return fmtNum(v.n);
    case STR: return quote(v.s);
    case ARR: {
      const parts = new Array<string>(len(v));
      for (let i = 0; i < len(v); i++) parts[i] = regoText(item(v, i));
      return "[" + parts.join(", ") + "]";
    }
    case OBJ: {
      const parts = new Array<string>(len(v));
      for (let i = 0; i < len(v); i++) parts[i] = regoText(item(v, i)) + ": " + regoText(unchecked(v.vals![i]));
      return "{" + parts.join(", ") + "}";
    }
    default: {
      if (len(v) == 0) return "set()";
      const parts = new Array<string>(len(v));
      for (let i = 0; i < len(v); i++) parts[i] = regoText(item(v, i));
      return "{" + parts.join(", ") + "}";
    }
  }
}
