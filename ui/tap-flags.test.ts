// The tap explorer's filter on the data plane's decisions (the tap's `flags`):
// GET /api/taps?flag= against a real chdb store, and the select that drives
// it in a real browser. Its own file: chdb allows one data directory per process.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createChdbStore, TAP_FLAGS, type TapStore } from '../ingest/index.ts';
import { startUi, type RunningUi } from './index.ts';
import { launchChromium } from './testing/chromium.ts';
import { SHOP_CALLS, shopTrafficBatches } from './testing/shop-traffic.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
let browser: Browser;
let page: Page;

// cart → payments: 40 calls, every 8th a 503 cart's sidecar retried until its budget ran out: 5 flagged taps.
const CALLS = SHOP_CALLS.map((c) => (c.src === 'cart' && c.dst === 'payments' ? { ...c, failFlags: 'retried,retry_budget_exhausted' } : c));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-tap-flags-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  for (const b of shopTrafficBatches({ now: Date.now() - 1000, calls: CALLS })) await store.writeBatch(b);
  ui = await startUi({ store, port: 0, eventIntervalMs: 500, control: { status: () => ({ version: 1 }) }, log: () => {} });
});

after(async () => {
  await browser?.close();
  await ui?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: any }> {
  const res = await fetch(ui.url + path, { headers: { authorization: `Bearer ${ui.token}` } });
  return { status: res.status, body: await res.json() };
}

test('GET /api/taps?flag= returns only the taps whose flags name that decision, with or without a service', async () => {
  const retried = await get('/api/taps?flag=retried&limit=1000');
  assert.equal(retried.status, 200);
  assert.deepEqual(retried.body.taps.map((t: any) => [t.proxy, t.direction, t.dst_service, t.status, t.flags]),
    Array(5).fill(['cart-1', 'outbound', 'payments', 503, 'retried,retry_budget_exhausted']));
  assert.equal((await get('/api/taps?flag=retry_budget_exhausted&service=payments&limit=1000')).body.taps.length, 5);
  assert.deepEqual((await get('/api/taps?flag=breaker_open&limit=1000')).body.taps, []);
  assert.equal((await get('/api/taps?limit=1000')).body.taps.length, 1000, 'without the filter, every tap');
});

test('a flag that is not one of TAP_FLAGS, a crafted one or one given twice is refused 400 naming the parameter', async () => {
  for (const q of ['flag=retry', "flag=retried'%20OR%201=1", 'flag=retried,ejected', 'flag=retried&flag=ejected', `flag=${'x'.repeat(5000)}`]) {
    const { status, body } = await get(`/api/taps?${q}`);
    assert.equal(status, 400, q.slice(0, 60));
    assert.equal(body.code, 'UI_ERR_BAD_PARAM');
    assert.match(body.message, /parameter flag\b/);
  }
});

test('the explorer offers every decision of TAP_FLAGS, and no other', async () => {
  const html = await readFile(new URL('./public/index.html', import.meta.url), 'utf8');
  const select = /<select id="taps-flag"[^>]*>([\s\S]*?)<\/select>/.exec(html)?.[1] ?? '';
  assert.deepEqual([...select.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]), ['', ...TAP_FLAGS]);
});

test('choosing a decision in the tap explorer shows only the requests it was taken on, each with its flags; "any" shows all again', async () => {
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(ui.loginUrl);
  await page.waitForSelector('#taps tbody tr[data-seq]');
  await page.selectOption('#taps-flag', 'retried');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#taps tbody tr')];
    return rows.length === 5 && rows.every((r) => r.querySelector('span.flags')?.textContent === 'retried · retry_budget_exhausted');
  });
  await page.selectOption('#taps-flag', 'breaker_open');
  await page.waitForFunction(() => document.querySelector('#taps tbody tr.placeholder')?.textContent === 'no taps with the decision “breaker_open” yet');
  await page.selectOption('#taps-flag', '');
  await page.waitForFunction(() => document.querySelectorAll('#taps tbody tr[data-seq]').length === 25);
  assert.deepEqual(pageErrors, []);
});
