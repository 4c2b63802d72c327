// The config change log on real parts: a real control plane with sidecars
// on their config streams, operators on its API, the tuning engine, and a
// real chdb store whose config_changes the log fills.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createChdbStore, IngestError, type ConfigChange, type TapStore } from '../../ingest/index.ts';
import { bundleDigest, compileToWasm, writeBundle } from '../../policy/index.ts';
import { ConfigLog } from './config-log.ts';
import { AUTHZ_ENTRYPOINT } from './index.ts';
import { startTestControl, type TestControl } from './testing/mesh-clients.ts';
import { DEFAULT_TUNING_SETTINGS, storeSources } from './tuning/index.ts';
import { constantPolicy, tuningBundle } from './tuning/testing/tuning-bundle.ts';

async function authzBundle(reason: string): Promise<Buffer> {
  const src = `package meshlens.authz\n\ndecision := {"allow": false, "reason": ${JSON.stringify(reason)}}\n`;
  return writeBundle(await compileToWasm({ 'authz.rego': src }, [AUTHZ_ENTRYPOINT]), [AUTHZ_ENTRYPOINT], {}, {});
}

/** A fresh chdb store in a temp dir, closed and removed after the test. */
async function freshStore(t: { after(fn: () => Promise<void>): void }): Promise<TapStore> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-config-log-'));
  const store = createChdbStore({ dataDir: dir });
  await store.init();
  t.after(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }); });
  return store;
}

/** payments-1 (v1) and payments-2 (v2) on their config streams, registered and pushed to. */
async function payments(tc: TestControl) {
  const p1 = (await tc.sidecar('payments', 'payments-1')).stream('inbound=127.0.0.1:9001&labels=version=v1');
  const p2 = (await tc.sidecar('payments', 'payments-2')).stream('inbound=127.0.0.1:9002&labels=version=v2');
  const first = await p1.next(() => true);
  await p1.next((s) => s.clusters.some((c) => c.endpoints.length === 2) && s.version > first.version);
  return { p1, p2, close: () => { p1.close(); p2.close(); } };
}

const parsed = (c: ConfigChange) => JSON.parse(c.detail) as unknown;

