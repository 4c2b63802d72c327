// The tuning engine on a real control plane with real sidecars (every hop
// mTLS) and a real chdb store: its signals are rollups of taps in the store,
// its records rows of the store's actions table. The engine's clock is moved
// forward past a watch window instead of waiting for it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ActionRecord, TapStore } from '../../../ingest/index.ts';
import { sampleChain, sampleL7 } from '../../../ingest/sample-taps.ts';
import { until } from '../../proxy/testing/small-mesh.ts';
import type { ProposedAction } from './contract.ts';
import { DEFAULT_TUNING_SETTINGS, type TuningSettings } from './settings.ts';
import { verifyWindow } from './verify.ts';
import { tuningRig, type Rig } from './testing/engine-rig.ts';
import { constantPolicy, tuningBundle } from './testing/tuning-bundle.ts';

const rig = (t: { after(fn: () => Promise<void>): void }, actions: unknown[], settings: Partial<TuningSettings> = {}) => tuningRig(t, { actions, settings });

const signal = (subject: string) => ({ scope: 'service', subject, metric: 'error_rate', value: 0.5, threshold: 0.05 });
const allToV2: ProposedAction = {
  kind: 'shift', service: 'payments', subsets: [{ version: 'v1', weight: 0 }, { version: 'v2', weight: 100 }], reason: 'test: all to v2', alerts: [], signal: signal('payments') as ProposedAction['signal'],
};
const ejectCatalog2 = { kind: 'eject', service: 'catalog', instance: 'catalog-2', reason: 'test: catalog-2 fails', alerts: ['alert-1'], signal: signal('catalog') };

/** Inbound catalog requests in [from, from + 10 s) with `errors` of `n` failing, as catalog's sidecars would tap them. */
async function catalogTraffic(store: TapStore, from: number, n: number, errors: number, batch: number): Promise<void> {
  const events = Array.from({ length: n }, (_, i) => sampleL7({
    ts: from + 1 + i, direction: 'inbound', src_service: 'web', dst_service: 'catalog', dst_instance: 'catalog-1', status: i < errors ? 500 : 200,
  }));
  await store.writeBatches(sampleChain('catalog-1', `s${batch}`, [events]));
}

/** Catalog traffic in every bucket of the action's watch window; returns how many buckets. */
async function windowTraffic(r: Rig, rec: ActionRecord, n: number, errors: number): Promise<number> {
  const w = verifyWindow(rec.proposed_at, 20);
  let i = 0;
  for (let b = w.from; b < w.until; b += 10_000) await catalogTraffic(r.store, b, n, errors, ++i);
  return i;
}

const routeOf = (r: Rig, service: string) => r.mesh.control.cp.status().routes.routes.find((x) => x.service === service);

test('dry-run records what the policy asks for and changes nothing, and records a repeat only after its cooldown', async (t) => {
  const r = await rig(t, [allToV2], { modes: { ...DEFAULT_TUNING_SETTINGS.modes, shift: 'dry-run' } });
  const version = r.mesh.control.cp.status().version;
  await r.engine.tick();
  await r.engine.tick();
  const recs = await r.records();
  assert.deepEqual(recs.map((x) => [x.kind, x.state, x.subject, x.mode]), [['shift', 'dry_run', 'payments', 'dry-run']]);
  assert.deepEqual(recs[0].requested, { ...allToV2, rollback: false });
  assert.match(recs[0].guardrail, /max shift step/, 'the record says what the guardrails would have done');
  assert.equal(r.mesh.control.cp.status().version, version, 'no new config');
  assert.deepEqual(routeOf(r, 'payments')?.subsets, [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }], 'the route is as it was');
  r.clock.skew += 61_000;
  await r.engine.tick();
  assert.equal((await r.records()).length, 2, 'recorded again once the cooldown passed');
});

test('a shift asking for 0→100 in one step is clipped to the step bound, applied, and ACKed by every sidecar; the cooldown then holds', async (t) => {
  const r = await rig(t, [allToV2], { modes: { ...DEFAULT_TUNING_SETTINGS.modes, shift: 'auto' } });
  await r.engine.tick();
  const [rec] = await r.records();
  assert.equal(rec.state, 'applied');
  assert.deepEqual((rec.params as { subsets: unknown }).subsets, [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }]);
  assert.match(rec.guardrail, /clipped to v1 50% \/ v2 50% \(at most 50 points per action\)/);
  assert.deepEqual(routeOf(r, 'payments')?.subsets, [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }]);
  assert.ok(rec.config_after > rec.config_before);
  await until(() => (r.engine.book.get(rec.id)?.acks.length ?? 0) === 5);
  const acked = r.engine.book.get(rec.id)!;
  assert.deepEqual(acked.acks.map((a) => a.proxy).sort(), ['catalog-1', 'catalog-2', 'payments-1', 'payments-2', 'web-1']);
  await r.mesh.applied(rec.config_after);
  // The same policy asks again at once: the cooldown refuses it, once.
  await r.engine.tick();
  await r.engine.tick();
  const refused = (await r.records()).filter((x) => x.state === 'refused');
  assert.equal(refused.length, 1);
  assert.match(refused[0].guardrail, /^cooldown: the last action on payments was \d+ s ago \(cooldown 60 s\)/);
  assert.deepEqual(routeOf(r, 'payments')?.subsets, [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }], 'nothing moved');
});

