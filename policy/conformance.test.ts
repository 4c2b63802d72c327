/**
 * Conformance suite: every case in conformance/cases/*.json runs through
 * parse → compile → IR (JSON round trip, as the WASM runtime will receive
 * it, checked against the IR contract) → reference evaluator, and is compared with what OPA returns.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileModules, evaluate, RegoCompileError, type CompiledPolicy } from './index.ts';
import { checkIR } from './ir-check.ts';
import { cases, canon } from './conformance/cases.ts';

test('conformance suite has at least 150 cases with unique names', () => {
  assert.ok(cases.length >= 150, `only ${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
});

for (const c of cases) {
  test(c.name, () => {
    const w = c.want;
    let policy: CompiledPolicy;
    try {
      policy = compileModules(c.modules, [c.query]);
    } catch (e) {
      if (!(e instanceof RegoCompileError)) throw e;
      if ('compile_error' in w) { assert.ok(e.message.includes(w.compile_error), `compile error ${JSON.stringify(e.message)} lacks ${JSON.stringify(w.compile_error)}`); return; }
      throw e;
    }
    if ('compile_error' in w) assert.fail(`expected compile error ${w.compile_error}, compiled fine`);
    const roundTripped = { ...policy, ir: JSON.parse(JSON.stringify(policy.ir)) };
    assert.deepEqual(checkIR(roundTripped.ir), [], 'IR breaks the contract in ir.ts');
    if ('error' in w) {
      assert.throws(() => evaluate(roundTripped, c.query, c.input, c.data, { nowNs: () => 1.7e18 }), (e: Error) => e.message.includes(w.error));
      return;
    }
    const rs = evaluate(roundTripped, c.query, c.input, c.data, { nowNs: () => 1.7e18 });
    if ('undefined' in w) assert.deepEqual(rs, []);
    else { assert.equal(rs.length, 1, 'result is undefined'); assert.equal(canon(rs[0].result), canon(w.result)); }
  });
}
