/**
 * The WASM back end against the reference evaluator (the oracle) on
 * policies that mix every rule kind, and on many seeded random inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileModules, evaluate } from '../index.ts';
import { compileToWasm } from './compile.ts';
import { loadWasmPolicy } from './host.ts';

function run(ref: ReturnType<typeof compileModules>, p: Awaited<ReturnType<typeof loadWasmPolicy>>, ep: string, input: unknown, data: unknown): [string, string] {
  let a: string, b: string;
  try { a = JSON.stringify(evaluate(ref, ep, input, data)); } catch (e) { a = 'error: ' + (e as Error).message; }
  try { b = JSON.stringify(p.evaluate(input, ep)); } catch (e) { b = 'error: ' + (e instanceof Error ? e.message : String(e)); }
  return [a, b];
}

const MIXED = `package t

f(x) := "big" if x > 10
else := "small"
g(x) := x * 2
objs[k] := v if { some k, v in input.o; v > 1 }
names contains n if { some p in input.people; n := p.name }
grouped := {role: ms | some p in input.people; role := p.role; ms := [q.name | some q in input.people; q.role == role]}
all_adults if { every p in input.people { p.age >= 18 } }
sizes := [f(n) | some n in input.nums]
keys := {[1, "a"]: true, {"x": 1}: 2}
nested := data.cfg.limits[input.svc].rps
over := x if { x := nested with data.cfg.limits as {"a": {"rps": 7}} }
doubled := [g(n) | n := input.nums[_]]
not_admin if not input.people[0].role == "admin"
s := {x | some x in input.nums} | {99}
d := {x | some x in input.nums} - {1}
big := input.nums[i] if { some i; input.nums[i] > 10 }
`;

test('rule kinds, functions, else, every, with and comprehensions agree with the reference evaluator (conflicts included)', async () => {
  const eps = ['t/objs', 't/names', 't/grouped', 't/all_adults', 't/sizes', 't/keys', 't/nested', 't/over', 't/doubled', 't/not_admin', 't/s', 't/d', 't/big', 't'];
  const ref = compileModules({ 'p.rego': MIXED }, eps);
  const p = await loadWasmPolicy(await compileToWasm({ 'p.rego': MIXED }, eps));
  const data = { cfg: { limits: { a: { rps: 100 } } } };
  p.setData(data);
  const people = [{ name: 'ann', role: 'admin', age: 30 }, { name: 'bob', role: 'dev', age: 17 }, { name: 'cy', role: 'dev', age: 40 }];
  for (const input of [
    { o: { a: 1, b: 2, c: 3 }, people, nums: [1, 5, 12, 30], svc: 'a' },
    { o: {}, people: people.slice(0, 1), nums: [1, 11], svc: 'b' },
  ]) {
    for (const ep of eps) { const [a, b] = run(ref, p, ep, input, data); assert.equal(b, a, ep); }
  }
});

const AUTHZ = `package mesh.authz

default allow := false

allow if {
  not blocked
  some rule in data.acl[input.dst]
  rule.src == input.src
  input.method in rule.methods
  some prefix in rule.paths
  startswith(input.path, prefix)
}

allow if { not blocked; input.src in data.admins }

blocked if input.score > object.get(data.thresholds, input.dst, 1)
blocked if input.src in data.denylist

reasons contains sprintf("score %v over %v", [input.score, data.thresholds[input.dst]]) if input.score > data.thresholds[input.dst]
reasons contains "denylisted" if input.src in data.denylist
`;

test('a mesh authorization policy decides like the reference evaluator on 300 seeded random requests', async () => {
  const svc = ['cart', 'pay', 'users', 'search'];
  const data = {
    acl: Object.fromEntries(svc.map((d, i) => [d, svc.filter((_, j) => j !== i).map((s, k) => ({ src: s, methods: k ? ['GET'] : ['GET', 'POST'], paths: [`/${d}/`, '/healthz'] }))])),
    thresholds: { cart: 0.8, pay: 0.5 }, admins: ['ops'], denylist: ['legacy'],
  };
  const eps = ['mesh/authz/allow', 'mesh/authz/reasons'];
  const ref = compileModules({ 'a.rego': AUTHZ }, eps);
  const p = await loadWasmPolicy(await compileToWasm({ 'a.rego': AUTHZ }, eps));
  p.setData(data);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)];
  let allowed = 0;
  for (let n = 0; n < 300; n++) {
    const dst = pick(svc);
    const input = { src: pick([...svc, 'ops', 'legacy']), dst, method: pick(['GET', 'POST', 'DELETE']), path: pick([`/${dst}/x`, '/healthz', '/admin']), score: Math.round(rnd() * 100) / 100 };
    for (const ep of eps) { const [a, b] = run(ref, p, ep, input, data); assert.equal(b, a, `${ep} on ${JSON.stringify(input)}`); }
    if (JSON.stringify(p.evaluate(input, eps[0])) === '[{"result":true}]') allowed++;
  }
  assert.ok(allowed > 20 && allowed < 280, `inputs exercise both outcomes (allowed ${allowed}/300)`);
});
