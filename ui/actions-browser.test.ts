// The Actions panel, the actions an alert caused and the graph's marks of
// route splits and ejections, in a real headless Chromium against the real UI
// server and a real chdb store. The engine behind the buttons is a recording
// TuningControl that writes each decision to the store as the engine does
// (cli/control-tuning-ui.test.ts clicks Approve against the real engine).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createChdbStore, type StoredAlert, type TapStore } from '../ingest/index.ts';
import { startUi, type RunningUi } from './index.ts';
import { launchChromium } from './testing/chromium.ts';
import { actionRecord, RecordingTuning } from './testing/recording-tuning.ts';
import { shopTrafficBatches } from './testing/shop-traffic.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
let tuning: RecordingTuning;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const t = Math.floor(Date.now() / 1000) * 1000 - 300_000;
const HOSTILE = '<img src=x onerror="window.__pwned=1"> catalog-2 fails <b>40%</b>';
const alert: StoredAlert = {
  id: `service:catalog:${t}`, scope: 'service', subject: 'catalog', state: 'open', opened_at: t, updated_at: t, resolved_at: null,
  score: 5.1, threshold: 1.6, features: [{ name: 'error_rate', share: 0.9 }], explanation: 'errors on catalog', model_version: 'm20261129-040000',
};
const waiting = actionRecord(t + 1000, { id: 'act-eject', reason: HOSTILE, alert_ids: [alert.id] });
const shift = actionRecord(t + 2000, {
  id: 'act-shift', kind: 'shift', subject: 'payments', service: 'payments', mode: 'auto', state: 'verified',
  params: { kind: 'shift', service: 'payments', subsets: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }] },
  guardrail: 'max shift step: asked v1 0% / v2 100%; clipped to v1 90% / v2 10% (at most 10 points per action)', reason: 'v2 is healthy at 5%',
  detail: 'verified: error_rate of version payments@v2 0.0% at or under 5.0%', config_before: 3, config_after: 4,
  acks: ['web-1', 'catalog-1', 'cart-1', 'payments-1', 'inventory-1'].map((proxy, i) => ({ proxy, at: t + 2100 + i })),
});
const control = {
  version: 4,
  services: {
    web: [], catalog: [], cart: [], inventory: [],
    // A version label holding markup: the start form offers it as text, and the engine's refusal names it.
    payments: ['v1', 'v2', '<b>x</b>'].map((version, i) => ({ instance: `payments-${i + 1}`, addr: '127.0.0.1', port: 9100 + i, labels: { version } })),
  },
  proxies: [],
  routes: { routes: [{ service: 'payments', subsets: [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }], set_at: t }], accepted: 1, refused: 0, last_error: '' },
  ejections: [{ service: 'catalog', instance: 'catalog-2', until: Date.now() + 150_000, reason: '<script>window.__pwned=2</script>' }],
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-actions-browser-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  for (const b of shopTrafficBatches({ now: Date.now() - 1000 })) await store.writeBatch(b);
  await store.writeAlert(alert);
  for (const r of [waiting, shift]) await store.writeAction(r);
  tuning = new RecordingTuning(store);
  tuning.startRollout({ service: 'payments', to: 'v2' }, 'operator');
  Object.assign(tuning.rollouts[0], {
    step: 1, weight: 25, detail: 'shifted: v2 healthy at 5%',
    judge: { verdict: 'healthy', reasons: ['errors: v2 0 of 120, v1 2 of 1080 (Fisher p = 1.00)'], windows: 6 },
  });
  ui = await startUi({ store, port: 0, eventIntervalMs: 500, tuning, control: { status: () => control }, log: () => {} });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  await page.goto(ui.loginUrl);
});

