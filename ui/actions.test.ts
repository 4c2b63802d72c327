// The tuning engine's actions in the UI server against a real chdb store: the
// JSON list and history, the `actions` event on the page's stream, and the
// operator's approvals, pause switch and rollouts handed to a TuningControl
// (a recording one here; cli/control-tuning-ui.test.ts drives the real engine).
// One store per file: chdb allows one data directory per process.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, type ActionRecord, type TapStore } from '../ingest/index.ts';
import { startUi, type RunningUi } from './index.ts';
import { actionRecord, RecordingTuning } from './testing/recording-tuning.ts';
import { collectEvents } from './testing/sse-events.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
let bare: RunningUi;
let tuning: RecordingTuning;
const t = Math.floor(Date.now() / 1000) * 1000 - 600_000;
const eject = actionRecord(t, { alert_ids: ['service:catalog:1'] });
const shift = actionRecord(t + 1000, {
  id: 'act-shift', kind: 'shift', subject: 'payments', service: 'payments', mode: 'auto', state: 'proposed',
  params: { kind: 'shift', service: 'payments', subsets: [{ version: 'v1', weight: 50 }, { version: 'v2', weight: 50 }] }, alert_ids: ['service:payments:1'],
});
const shiftApplied: ActionRecord = { ...shift, state: 'applied', updated_at: t + 2000, config_before: 3, config_after: 4 };
const shiftVerified: ActionRecord = { ...shiftApplied, state: 'verified', updated_at: t + 3000, detail: 'verified: error_rate back under 5%' };
const refused = actionRecord(t + 4000, {
  id: 'act-refused', kind: 'ratelimit', subject: 'web→cart', service: 'cart', mode: 'auto', state: 'refused', params: {}, guardrail: 'cooldown: the last action on cart was 12 s ago',
});

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-actions-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  for (const r of [eject, shift, shiftApplied, shiftVerified, refused]) await store.writeAction(r);
  tuning = new RecordingTuning(store);
  ui = await startUi({ store, port: 0, eventIntervalMs: 100, tuning, log: () => {} });
  bare = await startUi({ store, port: 0, log: () => {} });
});

