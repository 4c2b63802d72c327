// The page in a real headless Chromium (Debian's, driven by playwright-core)
// against the real UI server and a real chdb store holding the shop's taps.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium } from './testing/chromium.ts';
import type { Browser, Page } from 'playwright-core';
import { createChdbStore, type TapStore } from '../ingest/index.ts';
import { formatRps, startUi, type RunningUi } from './index.ts';
import { shopTrafficBatches } from './testing/shop-traffic.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** The control plane's status shape (mesh/control ControlStatus), one sidecar not yet on the newest config. */
const controlStatus = {
  version: 3,
  services: { web: [], catalog: [], cart: [], payments: [], inventory: [] },
  proxies: ['web-1', 'catalog-1', 'cart-1', 'payments-1', 'inventory-1'].map((proxy, i) => ({
    proxy, connected: true, sent_version: 3, acked_version: i === 4 ? 2 : 3,
  })),
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-browser-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  ui = await startUi({
    store, port: 0, eventIntervalMs: 500, log: () => {},
    control: { status: () => controlStatus },
  });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
});

after(async () => {
  await browser?.close();
  await ui?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

test('opened without the token, the page shows no data and says to open the URL printed at start', async () => {
  const stranger = await browser.newPage();
  try {
    await stranger.goto(ui.url);
    await stranger.waitForSelector('#signed-out:not([hidden])');
    assert.equal(await stranger.isHidden('#main'), true, 'the panels are hidden');
    const text = (await stranger.textContent('#signed-out'))?.replace(/\s+/g, ' ') ?? '';
    assert.match(text, /Open the URL that meshlens up \(or meshlens control\) printed when it started: meshlens is up: open http:\/\/…\/\?token=…/);
    assert.match(text, /<data-dir>\/operator-token/);
    assert.match(await stranger.textContent('#signed-out-detail') ?? '', /^UI_ERR_UNAUTHENTICATED: no operator credentials/);
    assert.equal(await stranger.textContent('#mesh-status'), 'not signed in');
    if (process.env.MESHLENS_UI_SIGNED_OUT_SCREENSHOT) await stranger.screenshot({ path: process.env.MESHLENS_UI_SIGNED_OUT_SCREENSHOT, fullPage: true });
  } finally {
    await stranger.close();
  }
});

test('the operator opens the printed URL: signed in by an HttpOnly SameSite=Strict cookie, and the token leaves the address bar', async () => {
  await page.goto(ui.loginUrl);
  assert.equal(page.url(), `${ui.url}/`);
  const cookies = await page.context().cookies(ui.url);
  assert.deepEqual(cookies.map((c) => [c.value === ui.token, c.httpOnly, c.sameSite]), [[true, true, 'Strict']]);
  assert.equal(await page.isHidden('#signed-out'), true);
});

test('before any traffic the page says it is waiting for traffic and draws no nodes', async () => {
  assert.equal(await page.title(), 'meshlens');
  await page.waitForFunction(() => document.getElementById('live')?.dataset.state === 'live');
  assert.equal(await page.isVisible('#graph-empty'), true);
  assert.equal(await page.textContent('#graph-empty'), 'waiting for traffic…');
  assert.equal(await page.$$eval('#service-graph g.node', (gs) => gs.length), 0);
});

test('taps written after the page opened appear in the graph without a reload: web node, edges with rps > 0, labels', async () => {
  for (const b of shopTrafficBatches({ now: Date.now() - 1000 })) await store.writeBatch(b);
  await page.waitForSelector('#service-graph g.node[data-service="web"]');
  // The page may have drawn a graph read between two of the batch writes above:
  // wait for one drawn from all of them (web's own stats and the web -> catalog edge).
  await page.waitForFunction(() =>
    /% err/.test(document.querySelector('#service-graph g.node[data-service="web"]')?.textContent ?? '') &&
    Number(document.querySelector('#service-graph g.edge[data-src="web"][data-dst="catalog"]')?.getAttribute('data-rps')) > 0);
  const services = await page.$$eval('#service-graph g.node', (gs) => gs.map((g) => g.getAttribute('data-service')).sort());
  assert.deepEqual(services, ['cart', 'catalog', 'external', 'inventory', 'payments', 'web']);
  const edge = await page.$eval('#service-graph g.edge[data-src="web"][data-dst="catalog"]', (g) => ({
    rps: Number(g.getAttribute('data-rps')), label: g.querySelector('text')?.textContent,
  }));
  // 240 requests over a 60 s window; the store starts the window at a 10 s
  // bucket boundary, so the rate divides by the 60..70 s actually covered.
  assert.ok(edge.rps >= 240 / 70 && edge.rps <= 240 / 60, `rps ${edge.rps}`);
  assert.equal(edge.label, formatRps(edge.rps));
  const webText = await page.$eval('#service-graph g.node[data-service="web"]', (g) => g.textContent);
  assert.match(webText ?? '', /web[\d.]+\/s · 0% errp50 \d+ ms · p99 \d+ ms/);
  assert.equal(await page.isHidden('#graph-empty'), true, 'the empty-state message is gone');

  await page.waitForSelector('#taps tbody tr:not(.placeholder)');
  assert.equal(await page.$$eval('#taps tbody tr', (rows) => rows.length), 25);
  await page.waitForFunction(() => /sidecars/.test(document.getElementById('mesh-status')?.textContent ?? ''));
  assert.match(await page.textContent('#mesh-status') ?? '', /^config v3 · services 5 · sidecars 5\/5 connected · behind 1 · ui up \d+m \d+s$/);
  await page.waitForTimeout(500); // let the enter transition finish so the screenshot shows the settled graph

  const shot = join(dir, 'meshlens-ui.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok((await stat(shot)).size > 10_000);
  if (process.env.MESHLENS_UI_SCREENSHOT) await page.screenshot({ path: process.env.MESHLENS_UI_SCREENSHOT, fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test('hovering an edge shows its details', async () => {
  await page.hover('#service-graph g.edge[data-src="cart"][data-dst="payments"] text');
  await page.waitForSelector('#tooltip:not([hidden])');
  const tip = await page.textContent('#tooltip');
  assert.match(tip ?? '', /cart → payments/);
  assert.match(tip ?? '', /errors5 \(12\.5%\)/);
});

test('a request the policy denied shows a denied badge carrying the reason in the taps table', async () => {
  const badge = await page.waitForSelector('#taps tbody span.denied');
  assert.equal(await badge.textContent(), 'denied');
  assert.equal(await badge.getAttribute('title'), 'test: anonymous callers may not do this');
  const pill = await page.$eval('#taps tbody span.denied', (b) => b.parentElement?.querySelector('.status-pill')?.getAttribute('title') ?? '');
  assert.match(pill, /MESH_ERR_POLICY_DENIED — policy deny: test: anonymous callers may not do this/);
});

test('clicking a service shows only its taps; clearing the filter shows all again', async () => {
  await page.click('#service-graph g.node[data-service="payments"] text.name');
  await page.waitForSelector('#taps-filter:not([hidden])');
  assert.equal(await page.textContent('#taps-filter'), 'payments ✕');
  await page.waitForFunction(() => {
    const flows = [...document.querySelectorAll('#taps tbody tr td:nth-child(4)')].map((td) => td.textContent ?? '');
    return flows.length > 0 && flows.every((f) => f.includes('payments'));
  });
  assert.equal(await page.$eval('#service-graph g.node[data-service="payments"]', (g) => g.classList.contains('selected')), true);
  await page.click('#taps-filter');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#taps tbody tr td:nth-child(4)')].some((td) => !(td.textContent ?? '').includes('payments')));
  assert.equal(await page.isHidden('#taps-filter'), true);
  assert.deepEqual(pageErrors, []);
});

test('an alert appears in the alerts panel while open and moves to the resolved list when it resolves', async () => {
  const at = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
  const open = {
    id: `edge:cart→payments:${at}`, scope: 'edge' as const, subject: 'cart→payments', state: 'open' as const, opened_at: at, updated_at: at,
    resolved_at: null, score: 6.5, threshold: 1.8, features: [{ name: 'p99_ms', share: 0.6 }, { name: 'retries_per_request', share: 0.3 }],
    explanation: 'p99 latency and retries on cart → payments', model_version: 'm20261129-040000',
  };
  await store.writeAlert(open);
  const li = '#alerts li.alert[data-subject="cart→payments"]';
  await page.waitForSelector(`#alerts .alerts-open ${li.slice('#alerts '.length)}[data-state="open"]`);
  const text = await page.textContent(`${li}[data-state="open"]`);
  assert.match(text ?? '', /cart → payments/);
  assert.match(text ?? '', /score 6\.50 \/ 1\.80/);
  assert.match(text ?? '', /p99 latency and retries on cart → payments/);
  assert.match(text ?? '', /model m20261129-040000/);
  await store.writeAlert({ ...open, state: 'resolved', updated_at: at + 90_000, resolved_at: at + 90_000 });
  await page.waitForSelector(`#alerts .alerts-resolved ${li.slice('#alerts '.length)}[data-state="resolved"]`);
  assert.equal(await page.$(`${li}[data-state="open"]`), null);
  assert.deepEqual(pageErrors, []);
});
