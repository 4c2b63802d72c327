// The four tuning scenarios, each in `meshlens up --scenario <name>` run in
// this process: the demo mesh on loopback (8 sidecars, every hop mTLS, taps
// signed and verified into chdb), the anomaly models off, the tuning engine
// in auto with the shipped policy, on short windows (--tuning-config) and a
// demand target the test's small load can cross (--tuning-data). Each test
// checks that the right action happened, that every connected sidecar ACKed
// it, and that it was verified; it prints the scenario's timings.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFlags } from '../cli/flags.ts';
import { runUp, UP_FLAGS } from '../cli/up.ts';
import type { ActionRecord, TapStore } from '../ingest/index.ts';
import { eventually, tempDir } from './stack.ts';

// Timings: rollups are 10 s buckets, so each engine step (a detection, a
// verification) waits for a whole bucket after its moment. The engine reads a
// bucket 1 s after it closes (lag_s), evaluates every second (tick) and takes
// "recent" as one bucket (recent_s, its least). A verification needs a whole
// bucket starting 5 s after the action, so watch_s changes nothing below 20 s;
// an ejection lasts at least 25 s. A proposal refused for its cooldown is not
// asked again for a cooldown, so a scale-in or lift refused just before it is
// due would wait that long: 10 s, not 20. Warm-ups count from the mesh's
// start, which takes 2–7 s: 4 s starts a fault about when the load does.
const WARMUP_S = 4;
/** A scenario's fault lasts this long unless its test says otherwise. */
const FAULT_S = 45;
const TUNING_CONFIG = { recent_s: 10, lag_s: 1, watch_s: 20, bounds: { cooldown_s: 10, eject_base_s: 25 } };
const TUNING_DATA = { tuning: { target_rps_per_replica: 40, flood_min_baseline_s: 10 } };
const TICK_S = 1;

/** A scenario's load, quiet start and fault length, and what it gives the policy over TUNING_DATA. */
interface Timing { loadRps?: number; warmupS?: number; faultS?: number; data?: Record<string, number> }

async function up(t: TestContext, scenario: string, { loadRps = 30, warmupS = WARMUP_S, faultS = FAULT_S, data = {} }: Timing = {}) {
  const dir = tempDir(`scenario-${scenario}`);
  writeFileSync(join(dir.path, 'tuning-config.json'), JSON.stringify(TUNING_CONFIG));
  writeFileSync(join(dir.path, 'tuning-data.json'), JSON.stringify({ tuning: { ...TUNING_DATA.tuning, ...data } }));
  const lines: string[] = [];
  const f = parseFlags('up', '', [
    '--data-dir', join(dir.path, 'data'), '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', '--isolate', 'off', '--no-models',
    '--scenario', scenario, '--scenario-warmup-s', String(warmupS), '--fault-seconds', String(faultS), '--fault-every-min', '60',
    '--load-rps', String(loadRps), '--tuning-tick-s', String(TICK_S),
    '--tuning-config', join(dir.path, 'tuning-config.json'), '--tuning-data', join(dir.path, 'tuning-data.json'),
  ], UP_FLAGS, {});
  const run = await runUp(f, (l) => lines.push(`${new Date().toISOString().slice(11, 23)} ${l}`));
  t.after(async () => {
    await run.close();
    // MESHLENS_SCENARIO_LOG=<dir>: keep each run's log lines there (for a scenario that failed).
    if (process.env.MESHLENS_SCENARIO_LOG) writeFileSync(join(process.env.MESHLENS_SCENARIO_LOG, `${scenario}.log`), lines.filter((l) => !l.includes('sidecar: stopped')).join('\n'));
    else dir.remove();
  });
  const { core } = run;
  const faultStart = run.mesh!.startedAt + warmupS * 1000;
  return { ...run, store: core.store, lines, faultStart, faultEnd: faultStart + faultS * 1000, faultS, engine: core.control.tuning! };
}

/** The newest state of each action of `kind`, oldest proposal first. */
async function actions(store: TapStore, kind: string): Promise<ActionRecord[]> {
  return (await store.actions({ kind: kind as ActionRecord['kind'], limit: 200 })).sort((a, b) => a.proposed_at - b.proposed_at);
}

/** When an action reached `state` (its first row in that state). */
async function reached(store: TapStore, id: string, state: string): Promise<number> {
  const h = await store.actionHistory(id);
  const row = h.find((r) => r.state === state);
  assert.ok(row, `action ${id} never ${state}: ${h.map((r) => r.state).join(' → ')}`);
  return row.updated_at;
}

