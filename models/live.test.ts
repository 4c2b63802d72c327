// The live detector against a real chdb store: 22 minutes of one service's
// traffic written as sealed tap batches (the rollup views build the 10 s
// buckets), a tiny model trained in its worker thread, then a latency fault
// that must open one alert, update it and resolve it, all stored as alert
// rows, even with a restart while it is open; a restart loads the saved
// model and scores the same window the same.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, GENESIS_HASH, sealBatch, type L7RequestTap, type TapStore } from '../ingest/index.ts';
import { LIVE_FEATURES, startLiveDetector, type AlertRecord, type LiveDetector, type LiveDetectorOptions } from './index.ts';
import { seededRandom } from './random.ts';

const B = 10_000;
const HISTORY = 132; // buckets before the first training (22 min)
const FAULT: [number, number] = [150, 160]; // buckets with payments answering 8× slower
const END = 200;
const LAG = 20_000;

let dir: string;
let store: TapStore;
const t0 = Math.floor(Date.now() / B) * B - END * B;
const rng = seededRandom(5);
const written: AlertRecord[] = [];
const logs: string[] = [];
let clock = t0;
/** How far the clock moves each time the detector reads it (0: it stands still). */
let step = 0;

/** One bucket of payments' inbound traffic (12 requests from cart) as one sealed batch; 8× slower in FAULT or when `slow`. */
function bucketBatch(i: number, slow1 = false) {
  const slow = slow1 || (i >= FAULT[0] && i < FAULT[1]) ? 8 : 1;
  const events: L7RequestTap[] = Array.from({ length: 12 }, (_, k) => ({
    v: 1, kind: 'l7.request', proxy: 'payments-1', seq: k, ts: t0 + i * B + k * 700, direction: 'inbound', conn_id: `c${i}`,
    src_service: 'cart', src_instance: 'cart-1', src_addr: '127.0.0.1', src_port: 40000,
    dst_service: 'payments', dst_instance: 'payments-1', dst_addr: '127.0.0.1', dst_port: 8080,
    method: 'POST', authority: 'payments', path: '/charge', status: 200, latency_ms: slow * 20 * Math.exp(0.1 * rng.normal()),
    req_bytes: 200, resp_bytes: 1000 + Math.round(50 * rng.next()), upstream: '127.0.0.1:8080', retries: 0, trace_id: '',
  }));
  return sealBatch({ proxy: 'payments-1', stream: `b${i}`, batch: 0, first_seq: 0, lost: 0, events, prev_hash: GENESIS_HASH });
}

function options(modelDir: string): LiveDetectorOptions {
  return {
    source: { series: (scope, f, u) => store.rollupSeries(scope, f, u) },
    sink: { write: async (a) => { written.push(a); await store.writeAlert(a); }, recent: () => store.alerts({ limit: 100 }) },
    modelDir, now: () => (clock += step), tickMs: 0, lagMs: LAG, scopes: ['service'],
    trainAfterMs: 20 * 60_000, retrainEveryMs: 6 * 3_600_000, minHistoryRows: 100,
    log: (l) => { logs.push(l); },
    train: { units: 4, epochs: 4, hysteresis: { openAfter: 2, closeAfter: 5 } },
  };
}

/** Writes bucket i and moves the clock so that it is complete. */
async function advance(live: LiveDetector, i: number): Promise<void> {
  await store.writeBatch(bucketBatch(i));
  clock = t0 + (i + 1) * B + LAG;
  await live.tick();
}

let live: LiveDetector;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-live-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  await store.writeBatches(Array.from({ length: HISTORY }, (_, i) => bucketBatch(i)));
  clock = t0 + HISTORY * B + LAG;
  live = await startLiveDetector(options(join(dir, 'models')));
});

