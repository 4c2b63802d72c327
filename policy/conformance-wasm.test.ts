/**
 * The conformance suite (conformance/cases) through the WebAssembly back
 * end: Rego → IR → plan embedded in the AssemblyScript runtime → loaded and
 * evaluated by the real @open-policy-agent/opa-wasm SDK. Cases listed in
 * wasm/known-gaps.ts run as todo; every other case must pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileToWasm, loadWasmPolicy, RegoCompileError } from './index.ts';
import { WASM_KNOWN_GAPS } from './wasm/known-gaps.ts';
import { cases, canon, type Case } from './conformance/cases.ts';

async function runCase(c: Case): Promise<void> {
  const w = c.want;
  let wasm: Uint8Array;
  try {
    wasm = await compileToWasm(c.modules, [c.query]);
  } catch (e) {
    if (e instanceof RegoCompileError && 'compile_error' in w) { assert.ok(e.message.includes(w.compile_error), e.message); return; }
    throw e;
  }
  if ('compile_error' in w) assert.fail(`expected compile error ${w.compile_error}, compiled fine`);
  const policy = await loadWasmPolicy(wasm, { nowNs: () => 1.7e18 });
  if (c.data !== undefined) policy.setData(c.data as object);
  const ep = c.query.split(/[/.]/).filter(Boolean).join('/');
  if ('error' in w) {
    assert.throws(() => policy.evaluate(c.input, ep), (e: unknown) => String(e instanceof Error ? e.message : e).includes(w.error));
    return;
  }
  const rs = policy.evaluate(c.input, ep) as { result: unknown }[];
  if ('undefined' in w) assert.deepEqual(rs, []);
  else { assert.equal(rs.length, 1, 'result is undefined'); assert.equal(canon(rs[0].result), canon(w.result)); }
}

test('every known WASM gap names a case that exists', () => {
  const names = new Set(cases.map((c) => c.name));
  assert.deepEqual(Object.keys(WASM_KNOWN_GAPS).filter((n) => !names.has(n)), []);
});

for (const c of cases) {
  const gap = WASM_KNOWN_GAPS[c.name];
  test(c.name, gap ? { todo: gap } : {}, () => runCase(c));
}
