// The Reports page in a real headless Chromium against the real UI server, a
// real chdb store holding the demo shop's sealed taps and a real
// ReportService: issue a report from the form, read every control's status,
// follow a counterexample into the tap explorer, and see a report full of
// markup from the network shown as text.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createChdbStore, type TapStore } from '../ingest/index.ts';
import { ReportService, type ReportFile } from '../policy/index.ts';
import { startUi, type RunningUi } from './index.ts';
import { launchChromium } from './testing/chromium.ts';
import { HOSTILE_CALLS, HOSTILE_CLAUSE_TEXT, HOSTILE_PATH, HOSTILE_SUMMARY, HOSTILE_TITLE, writeHostilePack } from './testing/report-pack.ts';
import { shopTrafficBatches } from './testing/shop-traffic.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const STATUS_WORDS: Record<string, string> = { pass: 'pass', fail: 'fail', not_applicable: 'not applicable', insufficient_evidence: 'insufficient evidence' };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-reports-browser-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  // Ten minutes ago: inside "last 1 h", and far enough back that the newest taps table does not show it by chance.
  for (const b of shopTrafficBatches({ now: Date.now() - 600_000, calls: HOSTILE_CALLS })) await store.writeBatch(b);
  const packs = { baseline: 'baseline', echo: await writeHostilePack(dir) };
  ui = await startUi({ store, port: 0, reports: { service: new ReportService(store), packs }, log: () => {} });
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
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

/** What a person reads: the rendered text, runs of white space as one space. */
const text = async (selector: string) => (await page.innerText(selector)).replace(/\s+/g, ' ').trim();

/** The report file the page shows, as the API hands it out. */
async function fileOf(id: string): Promise<ReportFile> {
  const res = await fetch(`${ui.url}/api/reports/${id}`, { headers: { authorization: `Bearer ${ui.token}` } });
  return await res.json() as ReportFile;
}

async function issue(pack: string): Promise<string> {
  const listed = await page.$$eval('#reports tr.report', (rows) => rows.length);
  await page.selectOption('#reports select[name="pack"]', pack);
  await page.click('#reports button.issue');
  await page.waitForFunction((n) => document.querySelectorAll('#reports tr.report').length === n + 1
    || !document.querySelector<HTMLElement>('#reports ul.report-problems')!.hidden, listed, { timeout: 120_000 });
  if (await page.isVisible('#reports ul.report-problems')) assert.fail(`no report was issued: ${await text('#reports ul.report-problems')}`);
  const view = await page.waitForSelector('#reports article.report-view:not([hidden])[data-id]');
  const id = (await view.getAttribute('data-id'))!;
  await page.waitForFunction((i) => location.hash === `#reports/${i}`, id);
  return id;
}

test('the Reports link opens the Reports page: the form offers the packs, the list is empty, the mesh panels are hidden', async () => {
  await page.waitForSelector('#taps tbody tr:not(.placeholder)');
  await page.click('nav.views a[data-view="reports"]');
  await page.waitForSelector('#reports[data-service="ready"] form.report-issue fieldset:not(:disabled)');
  assert.equal(await page.evaluate(() => location.hash), '#reports');
  assert.equal(await page.getAttribute('nav.views a[data-view="reports"]', 'aria-current'), 'page');
  assert.deepEqual(await page.$$eval('#reports select[name="pack"] option', (os) => os.map((o) => o.textContent)), ['baseline', 'echo']);
  assert.equal(await text('#reports table.reports-list tbody'), 'no reports yet: issue one above');
  assert.equal(await page.isHidden('#service-graph'), true);
  assert.equal(await page.isHidden('#tap-explorer'), true);
  assert.equal(await page.isHidden('#reports label.custom'), true, 'the custom period fields show only when chosen');
  await page.check('#reports input[name="period"][value="custom"]');
  assert.equal(await page.isVisible('#reports input[name="from"]'), true);
  assert.notEqual(await page.inputValue('#reports input[name="from"]'), '', 'prefilled with the last day');
  await page.check('#reports input[name="period"][value="hour"]');
  assert.deepEqual(pageErrors, []);
});