after(async () => {
  await live?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('after the warm-up the service gets a model trained in the background and saved under modelDir', async () => {
  assert.deepEqual(live.status(), [], 'nothing known before the first tick');
  await live.tick();
  assert.deepEqual(live.status().map((s) => [s.subject, s.model_version, s.training]), [['payments', null, true]], 'training runs after tick() returns');
  await live.idle();
  const [s] = live.status();
  assert.equal(s.subject, 'payments');
  assert.match(String(s.model_version), /^m\d{8}-\d{6}$/);
  assert.equal(live.counters().trainings, 1, logs.join('\n'));
  assert.deepEqual(await readdir(join(dir, 'models', 'service')), ['payments']);
  assert.ok(logs.some((l) => l.startsWith('models: trained service payments') && l.includes('nice 19')), 'the worker trained at the lowest CPU priority');
  const saved = JSON.parse(await readFile(join(dir, 'models', 'service', 'payments', 'detector.json'), 'utf8')) as { scaler: { inputNames: string[] } };
  assert.deepEqual(saved.scaler.inputNames, LIVE_FEATURES.filter((c) => c !== 'connections'), 'a 22-minute baseline: no connections column');
});

test('a latency fault opens one alert naming latency, updates it while open, resolves it after, and the store holds its newest state; a restart while it is open carries it on', async () => {
  let restartedAt = -1;
  for (let i = HISTORY; i < END; i++) {
    await advance(live, i);
    if (restartedAt < 0 && written.length >= 2) {
      // Open and updated once: stop the detector and start another on the same store and models.
      restartedAt = i;
      await live.close();
      live = await startLiveDetector(options(join(dir, 'models')));
      assert.equal(live.status()[0]?.alert_open, true, 'the new detector holds the open alert');
    }
  }
  assert.ok(restartedAt > 0 && restartedAt < FAULT[1] + 5, `restarted while the alert was open (bucket ${restartedAt})`);
  assert.ok(logs.some((l) => l.startsWith('models: carrying on alert service:payments:')), logs.join('\n'));
  const ids = new Set(written.map((a) => a.id));
  assert.equal(ids.size, 1, `one alert: ${JSON.stringify(written.map((a) => [a.state, a.opened_at - t0, a.score]))}`);
  const states = written.map((a) => a.state);
  assert.equal(states[0], 'open');
  assert.equal(states.at(-1), 'resolved');
  assert.ok(written.slice(1, -1).every((a) => a.state === 'open' && a.updated_at > a.opened_at), 'updates in between are open');
  assert.ok(written.length >= 3, 'at least one update while open');
  for (let k = 1; k < written.length; k++) assert.ok(written[k].updated_at - written[k - 1].updated_at >= 30_000 || written[k].state === 'resolved');
  const first = written[0];
  assert.ok(first.opened_at >= t0 + FAULT[0] * B && first.opened_at < t0 + FAULT[1] * B, `opened at bucket ${(first.opened_at - t0) / B}`);
  assert.match(first.explanation, /latency.* on payments$/);
  assert.equal(first.model_version, live.status()[0].model_version);
  const done = written.at(-1)!;
  assert.ok(done.resolved_at! >= t0 + FAULT[1] * B, 'resolves after the fault ends');
  assert.deepEqual(await store.alerts({ state: 'resolved', limit: 10 }), [done]);
  assert.deepEqual(await store.alerts({ state: 'open', limit: 10 }), []);
});

test('a restarted detector loads the saved model and scores the newest window exactly as before', async () => {
  const before = live.status()[0];
  await live.close();
  live = await startLiveDetector(options(join(dir, 'models')));
  await live.tick();
  const after = live.status()[0];
  assert.equal(after.model_version, before.model_version);
  assert.equal(after.last_scored, before.last_scored);
  assert.equal(after.last_score, before.last_score);
  assert.equal(live.counters().trainings, 0, 'no training after a restart');
});

test('retrain(subject) queues that subject and replaces its model with a new version', async () => {
  const old = live.status()[0].model_version;
  assert.deepEqual(live.retrain('nobody'), []);
  assert.deepEqual(live.retrain('payments'), ['service:payments']);
  await live.idle();
  assert.equal(live.counters().trainings, 1, logs.join('\n'));
  const now = live.status()[0].model_version;
  assert.ok(now !== null && now >= String(old), `${old} → ${now}`);
});

test('buckets slowed while the detector trains are left out: windows ending in them are not scored and no alert opens; scored, the same buckets open one', async () => {
  // The test clock moves 15 s per read while the model trains, as a real
  // one does for seconds; the buckets its run overlaps are made slow.
  step = 15_000;
  live.retrain('payments');
  await live.idle();
  step = 0;
  const [from, to] = live.trainingSpans().at(-1)!;
  const inRun = (i: number) => t0 + i * B <= to && t0 + (i + 1) * B > from;
  const first = Math.floor((from - t0) / B), last = Math.floor((to - t0) / B);
  assert.ok(last - first >= 2, `the run spans ${last - first + 1} buckets`);
  const before = written.length;
  const skipped = live.counters().windows_skipped_training;
  for (let i = END; i <= last + 10; i++) {
    await store.writeBatch(bucketBatch(i, inRun(i)));
    clock = Math.max(clock, t0 + (i + 1) * B + LAG);
    await live.tick();
  }
  assert.ok(live.counters().windows_skipped_training - skipped >= last - first, `${live.counters().windows_skipped_training - skipped} windows skipped`);
  assert.equal(live.status()[0].last_scored, t0 + (last + 10) * B, 'scoring went on past the run');
  assert.deepEqual(written.slice(before).map((a) => [a.state, (a.opened_at - t0) / B]), [], 'no alert');
  // The same buckets, scored by a detector that does not mask (and has no training span anyway).
  const control: AlertRecord[] = [];
  const plain = await startLiveDetector({
    ...options(join(dir, 'models')), maskOwnTraining: false,
    sink: { write: async (a) => { control.push(a); }, recent: () => store.alerts({ limit: 100 }) },
  });
  try {
    await plain.tick();
    assert.ok(control.some((a) => a.state === 'open' && a.opened_at >= t0 + first * B), `the slow buckets alert when scored: ${JSON.stringify(control.map((a) => [a.state, (a.opened_at - t0) / B]))}`);
    assert.equal(plain.counters().windows_skipped_training, 0);
  } finally {
    await plain.close();
  }
});

test('an alert left open for a subject that has no model any more is resolved at start, saying why', async () => {
  const ghost: AlertRecord = {
    id: `service:ghost:${t0}`, scope: 'service', subject: 'ghost', state: 'open', opened_at: t0, updated_at: t0 + B, resolved_at: null,
    score: 3, threshold: 1, features: [{ name: 'p99 latency', share: 1 }], explanation: 'p99 latency on ghost', model_version: 'm0',
  };
  await store.writeAlert(ghost);
  const fresh = await startLiveDetector(options(join(dir, 'models-empty')));
  try {
    const [now] = (await store.alerts({ limit: 100 })).filter((a) => a.id === ghost.id);
    assert.equal(now.state, 'resolved');
    assert.ok(now.resolved_at !== null && now.updated_at > ghost.updated_at);
    assert.match(now.explanation, /^p99 latency on ghost \(closed at restart: no model for service ghost any more\)$/);
  } finally {
    await fresh.close();
  }
});