test('an operator\'s policy, route, ejection, rate limit and route resilience changes are each in the store\'s log with the version the API answered, the policy\'s digest and actor operator, after one startup record per kind', async (t) => {
  const store = await freshStore(t);
  const first = await authzBundle('first');
  const t0 = Date.now();
  const log = new ConfigLog(store);
  const tc = await startTestControl({ changes: log, policyBundle: { bytes: first, source: 'authz.rego' } });
  t.after(() => tc.close());
  const m = await payments(tc);
  t.after(() => m.close());
  const op = tc.operator();
  const answered = async (method: string, path: string, body?: object | Buffer) => {
    const r = await op.request(method, path, body);
    assert.equal(r.status, 200, r.body.toString());
    return r.json<{ version: number; digest?: string; until?: number }>();
  };

  const second = await authzBundle('second');
  const policy = await answered('PUT', '/v1/policy/bundle', second);
  const split = [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }];
  const route = await answered('PUT', '/v1/routes/payments', { subsets: split });
  await answered('PUT', '/v1/routes/payments', { subsets: split }); // the same again: a push, but no change
  const eject = await answered('PUT', '/v1/ejections/payments-2', { seconds: 60, reason: 'p99 5x its peers' });
  const rules = [{ caller: 'web', rps: 5, burst: 10 }];
  const limit = await answered('PUT', '/v1/ratelimits/payments', { rules });
  const cleared = await answered('DELETE', '/v1/ratelimits/payments');
  const slowPaths = [{ path_prefix: '/reports', request_timeout_ms: 20_000 }];
  const resilience = await answered('PUT', '/v1/resilience/payments', { rules: slowPaths });
  await log.flush();

  const { at_start, during } = await store.configChanges(t0, Date.now() + 1);
  assert.deepEqual(at_start, [], 'a fresh store');
  const startup = during.filter((c) => c.actor === 'startup').sort((a, b) => a.kind.localeCompare(b.kind));
  assert.deepEqual(startup.map((c) => [c.kind, c.subject, c.digest, parsed(c)]), [
    ['authz_policy', '*', bundleDigest(first), { source: 'authz.rego', bytes: first.length }],
    // Nothing set, nobody registered yet, no tuning engine.
    ['ejection', '*', '', {}], ['ratelimit', '*', '', {}], ['registry', '*', '', {}], ['resilience', '*', '', {}], ['route', '*', '', {}], ['tuning_policy', '*', '', null],
  ]);

  const registry = during.filter((c) => c.kind === 'registry' && c.subject === 'payments');
  assert.ok(registry.length >= 1 && registry.every((c) => c.actor === 'sidecar'));
  assert.deepEqual((parsed(registry.at(-1)!) as { endpoints: { instance: string }[] }).endpoints.map((e) => e.instance), ['payments-1', 'payments-2']);

  assert.deepEqual(during.filter((c) => c.actor === 'operator').map((c) => [c.kind, c.subject, c.version, c.digest, parsed(c)]), [
    ['authz_policy', '*', policy.version, bundleDigest(second), { source: 'PUT /v1/policy/bundle', bytes: second.length }],
    ['route', 'payments', route.version, '', { subsets: split }],
    ['ejection', 'payments-2', eject.version, '', { service: 'payments', until: eject.until, reason: 'p99 5x its peers' }],
    ['ratelimit', 'payments', limit.version, '', { rules }],
    ['ratelimit', 'payments', cleared.version, '', null],
    ['resilience', 'payments', resilience.version, '', { rules: slowPaths }],
  ]);
  assert.equal(policy.digest, bundleDigest(second));
  for (let i = 1; i < during.length; i++) assert.ok(during[i].version >= during[i - 1].version, `versions never go back: ${JSON.stringify(during.slice(i - 1, i + 1))}`);

  // A period that begins after all this starts from what was in force.
  const later = await store.configChanges(Date.now() + 1, Date.now() + 2);
  assert.deepEqual(later.at_start.filter((c) => c.subject !== '*').map((c) => [c.kind, c.subject, c.actor]), [
    ['ejection', 'payments-2', 'operator'], ['ratelimit', 'payments', 'operator'], ['registry', 'payments', 'sidecar'], ['resilience', 'payments', 'operator'],
    ['route', 'payments', 'operator'],
  ]);
  assert.equal(later.at_start.find((c) => c.kind === 'authz_policy')!.digest, bundleDigest(second));

  const st = (await op.request('GET', '/v1/status')).json<{ config_log: Record<string, number> }>();
  assert.equal(st.config_log.written, during.length);
  assert.deepEqual([st.config_log.recorded, st.config_log.failed, st.config_log.dropped, st.config_log.pending, st.config_log.watch_errors], [during.length, 0, 0, 0, 0]);
});

