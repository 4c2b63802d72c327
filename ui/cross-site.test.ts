// Cross-site request forgery against the UI from a real browser: the operator
// has signed in (the ?token= link, cookie set) and, in the same Chromium,
// opens a page from another local origin that tries to retrain the models.
// Two attacker origins: http://localhost:<p> is another site (SameSite=Strict
// keeps the cookie home), http://127.0.0.1:<p> is the same site on another
// port (cookies ignore ports: the cookie goes along, only Origin differs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { launchChromium } from './testing/chromium.ts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RunningUi } from './index.ts';
import { startDetectorUi, type DetectorUi } from './testing/detector-ui.ts';

let stack: DetectorUi;
let ui: RunningUi;
let attacker: http.Server;
let attackerPort: number;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every subject POST /api/models/retrain handed to the detector. */
let retrains: string[];
let logs: string[];

/** The attacker's pages; each fires its request as soon as it loads. */
function attackerPage(kind: string, target: string): string {
  const retrain = `${target}/api/models/retrain?subject=cart`;
  switch (kind) {
    case 'fetch': return `<script>
      fetch(${JSON.stringify(retrain)}, { method: 'POST', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: 'x' }).catch(() => {});
      fetch(${JSON.stringify(retrain)}, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: 'x' }).catch(() => {});
    </script>`;
    case 'form': return `<form method="POST" enctype="text/plain" action="${retrain}"><input name="a" value="b"></form>
      <script>document.forms[0].submit();</script>`;
    case 'get': return `<img src="${retrain}"><script>fetch(${JSON.stringify(retrain)}, { credentials: 'include' }).catch(() => {});</script>`;
    case 'navigate': return `<script>location.href = ${JSON.stringify(retrain)};</script>`;
    default: return 'no such page';
  }
}

before(async () => {
  stack = await startDetectorUi('ui-cross-site', { eventIntervalMs: 500 });
  ({ ui, logs, retrains } = stack);
  attacker = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(attackerPage((req.url ?? '/').slice(1), ui.url));
  });
  await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
  attackerPort = (attacker.address() as AddressInfo).port;
  browser = await launchChromium();
  context = await browser.newContext();
  page = await context.newPage();
});

after(async () => {
  await browser?.close();
  await new Promise<void>((r) => (attacker ? attacker.close(() => r()) : r()));
  await stack?.close();
});

async function uiCounters(): Promise<Record<string, number>> {
  const res = await fetch(`${ui.url}/api/status`, { headers: { authorization: `Bearer ${ui.token}` } });
  return (await res.json()).ui;
}

/** Polls `probe` every 100 ms for up to 10 s; the assertions after it say what was missing. */
async function until(probe: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 100 && !(await probe()); i++) await new Promise((r) => setTimeout(r, 100));
}

test('the operator signs in through the printed URL, and the page itself can retrain (the attacks below would work without the checks)', async () => {
  await page.goto(ui.loginUrl);
  assert.equal(page.url(), `${ui.url}/`, 'the token is gone from the address bar');
  const cookies = await context.cookies(ui.url);
  assert.equal(cookies.length, 1);
  assert.deepEqual([cookies[0].httpOnly, cookies[0].sameSite], [true, 'Strict']);
  await page.waitForFunction(() => document.getElementById('live')?.dataset.state === 'live');
  const status = await page.evaluate(async () => (await fetch('/api/models/retrain?subject=cart', { method: 'POST' })).status);
  assert.equal(status, 202);
  assert.deepEqual(retrains, ['cart']);
});

for (const site of ['another site (localhost)', 'the same site on another port (127.0.0.1)']) {
  const crossSite = site.includes('localhost');
  const origin = () => `http://${crossSite ? 'localhost' : '127.0.0.1'}:${attackerPort}`;

  test(`a page from ${site} cannot retrain: fetch POST text/plain (cors and no-cors), form POST, GET and navigation are all refused`, async () => {
    const before = { retrains: retrains.length, logs: logs.length, badRequests: (await uiCounters()).bad_requests };
    // What the UI answered, read on the server's side: the browser hides cross-origin answers from the page (and partly from playwright).
    const refusals = (method: string) => logs.slice(before.logs).filter((l) => l.startsWith(`ui: refused ${method} "/api/models/retrain"`));
    const attack = await context.newPage();
    try {
      await attack.goto(`${origin()}/fetch`);
      await until(() => refusals('POST').length >= 2);
      await attack.goto(`${origin()}/form`);
      await attack.waitForURL(`${ui.url}/api/models/retrain?subject=cart`);
      assert.match(await attack.textContent('body') ?? '', crossSite ? /UI_ERR_CROSS_SITE/ : /UI_ERR_ORIGIN_NOT_ALLOWED/);
      await attack.goto(`${origin()}/get`);
      await attack.goto(`${origin()}/navigate`);
      await attack.waitForURL(`${ui.url}/api/models/retrain?subject=cart`);
      // Cross-site, SameSite=Strict kept the cookie home (401); same-site it came along, and GET is simply not a retrain (405).
      assert.match(await attack.textContent('body') ?? '', crossSite ? /UI_ERR_UNAUTHENTICATED/ : /UI_ERR_METHOD_NOT_ALLOWED/);
    } finally {
      await attack.close();
    }
    const posts = refusals('POST');
    assert.equal(posts.length, 3, posts.join('\n'));
    const want = crossSite ? 'UI_ERR_CROSS_SITE' : 'UI_ERR_ORIGIN_NOT_ALLOWED';
    for (const l of posts) assert.match(l, new RegExp(`origin "${origin()}": ${want} `));
    // The img, the fetch and the navigation: each one refused or answered 405.
    await until(async () => refusals('GET').length + (await uiCounters()).bad_requests - before.badRequests >= 3);
    assert.equal(refusals('GET').length + (await uiCounters()).bad_requests - before.badRequests, 3, logs.slice(before.logs).join('\n'));
    assert.equal(retrains.length, before.retrains, 'the models were never asked to retrain');
  });
}

test('after the attacks the operator\'s own page still works: the session was not disturbed', async () => {
  const status = await page.evaluate(async () => (await fetch('/api/status')).status);
  assert.equal(status, 200);
  assert.deepEqual(retrains, ['cart']);
});
