import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { compileToWasm } from './compile.ts';
import { loadWasmPolicy } from './host.ts';

const AUTHZ = 'package authz\n\ndefault allow := false\n\nallow if input.method == "GET"\n';

test('a compiled policy loads in the plain opa-wasm SDK and answers [{result}] per input', async () => {
  const policy = await loadPolicy(await compileToWasm({ 'authz.rego': AUTHZ }, ['authz/allow']));
  assert.deepEqual(policy.evaluate({ method: 'GET' }, 'authz/allow'), [{ result: true }]);
  assert.deepEqual(policy.evaluate({ method: 'POST' }, 'authz/allow'), [{ result: false }]);
  assert.deepEqual(policy.entrypoints, { 'authz/allow': 0 });
});

test('an undefined entrypoint gives the empty result set', async () => {
  const policy = await loadPolicy(await compileToWasm({ 'p.rego': 'package p\n\nq if input.x > 1\n' }, ['p/q']));
  assert.deepEqual(policy.evaluate({ x: 0 }, 'p/q'), []);
  assert.deepEqual(policy.evaluate({ x: 2 }, 'p/q'), [{ result: true }]);
});

test('data set through the SDK is seen by rules, and repeated evaluations reuse the rewound heap', async () => {
  const policy = await loadPolicy(await compileToWasm({ 'p.rego': 'package p\n\nallowed contains u if { some u in data.users; u != input.skip }\n' }, ['p/allowed']));
  policy.setData({ users: ['ann', 'bob', 'cy'] });
  for (let i = 0; i < 200; i++) assert.deepEqual(policy.evaluate({ skip: 'bob' }, 'p/allowed'), [{ result: ['ann', 'cy'] }]);
});

test('a conflict aborts evaluation with OPA\'s eval_conflict_error', async () => {
  const policy = await loadPolicy(await compileToWasm({ 'p.rego': 'package p\n\nv := 1 if input.a\nv := 2 if input.b\n' }, ['p/v']));
  assert.throws(() => policy.evaluate({ a: true, b: true }, 'p/v'), (e: unknown) => String(e).includes('eval_conflict_error'));
  assert.deepEqual(policy.evaluate({ a: true }, 'p/v'), [{ result: 1 }]);
});

test('non-ASCII strings cross the ABI both ways as UTF-8', async () => {
  const policy = await loadPolicy(await compileToWasm({ 'p.rego': 'package p\n\ngreeting := concat(" ", [input.name, "✓ 👋"]) if startswith(input.name, "Zoë")\n' }, ['p/greeting']));
  assert.deepEqual(policy.evaluate({ name: 'Zoë "Q" \\ \n' }, 'p/greeting'), [{ result: 'Zoë "Q" \\ \n ✓ 👋' }]);
});

test('the pre-1.2 ABI path (eval context exports) gives the same result set', async () => {
  const wasm = await compileToWasm({ 'authz.rego': AUTHZ }, ['authz/allow']);
  const memory = new WebAssembly.Memory({ initial: 5 });
  const cstr = (a: number) => { const b = new Uint8Array(memory.buffer); let e = a; while (b[e]) e++; return new TextDecoder().decode(b.subarray(a, e)); };
  const none = () => { throw new Error('unexpected host call'); };
  const env = { memory, opa_abort: (a: number) => { throw new Error(cstr(a)); }, opa_println: none, opa_builtin0: none, opa_builtin1: none, opa_builtin2: none, opa_builtin3: none, opa_builtin4: none };
  const { instance } = await WebAssembly.instantiate(wasm as BufferSource, { env });
  const x = instance.exports as Record<string, CallableFunction>;
  const json = (v: unknown) => { const b = new TextEncoder().encode(JSON.stringify(v)); const a = x.opa_malloc(b.length); new Uint8Array(memory.buffer).set(b, a); return x.opa_json_parse(a, b.length) as number; };
  const data = json({});
  const heap = x.opa_heap_ptr_get();
  for (const [method, want] of [['GET', true], ['PUT', false]] as const) {
    x.opa_heap_ptr_set(heap);
    const ctx = x.opa_eval_ctx_new();
    x.opa_eval_ctx_set_input(ctx, json({ method }));
    x.opa_eval_ctx_set_data(ctx, data);
    x.opa_eval_ctx_set_entrypoint(ctx, 0);
    assert.equal(x.eval(ctx), 0);
    assert.deepEqual(JSON.parse(cstr(x.opa_json_dump(x.opa_eval_ctx_get_result(ctx)))), [{ result: want }]);
  }
});

test('a plan larger than the SDK\'s default 5 pages loads with loadWasmPolicy (memory sized from the module)', async () => {
  const names = Array.from({ length: 30000 }, (_, i) => `"service-${i}-with-a-long-name"`).join(', ');
  const wasm = await compileToWasm({ 'p.rego': `package p\n\nknown := {${names}}\n\nok if input.s in known\n` }, ['p/ok']);
  const policy = await loadWasmPolicy(wasm);
  assert.deepEqual(policy.evaluate({ s: 'service-29999-with-a-long-name' }, 'p/ok'), [{ result: true }]);
  assert.deepEqual(policy.evaluate({ s: 'nope' }, 'p/ok'), []);
});

test('builtins the runtime lacks are delegated to the host through opa_builtinN and listed by builtins()', async () => {
  const policy = await loadWasmPolicy(await compileToWasm({ 'p.rego': 'package p\n\nm := regex.match("^a+b$", input.s)\n' }, ['p/m']));
  assert.deepEqual(policy.evaluate({ s: 'aaab' }, 'p/m'), [{ result: true }]);
  assert.deepEqual(policy.evaluate({ s: 'ba' }, 'p/m'), [{ result: false }]);
});