/** Waits until the action's record has an ACK from every sidecar connected now; returns when the last came. */
async function allAcked(run: Awaited<ReturnType<typeof up>>, id: string): Promise<number> {
  const connected = () => run.core.control.status().proxies.filter((p) => p.connected).map((p) => p.proxy).sort();
  await eventually(`every sidecar ACKing action ${id}`, () => {
    const acks = run.engine.book.get(id)?.acks.map((a) => a.proxy) ?? [];
    return connected().every((p) => acks.includes(p));
  }, 60_000);
  return Math.max(...run.engine.book.get(id)!.acks.map((a) => a.at));
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const params = <T>(a: ActionRecord) => a.params as T;

test('canary: a rollout of a regressed payments v2 halts and returns all traffic to v1 without a person', { timeout: 300_000 }, async (t) => {
  // 60 req/s: 5% of payments' calls make the judge's 20 requests within one bucket. The policy's own
  // target (150 a replica) keeps that load from scaling anything, as 30 req/s under 40 did.
  const run = await up(t, 'canary', { loadRps: 60, data: { target_rps_per_replica: 150 } });
  const shifts = () => actions(run.store, 'shift');
  await eventually('the rollout rolled back and verified', async () => (await shifts()).some((a) => params<{ rollback: boolean }>(a).rollback && a.state === 'verified'), 240_000);
  const [first, rollback] = await shifts();
  assert.deepEqual(params<{ subsets: unknown }>(first).subsets, [{ version: 'v1', weight: 95 }, { version: 'v2', weight: 5 }]);
  assert.match(first.reason, /^rollout of payments v2: first step, 5%/);
  assert.deepEqual(params<{ subsets: unknown }>(rollback).subsets, [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }]);
  assert.match(rollback.reason, /^rollout of payments v2 halted: errors: v2 .*; latency: .*/);
  assert.match(rollback.reason, /: worse/);
  assert.deepEqual(run.core.control.status().routes.routes.find((r) => r.service === 'payments')?.subsets, [{ version: 'v1', weight: 100 }, { version: 'v2', weight: 0 }]);
  assert.equal(run.engine.rollouts.all()[0].state, 'rolled_back');
  assert.equal(first.state, 'reverted');
  assert.match((await run.store.actionHistory(first.id)).at(-1)!.detail, new RegExp(`reverted: rolled back by action ${rollback.id}: rollout of payments v2 halted`));
  const traffic = await reached(run.store, first.id, 'applied');
  const back = await reached(run.store, rollback.id, 'applied');
  const acked = await allAcked(run, rollback.id);
  const verified = await reached(run.store, rollback.id, 'verified');
  t.diagnostic(`canary: v2 got traffic at +0; judged and rolled back at +${s(back - traffic)}; all sidecars ACKed at +${s(acked - traffic)}; verified at +${s(verified - traffic)}`);
  // The target (back at 0% within 2 minutes of receiving traffic) is a figure for the note, not a test condition.
});

test('eject: an instance failing half its requests is ejected, the error rate recovers, and it is ejected again for longer when it returns still sick', { timeout: 300_000 }, async (t) => {
  // The fault outlasts the first ejection (25 s) and the repeat.
  const run = await up(t, 'eject', { faultS: 120 });
  const ejects = () => actions(run.store, 'eject');
  await eventually('a second ejection of catalog-2', async () => (await ejects()).filter((a) => a.subject === 'catalog-2' && a.state !== 'refused').length >= 2, 240_000);
  const [first, second] = (await ejects()).filter((a) => a.state !== 'refused');
  assert.deepEqual([first.subject, second.subject], ['catalog-2', 'catalog-2']);
  assert.match(first.reason, /^catalog-2 fails \d+% of \d+ requests, the rest of catalog \d+%$/);
  assert.equal(params<{ seconds: number }>(second).seconds, 2 * params<{ seconds: number }>(first).seconds, 'the repeat lasts twice as long');
  assert.match(second.reason, /\(ejected 1 times before\)$/);
  await eventually('the first ejection verified', async () => (await run.store.actionHistory(first.id)).some((r) => r.state === 'verified'), 60_000);
  const detected = first.proposed_at;
  const applied = await reached(run.store, first.id, 'applied');
  const acked = await allAcked(run, first.id);
  const verified = await reached(run.store, first.id, 'verified');
  assert.match((await run.store.actionHistory(first.id)).at(-1)!.detail, /verified: error_rate of service catalog .* at or under 5\.0%/);
  t.diagnostic(`eject: fault at +0; detected and proposed at +${s(detected - run.faultStart)}; applied +${s(applied - run.faultStart)}; all ACKed +${s(acked - run.faultStart)}; verified +${s(verified - run.faultStart)}; ejected again at +${s(second.proposed_at - run.faultStart)} for ${params<{ seconds: number }>(second).seconds} s`);
  // The target (ejected within 60 s) is a figure for the note, not a test condition.
});