test('an ejection whose signal gets worse is reverted after its watch window, and the record says why', async (t) => {
  const r = await rig(t, [ejectCatalog2], { modes: { ...DEFAULT_TUNING_SETTINGS.modes, eject: 'auto' } });
  await r.engine.tick();
  const [rec] = await r.records();
  assert.equal(rec.state, 'applied');
  assert.deepEqual(rec.alert_ids, ['alert-1']);
  assert.deepEqual(r.mesh.control.cp.status().ejections.map((e) => e.instance), ['catalog-2']);
  // After the ejection catalog fails more than before it (0.5): it did not help.
  await windowTraffic(r, rec, 20, 14);
  r.clock.skew += 40_000;
  await r.engine.tick();
  const after = r.engine.book.get(rec.id)!;
  assert.equal(after.state, 'reverted');
  assert.match(after.detail, /reverted: error_rate of service catalog got worse: 50\.0% → 70\.0% over .* \(threshold 5\.0%\)/);
  assert.deepEqual(r.mesh.control.cp.status().ejections, [], 'catalog-2 is back');
  const history = await r.store.actionHistory(rec.id);
  assert.deepEqual(history.map((h) => h.state), ['proposed', 'applied', 'applied', 'reverted'].slice(0, history.length));
  assert.equal(history.at(-1)?.state, 'reverted');
});

test('an ejection whose signal comes back under its threshold is verified and stays', async (t) => {
  const r = await rig(t, [ejectCatalog2], { modes: { ...DEFAULT_TUNING_SETTINGS.modes, eject: 'auto' } });
  await r.engine.tick();
  const [rec] = await r.records();
  const buckets = await windowTraffic(r, rec, 40, 1);
  r.clock.skew += 40_000;
  await r.engine.tick();
  const after = r.engine.book.get(rec.id)!;
  assert.equal(after.state, 'verified');
  assert.match(after.detail, new RegExp(`verified: error_rate of service catalog 50\\.0% → ${(100 / (40 * buckets)).toFixed(1).replace('.', '\\.')}% .*at or under 5\\.0%`));
  assert.deepEqual(r.mesh.control.cp.status().ejections.map((e) => e.instance), ['catalog-2']);
});

test('approve mode waits for a person: approving applies the action, rejecting records it and changes nothing', async (t) => {
  const r = await rig(t, [ejectCatalog2, allToV2], { modes: { shift: 'approve', eject: 'approve', scale: 'off', ratelimit: 'off' } });
  await r.engine.tick();
  const waiting = await r.records();
  assert.deepEqual(waiting.map((x) => x.state), ['awaiting_approval', 'awaiting_approval']);
  assert.deepEqual(r.mesh.control.cp.status().ejections, []);
  const eject = waiting.find((x) => x.kind === 'eject')!;
  const shift = waiting.find((x) => x.kind === 'shift')!;
  const op = r.mesh.control.operator();
  const approved = await op.request('POST', `/v1/actions/${eject.id}/approve`);
  assert.equal(approved.status, 200);
  assert.equal(approved.json().state, 'applied');
  assert.deepEqual(r.mesh.control.cp.status().ejections.map((e) => e.instance), ['catalog-2']);
  const rejected = await op.request('POST', `/v1/actions/${shift.id}/reject`);
  assert.equal(rejected.json().state, 'rejected');
  assert.deepEqual(routeOf(r, 'payments')?.subsets, [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }]);
  const again = await op.request('POST', `/v1/actions/${shift.id}/approve`);
  assert.equal(again.status, 409, 'a rejected action cannot be approved afterwards');
  const history = await op.request('GET', `/v1/actions/${eject.id}`);
  assert.deepEqual(history.json<{ history: ActionRecord[] }>().history.map((h) => h.state).filter((s, i, a) => a.indexOf(s) === i), ['awaiting_approval', 'applied']);
});