test('what the tuning engine changes is recorded as made by tuning, and a new tuning policy with its digest', async (t) => {
  const store = await freshStore(t);
  const shift = {
    kind: 'shift', service: 'payments', subsets: [{ version: 'v1', weight: 0 }, { version: 'v2', weight: 100 }], reason: 'test: all to v2', alerts: [],
    signal: { scope: 'service', subject: 'payments', metric: 'error_rate', value: 0.5, threshold: 0.05 },
  };
  const policy = await tuningBundle(constantPolicy([shift]));
  const log = new ConfigLog(store);
  const tc = await startTestControl({
    changes: log,
    tuning: {
      settings: { ...DEFAULT_TUNING_SETTINGS, tickMs: 0, lagMs: 0, ackTimeoutMs: 200, modes: { ...DEFAULT_TUNING_SETTINGS.modes, shift: 'auto' } },
      policyBundle: policy, sources: storeSources(store), records: store,
    },
  });
  t.after(() => tc.close());
  const m = await payments(tc);
  t.after(() => m.close());
  const start = tc.cp.setRouteWeights('payments', [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }]);
  await tc.cp.tuning!.tick();
  const [action] = await store.actions({ limit: 10 });
  assert.ok(action && action.config_after > start.version, `the engine applied its shift: ${JSON.stringify(action)}`);
  const other = await tuningBundle(constantPolicy([]));
  const put = await tc.operator().request('PUT', '/v1/tuning/policy', other.bytes);
  assert.equal(put.status, 200, put.body.toString());
  await log.flush();

  const { during } = await store.configChanges(0, Date.now() + 1);
  const tuningPolicy = during.filter((c) => c.kind === 'tuning_policy');
  assert.deepEqual(tuningPolicy.map((c) => [c.actor, c.digest]), [['startup', bundleDigest(policy.bytes)], ['operator', bundleDigest(other.bytes)]]);
  assert.deepEqual(parsed(tuningPolicy[1]), { source: 'PUT /v1/tuning/policy' });
  const routes = during.filter((c) => c.kind === 'route' && c.subject === 'payments');
  assert.deepEqual(routes.map((c) => [c.actor, c.version]), [['operator', start.version], ['tuning', action.config_after]]);
  assert.deepEqual(parsed(routes[1]), { subsets: (action.params as { subsets: unknown }).subsets });
});

test('a store that fails every write is counted in /v1/status (each write retried, then given up) and the control plane carries on pushing', async (t) => {
  let attempts = 0;
  const failing = { writeConfigChange: async () => { attempts++; throw new Error('disk full'); } };
  const log = new ConfigLog(failing, { retryDelaysMs: [1, 1] });
  const tc = await startTestControl({ changes: log });
  t.after(() => tc.close());
  const m = await payments(tc);
  t.after(() => m.close());
  const put = await tc.operator().request('PUT', '/v1/routes/payments', { subsets: [{ version: 'v1', weight: 1 }] });
  assert.equal(put.status, 200);
  const { version } = put.json<{ version: number }>();
  await m.p1.next((s) => s.version === version);
  await log.flush();
  const c = tc.cp.status().config_log as Record<string, number | string>;
  assert.ok(Number(c.recorded) >= 8, 'six startup records, the registry, the route');
  assert.deepEqual([c.written, c.failed, c.retries, c.pending, attempts], [0, c.recorded, 2 * Number(c.recorded), 0, 3 * Number(c.recorded)]);
  assert.match(String(c.last_error), /disk full/);
});

test('the log writes in order, retries a write that failed once, never retries one the store refuses as malformed, and drops past maxPending', async (t) => {
  const store = await freshStore(t);
  let calls = 0;
  const flaky = { writeConfigChange: async (c: ConfigChange) => { if (calls++ === 0) throw new IngestError('INGEST_ERR_STORE', 'store: timeout'); await store.writeConfigChange(c); } };
  const log = new ConfigLog(flaky, { retryDelaysMs: [1, 1, 1], maxPending: 3 });
  const ts = Date.now() - 1_000;
  const change = (version: number, over: Partial<ConfigChange> = {}): ConfigChange =>
    ({ ts: ts + version, version, kind: 'route', subject: 'cart', digest: '', actor: 'operator', detail: `{"v":${version}}`, ...over });
  log.record(change(1));
  log.record(change(2, { kind: 'ejection' as const, subject: 'cart-1', actor: 'nobody\nelse' })); // malformed: refused, not retried
  log.record(change(3));
  log.record(change(4)); // a fourth waiting: dropped
  await log.flush();
  assert.deepEqual((await store.configChanges(0, Date.now())).during.map((c) => c.version), [1, 3]);
  const { last_error, ...n } = log.counters();
  assert.deepEqual(n, { recorded: 3, written: 2, retries: 1, failed: 1, dropped: 1, pending: 0 });
  assert.match(last_error, /actor must not hold control characters/);
  assert.equal(calls, 4, 'one retry of the first write, none of the malformed one');
  await log.close();
  log.record(change(5));
  assert.equal(log.counters().dropped, 2, 'a closed log takes nothing');
});
