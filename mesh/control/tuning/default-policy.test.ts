// The shipped tuning policy: its own test_* rules pass (as `meshlens policy
// test` runs them), and compiled to WebAssembly it answers the contract the
// engine checks, through the same loader the control plane uses.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compileToWasm, runPolicyTests, writeBundle } from '../../../policy/index.ts';
import { TUNING_ENTRYPOINT, type Signals, type TuningInput } from './contract.ts';
import { DEFAULT_TUNING_POLICY_DIR, TuningPolicy } from './tuning-policy.ts';

const files = Object.fromEntries(readdirSync(DEFAULT_TUNING_POLICY_DIR).filter((f) => f.endsWith('.rego'))
  .map((f) => [join(DEFAULT_TUNING_POLICY_DIR, f), readFileSync(join(DEFAULT_TUNING_POLICY_DIR, f), 'utf8')]));

test('every test_* rule of the shipped tuning policy passes', () => {
  const r = runPolicyTests(files);
  assert.deepEqual(r.results.filter((x) => !x.pass), []);
  assert.ok(r.passed >= 15, `${r.passed} tests`);
});

const sig = (over: Partial<Signals> = {}): Signals => ({ requests: 600, errors: 6, error_rate: 0.01, rps: 20, p50_ms: 10, p99_ms: 40, denies: 0, window_s: 30, ...over });

function input(sickShare: number): TuningInput {
  const inst = (name: string, errRate: number, peers: number) => ({
    service: 'catalog', instance: name, version: 'v1', recent: sig({ requests: 100, errors: Math.round(100 * errRate), error_rate: errRate }),
    peers: sig({ requests: 100, errors: Math.round(100 * peers), error_rate: peers }), ejections: 0, ejected: false,
  });
  return {
    now: 1_000_000, recent_s: 30, baseline_s: 600, alerts: [],
    services: { catalog: { replicas: 2, instances: [], recent: sig(), baseline: sig({ window_s: 600 }), rps_per_replica: 10 } },
    edges: {}, versions: {},
    instances: { 'catalog-1': inst('catalog-1', 0.01, sickShare), 'catalog-2': inst('catalog-2', sickShare, 0.01) },
    state: { routes: {}, replicas: { catalog: 2 }, ejected: [], rate_limits: {}, rollouts: [] },
    recent_actions: [],
  };
}

test('compiled to WebAssembly, the shipped policy ejects a sick instance and leaves a healthy mesh alone', async () => {
  const bundle = writeBundle(await compileToWasm(files, [TUNING_ENTRYPOINT]), [TUNING_ENTRYPOINT], {}, {});
  const p = new TuningPolicy();
  await p.set(bundle, 'shipped');
  assert.deepEqual(p.propose(input(0.01)).actions, []);
  const sick = p.propose(input(0.5));
  assert.deepEqual(sick.problems, []);
  assert.deepEqual(sick.actions.map((a) => [a.kind, a.kind === 'eject' ? a.instance : '']), [['eject', 'catalog-2']]);
  assert.match(sick.actions[0].reason, /^catalog-2 fails 50% of 100 requests, the rest of catalog 1%$/);
});
