// Alerts in the UI server against a real chdb store: the JSON list, the
// `alerts` event on the page's stream, and the retrain button backed by a
// real live detector. One store per file: chdb allows one data directory per process.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, type StoredAlert, type TapStore } from '../ingest/index.ts';
import { startLiveDetector, type LiveDetector } from '../models/index.ts';
import { startUi, type RunningUi } from './index.ts';
import { readSnapshot } from './api/alert-events.ts';
import { shopTrafficBatches } from './testing/shop-traffic.ts';
import { collectEvents } from './testing/sse-events.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
let bare: RunningUi;
let live: LiveDetector;
const t = Math.floor(Date.now() / 10_000) * 10_000 - 600_000;
const alert = (subject: string, at: number): StoredAlert => ({
  id: `service:${subject}:${at}`, scope: 'service', subject, state: 'open', opened_at: at, updated_at: at, resolved_at: null,
  score: 4.2, threshold: 1.5, features: [{ name: 'p99_ms', share: 0.8 }], explanation: `p99 latency on ${subject}`, model_version: 'm20261129-040000',
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-alerts-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  for (const b of shopTrafficBatches({ now: Date.now() - 1000 })) await store.writeBatch(b);
  const old = alert('payments', t);
  await store.writeAlert(old);
  await store.writeAlert({ ...old, state: 'resolved', updated_at: t + 60_000, resolved_at: t + 60_000 });
  await store.writeAlert(alert('cart', t + 30_000));
  live = await startLiveDetector({
    source: { series: (scope, f, u) => store.rollupSeries(scope, f, u) }, sink: { write: (a) => store.writeAlert(a) },
    modelDir: join(dir, 'models'), tickMs: 0, lagMs: 0, trainAfterMs: 3_600_000, retrainEveryMs: 3_600_000, minHistoryRows: 1000, log: () => {},
  });
  await live.tick(); // learns which services and edges exist
  ui = await startUi({ store, port: 0, eventIntervalMs: 100, models: live, log: () => {} });
  bare = await startUi({ store, port: 0, log: () => {} });
});

after(async () => {
  await ui?.close();
  await bare?.close();
  await live?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A script's call: Authorization: Bearer, no Origin (the UI accepts that for POST too). */
async function call(server: RunningUi, path: string, method = 'GET'): Promise<{ status: number; body: any }> {
  const res = await fetch(server.url + path, { method, headers: { authorization: `Bearer ${server.token}` } });
  return { status: res.status, body: await res.json() };
}

test('GET /api/alerts lists each alert in its newest state, newest change first, filtered by state', async () => {
  const all = await call(ui, '/api/alerts');
  assert.equal(all.status, 200);
  assert.equal(all.body.state, 'all');
  assert.equal(all.body.limit, 50);
  assert.deepEqual(all.body.alerts.map((a: StoredAlert) => [a.subject, a.state]), [['payments', 'resolved'], ['cart', 'open']]);
  const open = await call(ui, '/api/alerts?state=open&limit=5');
  assert.deepEqual(open.body.alerts, [alert('cart', t + 30_000)]);
  const resolved = await call(ui, '/api/alerts?state=resolved');
  assert.deepEqual(resolved.body.alerts.map((a: StoredAlert) => [a.subject, a.resolved_at]), [['payments', t + 60_000]]);
});

test('a bad alert state or limit gets 400 naming the parameter', async () => {
  for (const [q, name] of [['state=closed', 'state'], ['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=x', 'limit']]) {
    const { status, body } = await call(ui, `/api/alerts?${q}`);
    assert.equal(status, 400, q);
    assert.equal(body.code, 'UI_ERR_BAD_PARAM');
    assert.match(body.message, new RegExp(`parameter ${name}\\b`));
  }
});

test('GET /api/events sends the alerts on connect and again when an alert opens', async () => {
  const events = await collectEvents(`${ui.url}/api/events`, ui.token, 'alerts', (e) => e.length === 2, () => store.writeAlert(alert('inventory', t + 90_000)));
  assert.deepEqual(events[0].open.map((a: StoredAlert) => a.subject), ['cart']);
  assert.deepEqual(events[0].resolved.map((a: StoredAlert) => a.subject), ['payments']);
  assert.deepEqual(events[1].open.map((a: StoredAlert) => a.subject), ['inventory', 'cart']);
});

test('an alert resolved between the open and resolved reads shows only as resolved in the stream snapshot', async () => {
  const open = alert('search', t + 120_000);
  await store.writeAlert(open);
  const resolveBetween: Pick<TapStore, 'alerts'> = {
    async alerts(opts) {
      const rows = await store.alerts(opts);
      if (opts.state === 'open') await store.writeAlert({ ...open, state: 'resolved', updated_at: t + 150_000, resolved_at: t + 150_000 });
      return rows;
    },
  };
  const snap = await readSnapshot(resolveBetween);
  assert.deepEqual(snap.resolved.map((a) => [a.subject, a.state]).filter(([s]) => s === 'search'), [['search', 'resolved']]);
  assert.ok(!snap.open.some((a) => a.id === open.id), 'the resolved alert is gone from the open list');
  assert.ok(snap.open.some((a) => a.subject === 'cart'), 'alerts still open stay');
});

test('POST /api/models/retrain queues the named subject, 404s an unknown one, and 503s without models', async () => {
  const one = await call(ui, '/api/models/retrain?subject=cart', 'POST');
  assert.equal(one.status, 202);
  assert.deepEqual(one.body, { queued: ['service:cart'] });
  const edge = await call(ui, `/api/models/retrain?subject=${encodeURIComponent('cart→payments')}`, 'POST');
  assert.deepEqual(edge.body, { queued: ['edge:cart→payments'] });
  const none = await call(ui, '/api/models/retrain?subject=nobody', 'POST');
  assert.equal(none.status, 404);
  assert.match(none.body.message, /nobody/);
  const off = await call(bare, '/api/models/retrain', 'POST');
  assert.equal(off.status, 503);
  assert.equal(off.body.code, 'UI_ERR_UNAVAILABLE');
  await live.idle(); // too little history: the queued runs wait without training
  assert.equal(live.counters().trainings, 0);
});

test('the page has the alerts panel with its lists', async () => {
  const page = await (await fetch(ui.url + '/')).text();
  assert.match(page, /<section class="panel" id="alerts"/);
  assert.match(page, /class="alerts-open"/);
  const js = await fetch(ui.url + '/alerts-panel.js');
  assert.equal(js.status, 200);
  assert.match(await js.text(), /li\.dataset\.state = a\.state/);
});
