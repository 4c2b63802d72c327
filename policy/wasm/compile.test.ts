import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { compileToWasm } from './compile.ts';

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
