// The builtins added for OPA's mesh-relevant families run the same in the reference evaluator and,
// delegated by name to the host, in the WebAssembly runtime; strict builtin errors halt both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { compileToIR } from '../rego/compile.ts';
import { StepEvaluator } from '../eval.ts';
import { fromJSON, toJSON } from '../value.ts';
import { compileToWasm } from './compile.ts';
import { loadWasmPolicy } from './host.ts';

const SRC = `package t
r := {
  "units": units.parse_bytes("1.5KiB"),
  "semver": semver.compare("1.2.3-rc.1", "1.2.3"),
  "bits": bits.xor(12, 10),
  "hmac": crypto.hmac.sha256("msg", "key"),
  "flat": array.flatten([[1], [2, [3]]]),
  "reach": graph.reachable({"a": ["b"], "b": []}, ["a"]),
  "cidrs": net.cidr_merge(["10.0.0.0/25", "10.0.0.128/25"]),
  "date": time.date(time.parse_rfc3339_ns(input.at)),
  "jwt": io.jwt.decode(input.token)[1].sub,
  "split": strings.split_n("a/b/c", "/", -1),
}
bad := 1 if { units.parse("12 K") }
`;
const token = ['{"alg":"none"}', '{"sub":"alice"}'].map((s) => Buffer.from(s).toString('base64url')).join('.') + '.';
const input = { at: '2024-02-29T12:00:00Z', token };

function reference(ep: string, strict: boolean): unknown {
  const ev = new StepEvaluator(compileToIR({ 't.rego': SRC }, [ep]), fromJSON(input), fromJSON({}), { strictBuiltinErrors: strict });
  const v = ev.resolveData(ep.split('/'));
  return v === undefined ? undefined : toJSON(v);
}

test('new builtins give the same answers in the reference evaluator and through wasm host delegation', async () => {
  const want = {
    units: 1536, semver: -1, bits: 6, hmac: createHmac('sha256', 'key').update('msg').digest('hex'), flat: [1, 2, [3]], reach: ['a', 'b'],
    cidrs: ['10.0.0.0/24'], date: [2024, 2, 29], jwt: 'alice', split: ['c'],
  };
  assert.deepEqual(reference('t/r', false), want);
  const policy = await loadWasmPolicy(await compileToWasm({ 't.rego': SRC }, ['t/r']));
  assert.deepEqual(policy.evaluate(input, 't/r'), [{ result: want }]);
});

test('a builtin error is undefined by default and halts evaluation with strict builtin errors', async () => {
  assert.equal(reference('t/bad', false), undefined);
  assert.throws(() => reference('t/bad', true), /eval_builtin_error: units.parse: spaces not allowed/);
  const wasm = await compileToWasm({ 't.rego': SRC }, ['t/bad']);
  assert.deepEqual((await loadWasmPolicy(wasm)).evaluate(input, 't/bad'), []);
  const strict = await loadWasmPolicy(wasm, { strictBuiltinErrors: true });
  assert.throws(() => strict.evaluate(input, 't/bad'), /spaces not allowed/);
});