test('issuing a report over the last hour lists it and opens it: every control with its status as colour and word, clauses, summary and evidence bars', async () => {
  const id = await issue('baseline');
  const file = await fileOf(id);
  const b = file.body;
  assert.equal(b.period.until - b.period.from, 3_600_000);
  const row = `#reports tr.report[data-id="${id}"]`;
  assert.equal(await page.getAttribute(row, 'aria-selected'), 'true');
  assert.match(await text(row), new RegExp(`baseline .*${b.totals.fail} fail.* ${file.sha256.slice(0, 12)} operator \\(ui\\)$`));
  assert.equal(await page.textContent('#reports .report-sha256'), file.sha256);
  assert.deepEqual(await page.$$eval('#reports a.download', (as) => as.map((a) => a.getAttribute('href'))),
    ['html', 'pdf', 'json'].map((f) => `/api/reports/${id}/${f}`));

  const shown = await page.$$eval('#reports li.control', (lis) => lis.map((li) => ({
    id: (li as HTMLElement).dataset.id, status: (li as HTMLElement).dataset.status,
    word: li.querySelector('.status-word')?.textContent, colour: getComputedStyle(li.querySelector('.status-word')!).backgroundColor,
    title: li.querySelector('.control-title')?.textContent, summary: li.querySelector('.control-summary')?.textContent,
    clauses: li.querySelectorAll('ul.clauses li').length, bars: li.querySelectorAll('svg.evidence-bars g.bar').length,
  })));
  assert.equal(shown.length, b.controls.length);
  assert.deepEqual(shown.map((c) => c.id).sort(), b.controls.map((c) => c.id).sort(), 'every control of the pack');
  for (const c of b.controls) {
    const s = shown.find((x) => x.id === c.id)!;
    assert.deepEqual([s.status, s.word, s.title, s.summary], [c.status, STATUS_WORDS[c.status], c.title, c.summary], c.id);
    assert.equal(s.clauses, Object.values(c.clauses).flat().length, `${c.id} clauses`);
    assert.equal(s.bars, Object.keys(c.evidence).length, `${c.id} evidence bars`);
  }
  const colours = new Map(shown.map((s) => [s.status, s.colour]));
  assert.equal(new Set(colours.values()).size, colours.size, `each status its own colour: ${JSON.stringify([...colours])}`);
  const statuses = shown.map((s) => s.status);
  assert.deepEqual(statuses, [...statuses].sort((x, y) => ['fail', 'insufficient_evidence', 'pass', 'not_applicable'].indexOf(x!) - ['fail', 'insufficient_evidence', 'pass', 'not_applicable'].indexOf(y!)), 'failing first');
  const mtls = b.controls.find((c) => c.id === 'mtls')!;
  assert.equal(mtls.status, 'fail', 'the shop\'s traffic carries no mTLS');
  assert.equal(await page.$$eval('#reports li.control[data-id="mtls"] ul.counterexamples a.tap-link', (as) => as.length), mtls.counterexamples.length);
  const bar = await page.$eval('#reports li.control[data-id="mtls"] svg.evidence-bars g.bar', (g) => ({ name: g.getAttribute('data-name'), value: g.querySelector('text.value')?.textContent }));
  const [name, value] = Object.entries(mtls.evidence)[0];
  assert.deepEqual(bar, { name, value: value.toLocaleString('en-US') });
  assert.deepEqual(pageErrors, []);
});

