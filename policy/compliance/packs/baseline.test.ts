// The built-in control pack (./baseline): its Rego tests pass under our
// compiler's reference evaluator, every control is tested, and the pack
// compiled to WebAssembly answers exactly as the reference evaluator does
// on the tests' own evidence documents (a good hour of the demo shop, one
// with something wrong for every control, one without traffic, an empty one).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileModules, compileToWasm, controlEntrypoint, evaluate, loadPack, loadWasmPolicy, runPolicyTests, runControls, type EvidenceDocument } from '../../index.ts';

const pack = loadPack('baseline');
const entrypoints = pack.controls.map(controlEntrypoint);
/** Every module, tests included: the fixtures live in fixtures_test.rego. */
const reference = compileModules({ ...pack.modules, ...pack.tests }, []);
const fixture = (name: string): Record<string, unknown> => {
  const rs = evaluate(reference, `meshlens/baseline/fixtures/${name}`);
  assert.equal(rs.length, 1, `fixture ${name} is defined`);
  return rs[0].result as Record<string, unknown>;
};
const SAMPLES = { passing: fixture('passing'), troubled: fixture('troubled'), no_traffic: fixture('no_traffic'), empty: {} };

test('the pack defines at least the twelve controls, each with its own test file', () => {
  for (const id of ['mtls', 'allowed_callers', 'ingress', 'decisions_recorded', 'no_secrets', 'trail_complete', 'trail_integrity', 'signed_taps', 'retention', 'change_records', 'alerts_responded', 'actions_verified']) {
    assert.ok(pack.controls.includes(id), `control ${id}`);
  }
  for (const id of pack.controls) assert.ok(`${id}_test.rego` in pack.tests, `${id}_test.rego`);
});

test('every Rego test of the pack passes under the reference evaluator', () => {
  const r = runPolicyTests({ ...pack.modules, ...pack.tests });
  assert.deepEqual(r.results.filter((t) => !t.pass).map((t) => `${t.name}${t.error ? `: ${t.error}` : ''}`), []);
  // At least one test for every control, and more than one for most.
  assert.ok(r.passed >= 3 * pack.controls.length, `${r.passed} tests`);
});

test("the tests' parameters are the ones data.json ships", () => {
  assert.deepEqual(fixture('params'), pack.data.compliance);
});

test('on the demo hour every control passes; on the troubled one every control fails', () => {
  for (const [sample, want] of [['passing', 'pass'], ['troubled', 'fail']] as const) {
    for (const ep of entrypoints) {
      const [r] = evaluate(reference, ep, SAMPLES[sample], pack.data);
      assert.equal((r.result as { status: string }).status, want, `${ep} on ${sample}: ${(r.result as { summary: string }).summary}`);
    }
  }
});

test('an idle hour passes only retention, and an empty evidence document passes nothing', () => {
  const idle: Record<string, string> = { retention: 'pass', change_records: 'not_applicable', alerts_responded: 'not_applicable', actions_verified: 'not_applicable' };
  for (const id of pack.controls) {
    const [r] = evaluate(reference, controlEntrypoint(id), SAMPLES.no_traffic, pack.data);
    const { status, summary } = r.result as { status: string; summary: string };
    assert.equal(status, idle[id] ?? 'insufficient_evidence', `${id} on an idle hour: ${summary}`);
    const [e] = evaluate(reference, controlEntrypoint(id), SAMPLES.empty, pack.data);
    assert.equal((e.result as { status: string }).status, 'insufficient_evidence', `${id} on {}`);
  }
});

test('compiled to WebAssembly, the pack answers every control exactly as the reference evaluator', async () => {
  const policy = await loadWasmPolicy(await compileToWasm(pack.modules, entrypoints));
  policy.setData(pack.data);
  const modules = compileModules(pack.modules, entrypoints);
  for (const [name, input] of Object.entries(SAMPLES)) {
    for (const ep of entrypoints) {
      const want = evaluate(modules, ep, input, pack.data);
      const got = policy.evaluate(input, ep) as { result: unknown }[];
      assert.deepEqual(got.map((r) => r.result), want.map((r) => r.result), `${ep} on ${name}`);
    }
  }
});

test('every answer keeps the report contract when run as a pack', async () => {
  for (const [name, input] of Object.entries(SAMPLES)) {
    const results = await runControls(pack, input as unknown as EvidenceDocument);
    assert.deepEqual(results.filter((r) => r.error).map((r) => `${r.id}: ${r.error}`), [], name);
    for (const r of results) {
      assert.ok(r.summary.length > 0 && !r.summary.includes('%!'), `${r.id} on ${name}: ${r.summary}`);
      for (const framework of ['pci_dss_4_0', 'soc2', 'nist_800_207', 'nist_800_204']) assert.ok(Array.isArray(r.clauses[framework]), `${r.id} ${framework}`);
    }
  }
});
