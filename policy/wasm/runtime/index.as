// OPA WebAssembly policy ABI 1.2 over the meshlens IR interpreter.
// Memory is the host's env.memory; the heap is a bump allocator the host
// rewinds with opa_heap_ptr_set (everything the SDK keeps, such as data,
// lives below the pointer it saves). The IR was parsed once at start, so it
// sits below every pointer the host can observe.
import { Value, V_NULL, vNum, vStr, vArr, newObj, objSet, item, len, STR } from "./value";
import { parseJSON, dumpJSON } from "./json";
import { loadRules, beginQuery, resolveData } from "./interp";
import { heapGet, heapSet, irSlot } from "./rt";
import { fail } from "./abort";
import { setSprintfHostId } from "./builtins";

export const opa_wasm_abi_version: i32 = 1;
export const opa_wasm_abi_minor_version: i32 = 2;

// ---- the embedded plan: [rules, entrypoints (paths), host builtin names] ----
const irLen = load<u32>(irSlot());
let plan: Value = V_NULL;
const entrypointPaths = new Array<Array<Value>>();
const entrypointsObj = newObj();
const builtinsObj = newObj();
if (irLen > 0) {
  const p = parseJSON(irSlot() + 4, irLen);
  if (p == null) fail("meshlens: embedded policy plan is not valid JSON");
  plan = p!;
  loadRules(item(plan, 0));
  const eps = item(plan, 1);
  for (let i = 0; i < len(eps); i++) {
    const path = item(eps, i);
    entrypointPaths.push(path.items!);
    let name = "";
    for (let j = 0; j < len(path); j++) { if (j > 0) name += "/"; name += item(path, j).s; }
    objSet(entrypointsObj, vStr(name), vNum(<f64>i));
  }
  const hosts = item(plan, 2);
  for (let i = 0; i < len(hosts); i++) {
    objSet(builtinsObj, item(hosts, i), vNum(<f64>i));
    if (item(hosts, i).s == "sprintf") setSprintfHostId(i);
  }
}

export function builtins(): usize { return changetype<usize>(builtinsObj); }
export function entrypoints(): usize { return changetype<usize>(entrypointsObj); }

export function opa_malloc(n: usize): usize { return __alloc(n); }
export function opa_free(p: usize): void {}
export function opa_heap_ptr_get(): usize { return heapGet(); }
export function opa_heap_ptr_set(p: usize): void { heapSet(p); }

export function opa_json_parse(p: usize, n: usize): usize {
  const v = parseJSON(p, n);
  return v == null ? 0 : changetype<usize>(v);
}
export function opa_value_parse(p: usize, n: usize): usize { return opa_json_parse(p, n); }

export function opa_json_dump(v: usize): usize {
  if (v == 0) return changetype<usize>(String.UTF8.encode("null", true));
  return changetype<usize>(String.UTF8.encode(dumpJSON(changetype<Value>(v)), true));
}
export function opa_value_dump(v: usize): usize { return opa_json_dump(v); }

class Ctx {
  input: usize = 0;
  data: usize = 0;
  entrypoint: i32 = 0;
  result: usize = 0;
}

export function opa_eval_ctx_new(): usize { return changetype<usize>(new Ctx()); }
export function opa_eval_ctx_set_input(c: usize, v: usize): void { changetype<Ctx>(c).input = v; }
export function opa_eval_ctx_set_data(c: usize, v: usize): void { changetype<Ctx>(c).data = v; }
export function opa_eval_ctx_set_entrypoint(c: usize, e: i32): void { changetype<Ctx>(c).entrypoint = e; }
export function opa_eval_ctx_get_result(c: usize): usize { return changetype<Ctx>(c).result; }

/** The result set as OPA gives it: [{"result": v}] or [] when undefined. */
function query(entrypoint: i32, inputAddr: usize, dataAddr: usize): Value {
  if (entrypoint < 0 || entrypoint >= entrypointPaths.length) fail("meshlens: invalid entrypoint id " + entrypoint.toString());
  beginQuery(inputAddr == 0 ? null : changetype<Value>(inputAddr), dataAddr == 0 ? newObj() : changetype<Value>(dataAddr));
  const v = resolveData(entrypointPaths[entrypoint]);
  const rs = new Array<Value>();
  if (v != null) { const o = newObj(); objSet(o, vStr("result"), v!); rs.push(o); }
  return vArr(rs);
}

export function eval(c: usize): i32 {
  const ctx = changetype<Ctx>(c);
  ctx.result = changetype<usize>(query(ctx.entrypoint, ctx.input, ctx.data));
  return 0;
}

/** ABI 1.2 one-shot: input is raw JSON at inputAddr; returns the result set as NUL-terminated JSON. */
export function opa_eval(reserved: i32, entrypoint: i32, dataAddr: usize, inputAddr: usize, inputLen: usize, heapPtr: usize, format: i32): usize {
  heapSet(heapPtr);
  let input: usize = 0;
  if (inputLen > 0) {
    const v = parseJSON(inputAddr, inputLen);
    if (v == null) fail("meshlens: input is not valid JSON");
    input = changetype<usize>(v);
  }
  const rs = query(entrypoint, input, dataAddr);
  return changetype<usize>(String.UTF8.encode(dumpJSON(rs), true));
}