test('the pause switch stops new actions until resumed', async (t) => {
  const r = await rig(t, [ejectCatalog2], { modes: { ...DEFAULT_TUNING_SETTINGS.modes, eject: 'auto' } });
  const op = r.mesh.control.operator();
  assert.equal((await op.request('POST', '/v1/tuning/pause')).json().paused !== null, true);
  await r.engine.tick();
  assert.deepEqual(await r.records(), []);
  assert.deepEqual(r.mesh.control.cp.status().ejections, []);
  await op.request('POST', '/v1/tuning/resume');
  await r.engine.tick();
  assert.deepEqual((await r.records()).map((x) => x.state), ['applied']);
});

test('malformed actions in a policy answer are refused with their problems and counted; the well-formed one beside them still runs', async (t) => {
  const r = await rig(t, [{ kind: 'teleport' }, { ...ejectCatalog2, instance: '../etc' }, ejectCatalog2], { modes: { ...DEFAULT_TUNING_SETTINGS.modes, eject: 'auto' } });
  await r.engine.tick();
  const st = r.engine.status();
  assert.equal(st.counters.malformed, 2);
  assert.match(st.policy.last_error, /actions\[0\]\.kind: must be one of shift, eject, scale, ratelimit, got "teleport"/);
  assert.deepEqual((await r.records()).map((x) => [x.kind, x.subject, x.state]), [['eject', 'catalog-2', 'applied']]);
});

test('the tuning routes refuse a missing token, a rebinding Host, a foreign Origin and a sidecar certificate, and a bad rollout names its problems', async (t) => {
  const r = await rig(t, []);
  const cp = r.mesh.control;
  // A state change with neither token nor Origin is refused as cross-origin before credentials are read.
  assert.equal((await cp.anonymous().request('POST', '/v1/tuning/pause')).status, 403);
  assert.equal((await cp.anonymous().request('GET', '/v1/tuning')).status, 401);
  assert.equal((await cp.operator().request('POST', '/v1/tuning/pause', undefined, { origin: 'https://evil.example' })).status, 403);
  const port = new URL(cp.cp.url).port;
  assert.equal((await cp.operator().request('POST', '/v1/tuning/pause', undefined, { host: `evil.example:${port}` })).status, 421);
  assert.equal((await cp.operator().request('GET', '/v1/actions', undefined, { host: `evil.example:${port}` })).status, 421, 'nor shows the record to a rebound page');
  const sidecar = await cp.sidecar('web', 'web-1');
  assert.equal((await sidecar.request('GET', '/v1/actions')).status, 401);
  assert.equal(r.engine.paused, null, 'nothing paused');
  const bad = await cp.operator().request('POST', '/v1/rollouts', { service: 'payments', to: 'v9', steps: [50, 5] });
  assert.equal(bad.status, 400);
  assert.deepEqual(bad.json().problems, [
    'steps: must be 1-20 increasing whole percentages in 1..100 (e.g. 5,25,50,100)',
    'to: no instance of payments has version "v9" (it has: v1, v2)',
  ]);
  const q = await cp.operator().request('GET', '/v1/actions?limit=abc&evil=1');
  assert.equal(q.status, 400);
  assert.match(String(q.json().message), /unknown parameter "evil"/);
});

test('a new tuning policy is taken by PUT /v1/tuning/policy as the authorization bundle is; a bad one is refused and the old one stays', async (t) => {
  const r = await rig(t, []);
  const op = r.mesh.control.operator();
  const before = r.engine.status().policy.digest;
  const bad = await op.request('PUT', '/v1/tuning/policy', Buffer.from('not a bundle'), { 'content-type': 'application/gzip' });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json().message), /not a readable OPA bundle/);
  assert.equal(r.engine.status().policy.digest, before);
  const wrongEntrypoint = await tuningBundle('package meshlens.other\n\nactions := []\n').catch((e: Error) => e);
  assert.ok(wrongEntrypoint instanceof Error, 'a policy without the entrypoint does not even compile into a bundle');
  const next = await tuningBundle(constantPolicy([{ ...ejectCatalog2 }]));
  const ok = await op.request('PUT', '/v1/tuning/policy', next.bytes, { 'content-type': 'application/gzip' });
  assert.equal(ok.status, 200);
  const digest = String(ok.json().digest);
  assert.notEqual(digest, before);
  await r.engine.tick();
  const [rec] = await r.records();
  assert.deepEqual([rec.kind, rec.subject, rec.policy_digest], ['eject', 'catalog-2', digest], 'the record names the policy that decided');
  assert.equal((await r.mesh.control.anonymous().request('PUT', '/v1/tuning/policy', next.bytes, { origin: 'https://evil.example' })).status, 403);
});