after(async () => {
  await ui?.close();
  await bare?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A script's call: Authorization: Bearer, no Origin (the UI accepts that for a state change too). */
async function call(server: RunningUi, path: string, method = 'GET', body?: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${server.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(server.url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const ids = (body: { actions: ActionRecord[] }) => body.actions.map((a) => `${a.id}:${a.state}`);

test('GET /api/actions lists the newest state of each action, most recent first, filtered by state, kind, service, alert and since', async () => {
  const all = await call(ui, '/api/actions');
  assert.equal(all.status, 200);
  assert.equal(all.body.limit, 50);
  assert.deepEqual(ids(all.body), ['act-refused:refused', 'act-shift:verified', `${eject.id}:awaiting_approval`]);
  assert.deepEqual(all.body.actions[1], shiftVerified, 'the whole record, as the engine wrote it');
  assert.deepEqual(ids((await call(ui, '/api/actions?state=verified')).body), ['act-shift:verified']);
  assert.deepEqual(ids((await call(ui, '/api/actions?kind=eject')).body), [`${eject.id}:awaiting_approval`]);
  assert.deepEqual(ids((await call(ui, '/api/actions?service=cart')).body), ['act-refused:refused']);
  assert.deepEqual(ids((await call(ui, `/api/actions?alert=${encodeURIComponent('service:payments:1')}`)).body), ['act-shift:verified']);
  assert.deepEqual(ids((await call(ui, `/api/actions?since=${t + 2500}&limit=1`)).body), ['act-refused:refused']);
});

test('a bad actions query gets 400 UI_ERR_BAD_PARAM naming the parameter', async () => {
  const cases: [string, RegExp][] = [
    ['state=done', /parameter state must be one of proposed, refused/], ['kind=teleport', /parameter kind must be one of shift, eject/],
    ['limit=0', /parameter limit must be an integer in 1\.\.500/], ['limit=501', /parameter limit/], ['since=-1', /parameter since must be epoch milliseconds/],
    ['since=soon', /parameter since/], [`service=${'s'.repeat(129)}`, /parameter service must be a name/], ['alert=a%0Ab', /parameter alert must be 1\.\.300 printable/],
    ['state=open&state=verified', /parameter state: give it once/], ['evil=1', /query parameter "evil" is not known here \(known: since, state, kind, service, alert, limit\)/],
  ];
  for (const [q, message] of cases) {
    const { status, body } = await call(ui, `/api/actions?${q}`);
    assert.equal(status, 400, q);
    assert.equal(body.code, 'UI_ERR_BAD_PARAM', q);
    assert.match(body.message, message, q);
  }
});

test('GET /api/actions/<id> gives every state of one action, oldest first; an unknown id is 404', async () => {
  const { status, body } = await call(ui, '/api/actions/act-shift');
  assert.equal(status, 200);
  assert.deepEqual(body, { id: 'act-shift', history: [shift, shiftApplied, shiftVerified] });
  const none = await call(ui, '/api/actions/act-nobody');
  assert.equal(none.status, 404);
  assert.deepEqual(none.body, { code: 'UI_ERR_NOT_FOUND', message: 'no action "act-nobody"' });
  const long = await call(ui, `/api/actions/${'x'.repeat(201)}`);
  assert.equal(long.status, 400);
  assert.match(long.body.message, /action id must be 1\.\.200 printable characters/);
});

test('approving hands the action to the engine as "operator (ui)" and answers its new record; approving it again is 409, an unknown one 404', async () => {
  const waiting = actionRecord(t + 5000, { id: 'act-approve' });
  await store.writeAction(waiting);
  const ok = await call(ui, '/api/actions/act-approve/approve', 'POST');
  assert.equal(ok.status, 200);
  assert.equal(ok.body.state, 'applied');
  assert.equal(ok.body.detail, 'approved by operator (ui)');
  assert.deepEqual((await store.actionHistory('act-approve')).map((r) => r.state), ['awaiting_approval', 'applied']);
  const again = await call(ui, '/api/actions/act-approve/approve', 'POST');
  assert.equal(again.status, 409);
  assert.deepEqual(again.body, { code: 'UI_ERR_CONFLICT', message: 'action act-approve is applied, not awaiting approval' });
  const none = await call(ui, '/api/actions/act-nobody/reject', 'POST');
  assert.equal(none.status, 404);
  assert.equal(none.body.code, 'UI_ERR_NOT_FOUND');
  const get = await call(ui, '/api/actions/act-approve/approve');
  assert.equal(get.status, 405, 'a GET never approves');
  assert.equal(get.headers.get('allow'), 'POST');
  assert.deepEqual(tuning.calls.slice(-3), ['approve act-approve operator (ui)', 'approve act-approve operator (ui)', 'reject act-nobody operator (ui)']);
});

test('rejecting answers the rejected record, by "operator (ui)"', async () => {
  await store.writeAction(actionRecord(t + 6000, { id: 'act-reject' }));
  const r = await call(ui, '/api/actions/act-reject/reject', 'POST');
  assert.equal(r.status, 200);
  assert.deepEqual([r.body.state, r.body.detail, r.body.actor], ['rejected', 'rejected by operator (ui)', 'operator (ui)']);
});

test('the pause switch answers the engine status; GET /api/tuning shows it; a GET on the switch is 405', async () => {
  const paused = await call(ui, '/api/tuning/pause', 'POST');
  assert.equal(paused.status, 200);
  assert.equal(paused.body.paused.by, 'operator (ui)');
  assert.equal((await call(ui, '/api/tuning')).body.tuning.paused.by, 'operator (ui)');
  const resumed = await call(ui, '/api/tuning/resume', 'POST');
  assert.equal(resumed.body.paused, null);
  assert.equal((await call(ui, '/api/tuning/pause')).status, 405);
  assert.equal(tuning.paused, null);
});

test('a rollout the engine refuses is 400 UI_ERR_BAD_ROLLOUT with its problems; a malformed body names every problem; DELETE aborts one in progress', async () => {
  const refusedByEngine = await call(ui, '/api/rollouts', 'POST', { service: 'payments', to: 'v9' });
  assert.equal(refusedByEngine.status, 400);
  assert.equal(refusedByEngine.body.code, 'UI_ERR_BAD_ROLLOUT');
  assert.deepEqual(refusedByEngine.body.problems, ['to: no instance of payments has version "v9" (it has: v1, v2)']);
  const calls = tuning.calls.length;
  const malformed = await call(ui, '/api/rollouts', 'POST', { service: '', steps: 'all', interval_s: '60s', colour: 'red' });
  assert.equal(malformed.status, 400);
  assert.deepEqual(malformed.body.problems, [
    'body: unknown field "colour"', 'service: must be 1..128 printable characters', 'to: must be 1..128 printable characters',
    'steps: must be a list of at most 20 numbers (percentages, e.g. [5, 25, 50, 100])', 'interval_s: must be a number of seconds',
  ]);
  assert.equal((await call(ui, '/api/rollouts', 'POST', '{"service":')).status, 400, 'broken JSON');
  assert.equal(tuning.calls.length, calls, 'a malformed body never reaches the engine');
  const started = await call(ui, '/api/rollouts', 'POST', { service: 'payments', to: 'v2', steps: [10, 100], interval_s: 30 });
  assert.equal(started.status, 201);
  assert.deepEqual([started.body.service, started.body.steps, started.body.interval_s, started.body.actor], ['payments', [10, 100], 30, 'operator (ui)']);
  const aborted = await call(ui, '/api/rollouts/payments', 'DELETE');
  assert.deepEqual([aborted.status, aborted.body], [200, { service: 'payments', state: 'halted' }]);
  const none = await call(ui, '/api/rollouts/payments', 'DELETE');
  assert.deepEqual([none.status, none.body.code], [404, 'UI_ERR_NOT_FOUND']);
});

test('without a tuning engine every change is 503 UI_ERR_NO_TUNING, GET /api/tuning says null, and the actions still list', async () => {
  for (const [method, path] of [['POST', `/api/actions/${eject.id}/approve`], ['POST', '/api/tuning/pause'], ['POST', '/api/rollouts'], ['DELETE', '/api/rollouts/payments']]) {
    const r = await call(bare, path, method, method === 'POST' && path.endsWith('rollouts') ? { service: 'payments', to: 'v2' } : undefined);
    assert.equal(r.status, 503, `${method} ${path}`);
    assert.equal(r.body.code, 'UI_ERR_NO_TUNING');
    assert.match(r.body.message, /no tuning engine runs in this process/);
  }
  assert.deepEqual((await call(bare, '/api/tuning')).body, { tuning: null });
  assert.ok((await call(bare, '/api/actions')).body.actions.length >= 3);
});

test('GET /api/events sends the actions on connect and again when one changes state, without their evidence', async () => {
  const events = await collectEvents(`${ui.url}/api/events`, ui.token, 'actions', (e) => e.length === 2, () => store.writeAction({ ...refused, state: 'expired', updated_at: t + 9000 }));
  const first = events[0].actions.find((a: ActionRecord) => a.id === 'act-refused');
  assert.equal(first.state, 'refused');
  assert.equal(first.guardrail, refused.guardrail);
  assert.equal('evidence' in first || 'requested' in first, false, 'the event leaves the heavy fields to the API');
  assert.equal(events[1].actions.find((a: ActionRecord) => a.id === 'act-refused').state, 'expired');
});

/** One request with exactly these headers (Host defaults to the UI's own). */
function send(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const port = Number(new URL(ui.url).port);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, setHost: false, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('approving or pausing without the token, from a foreign Origin, or through a rebinding Host is refused and changes nothing', async () => {
  const waiting = actionRecord(t + 7000, { id: 'act-abuse' });
  await store.writeAction(waiting);
  const port = Number(new URL(ui.url).port);
  const own = `http://127.0.0.1:${port}`;
  const bearer = `Bearer ${ui.token}`;
  const cookie = `meshlens_ui_${port}=${ui.token}`;
  const calls = tuning.calls.length;
  const attempts: [string, Record<string, string>, number, string][] = [
    ['no credentials', { origin: own }, 401, 'UI_ERR_UNAUTHENTICATED'],
    ['a wrong token', { origin: own, authorization: `Bearer ${'x'.repeat(43)}` }, 401, 'UI_ERR_UNAUTHENTICATED'],
    ['a foreign Origin with the token', { origin: 'https://evil.example', authorization: bearer }, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['a foreign Origin with the cookie', { origin: 'http://evil.example', cookie }, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['the cookie and no Origin', { cookie }, 403, 'UI_ERR_ORIGIN_NOT_ALLOWED'],
    ['a rebinding Host', { host: `evil.example:${port}`, authorization: bearer }, 421, 'UI_ERR_HOST_NOT_ALLOWED'],
  ];
  for (const path of ['/api/actions/act-abuse/approve', '/api/tuning/pause', '/api/rollouts/payments']) {
    for (const [what, headers, status, code] of attempts) {
      const method = path.startsWith('/api/rollouts') ? 'DELETE' : 'POST';
      const r = await send(method, path, headers);
      assert.equal(r.status, status, `${method} ${path} with ${what}`);
      assert.equal(r.body.code, code, `${method} ${path} with ${what}`);
    }
  }
  assert.equal(tuning.calls.length, calls, 'the engine was never called');
  assert.deepEqual(await store.actionHistory('act-abuse'), [waiting], 'the action still awaits approval');
  assert.equal(tuning.paused, null);
});