after(async () => {
  await browser?.close();
  await ui?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

const row = (id: string) => `#actions li.action[data-id="${id}"]`;
/** What a person reads: the rendered text, runs of white space as one space. */
const text = async (selector: string) => (await page.innerText(selector)).replace(/\s+/g, ' ').trim();

test('the Actions panel lists each action newest first with its state, reason, guardrail note, detail, config version and ACKs', async () => {
  await page.waitForSelector(row('act-eject'));
  assert.deepEqual(await page.$$eval('#actions li.action', (lis) => lis.map((li) => `${(li as HTMLElement).dataset.id}:${(li as HTMLElement).dataset.state}`)),
    ['act-shift:verified', 'act-eject:awaiting_approval']);
  const s = await text(row('act-shift'));
  assert.match(s, /shift payments v1 90% \/ v2 10% verified mode auto/);
  assert.match(s, /v2 is healthy at 5%/);
  assert.match(s, /clipped: max shift step: asked v1 0% \/ v2 100%; clipped to v1 90% \/ v2 10%/);
  assert.match(s, /verified: error_rate of version payments@v2 0\.0% at or under 5\.0%/);
  assert.match(s, /config v3 → v4 · 5 sidecars ACKed · by engine$/);
  assert.equal(await page.$$eval(`${row('act-shift')} button`, (b) => b.length), 0, 'nothing to approve on a verified action');
  assert.deepEqual(await page.$$eval(`${row('act-eject')} button`, (bs) => bs.map((b) => b.textContent)), ['Approve', 'Reject']);
  assert.deepEqual(pageErrors, []);
});

test('a reason holding markup shows as that text: no element is made and no handler runs', async () => {
  assert.equal(await page.textContent(`${row('act-eject')} .action-reason`), HOSTILE);
  assert.equal(await page.$eval(`${row('act-eject')} .action-reason`, (e) => e.children.length), 0, 'the <img> and <b> stay text');
  assert.equal(await page.$$eval('img, script:not([src])', (e) => e.length), 0, 'no element from a reason anywhere on the page');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
});

test('an alert lists the actions it caused', async () => {
  const caused = `#alerts li.alert[data-id="${alert.id}"] ul.alert-actions li.alert-action[data-id="act-eject"]`;
  await page.waitForSelector(`${caused}[data-state="awaiting_approval"]`);
  assert.match(await text(caused), /^→ eject catalog-2 for 30 s awaiting approval \d/);
});

test('the graph marks the split route on its service and the ejected instance with its time left', async () => {
  await page.waitForFunction(() => document.querySelector('#service-graph g.node[data-service="payments"] text.split')?.textContent === 'v1 90% / v2 10%');
  const ejected = await page.waitForSelector('#service-graph g.node[data-service="catalog"] text.ejected[data-ejected="catalog-2"]');
  assert.match(await ejected.textContent() ?? '', /^ejected: catalog-2 (2m \d+s|\d+ s)$/);
  assert.equal(await page.$eval('#service-graph g.node[data-service="catalog"]', (g) => g.classList.contains('has-ejected')), true);
  assert.equal(await page.textContent('#service-graph g.node[data-service="web"] text.split'), '', 'a service on its default route has no split');
  await page.hover('#service-graph g.node[data-service="catalog"] text.name');
  await page.waitForSelector('#tooltip:not([hidden])');
  assert.match(await text('#tooltip'), /ejected catalog-2\s?(2m \d+s|\d+ s) left · <script>window\.__pwned=2<\/script>/);
  await page.mouse.move(0, 0);
});

test('the engine switch shows its modes and pauses and resumes it; a rollout shows its step, weight and judge verdict and can be aborted', async () => {
  await page.waitForSelector('#actions[data-engine="running"]');
  assert.equal(await page.textContent('#actions .engine-modes'), 'modes: shift auto · eject approve · scale dry-run · ratelimit off');
  await page.click('#actions button.engine-switch');
  await page.waitForSelector('#actions[data-engine="paused"]');
  assert.equal(tuning.paused?.by, 'operator (ui)');
  assert.match(await text('#actions .engine-state'), /^paused by operator \(ui\) since \d/);
  assert.equal(await page.textContent('#actions button.engine-switch'), 'Resume');
  await page.click('#actions button.engine-switch');
  await page.waitForSelector('#actions[data-engine="running"]');
  assert.equal(tuning.paused, null);

  const rollout = '#actions li.rollout[data-service="payments"]';
  assert.match(await text(`${rollout}[data-state="progressing"]`), /^rollout of payments: v1 → v2 step 2 of 4 \(5, 25, 50, 100%\) v2 at 25% judge: healthy progressing Abort shifted: v2 healthy at 5%$/);
  assert.match(await page.getAttribute(`${rollout} .judge`, 'title') ?? '', /Fisher p = 1\.00/);
  await page.click(`${rollout} button.abort`);
  await page.waitForSelector(`${rollout}[data-state="halted"]`);
  assert.ok(tuning.calls.includes('abortRollout payments operator (ui)'));
  assert.deepEqual(pageErrors, []);
});

test('Approve on an action awaiting approval approves it: the engine hears "operator (ui)", and the row and the alert show it applied', async () => {
  await page.click(`${row('act-eject')} button.approve`);
  await page.waitForSelector(`${row('act-eject')}[data-state="applied"]`);
  assert.ok(tuning.calls.includes('approve act-eject operator (ui)'));
  assert.match(await text(row('act-eject')), /approved by operator \(ui\) config v7 → v8 · 3 sidecars ACKed · 1 alert · by operator \(ui\)$/);
  assert.equal(await page.$$eval(`${row('act-eject')} button`, (b) => b.length), 0);
  await page.waitForSelector(`#alerts li.alert-action[data-id="act-eject"][data-state="applied"]`);
  assert.equal(await page.isHidden('#actions .actions-error'), true);
  assert.deepEqual(pageErrors, []);
  if (process.env.MESHLENS_UI_ACTIONS_SCREENSHOT) await page.screenshot({ path: process.env.MESHLENS_UI_ACTIONS_SCREENSHOT, fullPage: true });
});

test('the start form offers the versions not carrying the most traffic, refuses bad steps itself, starts a rollout and lists the engine\'s problems as text', async () => {
  const form = '#actions form.rollout-start';
  const options = (name: string) => page.$$eval(`${form} select[name="${name}"] option`, (os) => os.map((o) => o.textContent));
  await page.waitForSelector(`${form} fieldset:not(:disabled)`);
  assert.deepEqual(await options('service'), ['payments'], 'the only service with two versions');
  assert.deepEqual(await options('to'), ['<b>x</b>', 'v2'], 'v1 carries 90% and is what the rollout starts from');
  assert.equal(await page.inputValue(`${form} input[name="steps"]`), '5,25,50,100');
  assert.equal(await page.inputValue(`${form} input[name="interval_s"]`), '60');

  const before = tuning.calls.length;
  await page.fill(`${form} input[name="steps"]`, '10,half,100');
  await page.click(`${form} button.start`);
  await page.waitForSelector(`${form} ul.rollout-problems:not([hidden])`);
  assert.deepEqual(await page.$$eval(`${form} ul.rollout-problems li`, (lis) => lis.map((li) => li.textContent)),
    ['steps: not whole percentages: "half"; give them comma-separated, e.g. 5,25,50,100']);
  assert.equal(tuning.calls.length, before, 'no request for steps that are not numbers');

  await page.fill(`${form} input[name="steps"]`, '10, 50, 100');
  await page.fill(`${form} input[name="interval_s"]`, '30');
  await page.selectOption(`${form} select[name="to"]`, 'v2');
  await page.click(`${form} button.start`);
  await page.waitForSelector('#actions li.rollout[data-service="payments"][data-state="progressing"]');
  const started = tuning.calls.slice(before).filter((c) => c.startsWith('startRollout '));
  assert.equal(started.length, 1);
  assert.match(started[0], / operator \(ui\)$/);
  assert.deepEqual(JSON.parse(started[0].slice('startRollout '.length, -' operator (ui)'.length)), { service: 'payments', to: 'v2', steps: [10, 50, 100], interval_s: 30 });
  assert.match(await text('#actions li.rollout[data-state="progressing"]'), /^rollout of payments: v1 → v2 step 0 of 3 \(10, 50, 100%\)/);
  assert.equal(await page.isHidden(`${form} ul.rollout-problems`), true, 'the earlier problem is gone');
  assert.equal(await page.inputValue(`${form} input[name="steps"]`), '5,25,50,100', 'the form is cleared');
  assert.equal(await page.inputValue(`${form} input[name="interval_s"]`), '60');

  assert.deepEqual(pageErrors, []);
  await page.selectOption(`${form} select[name="to"]`, '<b>x</b>');
  await page.click(`${form} button.start`);
  await page.waitForSelector(`${form} ul.rollout-problems:not([hidden])`);
  assert.deepEqual(await page.$$eval(`${form} ul.rollout-problems li`, (lis) => lis.map((li) => li.textContent)),
    ['to: no instance of payments has version "<b>x</b>" (it has: v1, v2)']);
  assert.equal(await page.$$eval(`${form} b`, (b) => b.length), 0, 'the problem and the option stay text');
  assert.equal(await page.inputValue(`${form} select[name="to"]`), '<b>x</b>', 'a refused form keeps what was typed');
  assert.deepEqual(pageErrors.splice(0), ['Failed to load resource: the server responded with a status of 400 (Bad Request)'], 'Chromium logs the 400 itself; nothing else went wrong');
});

test('the start form is disabled while the engine is paused, and says so', async () => {
  const fields = 'form.rollout-start fieldset';
  await page.click('#actions button.engine-switch');
  await page.waitForSelector(`#actions[data-engine="paused"] ${fields}:disabled`);
  assert.equal(await page.textContent('#actions .rollout-start-note'), 'resume the engine to start one');
  await page.click('#actions button.engine-switch');
  await page.waitForSelector(`#actions[data-engine="running"] ${fields}:not(:disabled)`);
  assert.equal(await page.textContent('#actions .rollout-start-note'), '');
});

test('without a tuning engine the start form is disabled', async () => {
  const bare = await startUi({ store, port: 0, control: { status: () => control }, log: () => {} });
  const other = await browser.newPage();
  try {
    await other.goto(bare.loginUrl);
    await other.waitForSelector('#actions[data-engine="none"] form.rollout-start fieldset:disabled');
    await other.waitForFunction(() => document.querySelector('#actions .rollout-start-note')?.textContent === 'needs a tuning engine');
    assert.equal(await other.$$eval('#actions select[name="service"] option', (os) => os.length), 1, 'it still shows what it would offer');
  } finally {
    await other.close();
    await bare.close();
  }
});
