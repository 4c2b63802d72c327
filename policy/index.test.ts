import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkIR, compileModules, evaluate, RegoCompileError, RegoEvalError, runPolicyTests } from './index.ts';

const AUTHZ = `package mesh.authz

default allow := false

allow if {
	input.source.spiffe_id in data.callers[input.destination]
}
`;

test('evaluate returns [{result}] for a defined entrypoint and [] for an undefined one', () => {
  const policy = compileModules({ 'authz.rego': AUTHZ, 'extra.rego': 'package mesh.extra\n\nmaybe if input.flag\n' }, ['mesh/authz/allow', 'mesh/extra/maybe']);
  const data = { callers: { cart: ['spiffe://meshlens.local/ns/shop/sa/web'] } };
  assert.deepEqual(evaluate(policy, 'mesh/authz/allow', { source: { spiffe_id: 'spiffe://meshlens.local/ns/shop/sa/web' }, destination: 'cart' }, data), [{ result: true }]);
  assert.deepEqual(evaluate(policy, 'mesh/authz/allow', { source: { spiffe_id: 'spiffe://x/y' }, destination: 'cart' }, data), [{ result: false }]);
  assert.deepEqual(evaluate(policy, 'mesh/extra/maybe', {}, {}), []);
});

test('compiled IR is plain JSON that survives a serialisation round trip', () => {
  const policy = compileModules({ 'authz.rego': AUTHZ }, ['mesh/authz/allow']);
  assert.deepEqual(JSON.parse(JSON.stringify(policy.ir)), policy.ir);
  assert.deepEqual(policy.ir.builtins, ['internal.member_2']);
  assert.deepEqual(policy.ir.entrypoints, ['mesh/authz/allow']);
});

test('compile errors are RegoCompileError with file, line, column and OPA code', () => {
  assert.throws(() => compileModules({ 'bad.rego': 'package p\n\nallow if {\n\tx > 1\n}\n' }, []), (e: unknown) => {
    assert.ok(e instanceof RegoCompileError);
    assert.equal(e.code, 'rego_unsafe_var_error');
    assert.deepEqual(e.loc, { file: 'bad.rego', line: 4, col: 2 });
    assert.equal(e.message, 'bad.rego:4:2: rego_unsafe_var_error: var x is unsafe');
    return true;
  });
});

test('an entrypoint that names no rule or package is a compile error', () => {
  assert.throws(() => compileModules({ 'a.rego': AUTHZ }, ['mesh/authz/nope']), /entrypoint mesh\/authz\/nope does not refer to a rule or package/);
});

test('conflicts surface as RegoEvalError with OPA wording', () => {
  const policy = compileModules({ 'c.rego': 'package c\n\np := x if some x in input.xs\n' }, ['c/p']);
  assert.throws(() => evaluate(policy, 'c/p', { xs: [1, 2] }), (e: unknown) => e instanceof RegoEvalError && e.code === 'eval_conflict_error');
  assert.deepEqual(evaluate(policy, 'c/p', { xs: [3, 3] }), [{ result: 3 }]);
});

test('runPolicyTests runs test_ rules and counts passes and failures', () => {
  const files = {
    'authz.rego': AUTHZ,
    'authz_test.rego': `package mesh.authz_test

import data.mesh.authz

test_known_caller_allowed if {
	authz.allow with input as {"source": {"spiffe_id": "a"}, "destination": "cart"} with data.callers as {"cart": ["a"]}
}

test_unknown_caller_denied if {
	not authz.allow with input as {"source": {"spiffe_id": "b"}, "destination": "cart"} with data.callers as {"cart": ["a"]}
}

test_wrong_expectation if {
	authz.allow with input as {"source": {"spiffe_id": "b"}, "destination": "cart"} with data.callers as {"cart": ["a"]}
}
`,
  };
  const r = runPolicyTests(files);
  assert.equal(r.passed, 2);
  assert.equal(r.failed, 1);
  assert.deepEqual(r.results.filter((x) => !x.pass).map((x) => x.name), ['data.mesh.authz_test.test_wrong_expectation']);
});

test('function argument names shadow rules of the same package', () => {
  const policy = compileModules({ 'f.rego': 'package f\n\nx := 100\n\ninc(x) := x + 1\n\np := inc(1)\n' }, ['f/p']);
  assert.deepEqual(evaluate(policy, 'f/p'), [{ result: 2 }]);
});

test('time.now_ns comes from the injected clock and is fixed within one query', () => {
  const policy = compileModules({ 't.rego': 'package t\n\np := [time.now_ns(), time.now_ns()]\n' }, ['t/p']);
  let n = 0;
  assert.deepEqual(evaluate(policy, 't/p', undefined, undefined, { nowNs: () => 1000 + n++ }), [{ result: [1000, 1000] }]);
});

test('checkIR accepts compiled plans and names locals outside the frame and unknown steps', () => {
  const policy = compileModules({ 'authz.rego': AUTHZ }, ['mesh/authz/allow']);
  assert.deepEqual(checkIR(policy.ir), []);
  const broken = JSON.parse(JSON.stringify(policy.ir));
  const def = broken.rules.find((r: { path: string[] }) => r.path[2] === 'allow').defs[0];
  def.body.push({ op: 'jump' }, { op: 'test', term: { t: 'l', i: 99 } });
  assert.deepEqual(checkIR(broken), ['data.mesh.authz.allow (authz.rego:5): unknown step jump', `data.mesh.authz.allow (authz.rego:5): local 99 outside frame of ${def.nlocals}`]);
});