test('a counterexample links into the tap explorer: the taps of its proxy around its time, its row marked', async () => {
  const link = '#reports li.control[data-id="mtls"] ul.counterexamples a.tap-link';
  const href = (await page.getAttribute(link, 'href'))!;
  const q = new URLSearchParams(href.slice('#taps?'.length));
  await page.click(link);
  const marked = await page.waitForSelector('#taps tbody tr.pointed');
  assert.equal(await page.evaluate(() => document.body.dataset.view), 'mesh');
  assert.equal(await page.isVisible('#tap-explorer'), true);
  assert.equal(await page.isHidden('#reports'), true);
  assert.deepEqual([await marked.getAttribute('data-proxy'), await marked.getAttribute('data-seq'), await marked.getAttribute('aria-current')], [q.get('proxy'), q.get('seq'), 'true']);
  const proxies = await page.$$eval('#taps tbody tr', (rows) => rows.map((r) => (r as HTMLElement).dataset.proxy));
  assert.ok(proxies.length > 1 && proxies.every((p) => p === q.get('proxy')), `only ${q.get('proxy')}'s taps: ${proxies}`);
  assert.equal(await page.textContent('#taps-filter'), `${q.get('proxy')} around ${new Date(Number(q.get('ts'))).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')} ✕`);
  assert.equal(await page.isVisible('#taps tbody tr.pointed'), true, 'scrolled into view');
  await page.waitForTimeout(3500); // one refresh of the table (every 3 s): the pointed rows stay
  assert.equal(await page.$$eval('#taps tbody tr.pointed', (r) => r.length), 1);

  await page.goBack();
  await page.waitForSelector('#reports article.report-view:not([hidden])');
  await page.goForward();
  await page.waitForSelector('#taps tbody tr.pointed');
  await page.click('#taps-filter');
  await page.waitForFunction(() => !document.querySelector('#taps tbody tr.pointed') && document.querySelectorAll('#taps tbody tr').length > 1);
  assert.equal(await page.evaluate(() => location.hash), '', 'clearing the filter leaves the link');
  assert.deepEqual(pageErrors, []);
});

test('a report whose summary, title, clause and counterexample hold markup shows them as text: no element is made and no handler runs', async () => {
  await page.click('nav.views a[data-view="reports"]');
  await page.waitForSelector('#reports[data-service="ready"] form.report-issue fieldset:not(:disabled)');
  const id = await issue('echo');
  const control = '#reports li.control[data-id="echo_path"]';
  assert.equal(await page.textContent(`${control} .control-summary`), `${HOSTILE_SUMMARY} ${HOSTILE_PATH}`);
  assert.equal(await page.textContent(`${control} .control-title`), HOSTILE_TITLE);
  assert.equal(await page.textContent(`${control} ul.clauses li`), 'SOC 2 CC<i>7</i>');
  assert.equal(await page.getAttribute(`${control} ul.clauses li`, 'title'), HOSTILE_CLAUSE_TEXT);
  assert.ok((await page.textContent(`${control} ul.counterexamples li`))!.includes(`GET ${HOSTILE_PATH}`));
  assert.equal(await page.$eval(control, (li) => li.querySelectorAll('img, script, i, b:not(.control-title)').length), 0, 'the markup stays text');
  assert.equal(await page.$eval(`${control} .control-title`, (b) => b.children.length), 0);
  assert.equal(await page.$$eval('img, script:not([src])', (e) => e.length), 0, 'no element from a report anywhere on the page');
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  assert.equal((await fileOf(id)).body.controls[0].summary, `${HOSTILE_SUMMARY} ${HOSTILE_PATH}`, 'the report says exactly that');
  assert.deepEqual(pageErrors, []);
});

test('the form lists every problem the server finds with a typed period, as text', async () => {
  await page.check('#reports input[name="period"][value="custom"]');
  await page.fill('#reports input[name="from"]', '2025-03-09T10:00');
  await page.fill('#reports input[name="until"]', '2025-03-02T10:00');
  await page.click('#reports button.issue');
  await page.waitForSelector('#reports ul.report-problems:not([hidden])');
  assert.deepEqual(await page.$$eval('#reports ul.report-problems li', (lis) => lis.map((li) => li.textContent)),
    [`until (${new Date(2025, 2, 2, 10).toISOString()}) must be after from (${new Date(2025, 2, 9, 10).toISOString()})`]);
  assert.deepEqual(pageErrors.splice(0), ['Failed to load resource: the server responded with a status of 400 (Bad Request)'], 'Chromium logs the 400 itself; nothing else went wrong');
});

test('without a report service the Reports page says so and the form stays disabled', async () => {
  const bare = await startUi({ store, port: 0, log: () => {} });
  const other = await browser.newPage();
  try {
    await other.goto(bare.loginUrl);
    await other.goto(`${bare.url}/#reports`);
    await other.waitForSelector('#reports[data-service="none"] form.report-issue fieldset:disabled');
    assert.match(await other.innerText('#reports .reports-error'), /^No report service runs behind this UI/);
    assert.equal(await other.textContent('#reports .report-issue-note'), 'needs a report service');
  } finally {
    await other.close();
    await bare.close();
  }
});