test('surge: when demand on web triples, services are scaled out, verified, and scaled back in after the surge', { timeout: 360_000 }, async (t) => {
  // A few seconds of plain load first; 20 s of surge fill a bucket more than half, so the scale-out comes while it lasts.
  const run = await up(t, 'surge', { loadRps: 20, warmupS: 8, faultS: 20 });
  const scales = () => actions(run.store, 'scale');
  const out = (a: ActionRecord) => params<{ replicas: number; before: number }>(a).replicas > params<{ before: number }>(a).before;
  const done = ['applied', 'verified'];
  // After the surge: a service scaled back in, whose scale-out had been verified.
  await eventually('a scale-out verified and, after the surge, the same service scaled back in', async () => {
    const all = await scales();
    return all.some((b) => !out(b) && done.includes(b.state) && b.proposed_at > run.faultEnd
      && all.some((a) => out(a) && a.subject === b.subject && a.state === 'verified'));
  }, 300_000);
  const all = await scales();
  const back = all.find((b) => !out(b) && done.includes(b.state) && b.proposed_at > run.faultEnd && all.some((a) => out(a) && a.subject === b.subject && a.state === 'verified'))!;
  const first = all.find((a) => out(a) && a.subject === back.subject && a.state === 'verified')!;
  assert.equal(params<{ replicas: number }>(back).replicas, params<{ before: number }>(first).before, 'back to where the engine found it');
  assert.match(first.reason, /carries [\d.]+ req\/s on 1 replicas .* target 40\): scale out to 2/);
  await eventually(`${first.subject} back at its replicas`, () => run.mesh!.replicas(first.subject) === params<{ before: number }>(first).before, 60_000);
  const applied = await reached(run.store, first.id, 'applied');
  const acked = await allAcked(run, first.id);
  const verified = await reached(run.store, first.id, 'verified');
  const inAt = await reached(run.store, back.id, 'applied');
  t.diagnostic(`surge: load ×3 at +0; ${first.subject} scaled ${params<{ before: number }>(first).before} → ${params<{ replicas: number }>(first).replicas} at +${s(first.proposed_at - run.faultStart)} (applied +${s(applied - run.faultStart)}, all ACKed +${s(acked - run.faultStart)}, verified +${s(verified - run.faultStart)}); surge ended at +${run.faultS}.0 s; scaled back in at +${s(inAt - run.faultStart)}; ${all.filter((a) => a.state !== 'refused').length} scale actions on ${[...new Set(all.map((a) => a.subject))].join(', ')}`);
});

test('flood: the caller flooding catalog is rate-limited at catalog\'s sidecars, the other caller is not, and the limit is lifted after', { timeout: 300_000 }, async (t) => {
  // The flood must come after a baseline of the indexer's normal calls: flood_min_baseline_s of whole buckets after
  // the one of its first call (about when the mesh is ready) and before the recent one, i.e. 20 s after that first
  // call; 30 s leaves 10 s for a slow start. The limit comes at most ~15 s into the flood, which goes on 10 s more.
  const run = await up(t, 'flood', { warmupS: 30, faultS: 25 });
  const limits = () => actions(run.store, 'ratelimit');
  const isLimit = (a: ActionRecord) => !params<{ lift: boolean }>(a).lift && a.state !== 'refused';
  const isLift = (a: ActionRecord) => params<{ lift: boolean }>(a).lift && a.state !== 'refused';
  await eventually('a rate limit', async () => (await limits()).some(isLimit), 240_000);
  // Its ACKs, before the lift: the flood also scales catalog out, and sidecars that join after the limit's ACKs
  // were counted are not among them, so waiting later means waiting for catalog to scale back in.
  const acked = await allAcked(run, (await limits()).find(isLimit)!.id);
  await eventually('the limit lifted', async () => (await limits()).some(isLift), 240_000);
  const all = await limits();
  const limit = all.find(isLimit)!;
  assert.deepEqual([limit.service, params<{ caller: string }>(limit).caller], ['catalog', 'indexer']);
  assert.match(limit.reason, /^indexer sends [\d.]+ req\/s to catalog, [\d.]+× its baseline of [\d.]+ req\/s: limit it to [\d.]+ req\/s$/);
  assert.ok(all.every((a) => params<{ caller: string }>(a).caller === 'indexer'), 'web, the other caller, is never limited');
  const applied = await reached(run.store, limit.id, 'applied');
  const limited = await run.store.recentTaps({ kind: 'l7.request', direction: 'inbound', dst_service: 'catalog', src_service: 'indexer' }, 100_000);
  assert.ok(limited.some((x) => x.status === 429 && x.error === 'MESH_ERR_RATE_LIMITED'), 'the indexer got 429s with the reason in catalog\'s taps');
  const web = await run.store.recentTaps({ kind: 'l7.request', direction: 'inbound', dst_service: 'catalog', src_service: 'web' }, 100_000);
  assert.ok(web.length > 0 && web.every((x) => x.status !== 429), 'web\'s requests to catalog were never limited');
  const lift = all.find(isLift)!;
  const lifted = await reached(run.store, lift.id, 'applied');
  await eventually('the limit verified', async () => (await run.store.actionHistory(limit.id)).some((r) => r.state === 'verified'), 60_000);
  t.diagnostic(`flood: ×75 at +0; limited at +${s(applied - run.faultStart)} (all ACKed +${s(acked - run.faultStart)}) to ${params<{ rps: number }>(limit).rps} req/s; flood ended +${run.faultS}.0 s; lifted +${s(lifted - run.faultStart)}`);
});
