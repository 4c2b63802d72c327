// The UI's hand on the real tuning engine, composed as `meshlens control`
// composes it (runControl, its adapter from TuningEngine to the UI's
// TuningControl): a policy proposes rate limits in approve mode, and the
// operator approves one through the UI's API and one with the page's Approve
// button in a real Chromium; the control plane then carries each rule.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ActionRecord } from '../ingest/index.ts';
import { launchChromium } from '../ui/testing/chromium.ts';
import { CONTROL_FLAGS, runControl, type RunningControl } from './control.ts';
import { parseFlags } from './flags.ts';

const HOSTILE = 'cart floods payments <img src=x onerror="window.__pwned=1">';
const limit = (service: string, caller: string, rps: number, reason: string) => ({
  kind: 'ratelimit', service, caller, rps, reason, alerts: [],
  signal: { scope: 'edge', subject: `${caller}→${service}`, metric: 'rps', value: rps * 3, threshold: rps },
});
const POLICY = `package meshlens.tuning\n\nactions := ${JSON.stringify([limit('cart', 'web', 20, 'web floods cart'), limit('payments', 'cart', 15, HOSTILE)])}\n`;

let dir: string;
let running: RunningControl;
let browser: Browser | undefined;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-control-tuning-ui-'));
  await writeFile(join(dir, 'tuning.rego'), POLICY);
  const flags = parseFlags('control', '', [
    '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', '--no-models',
    '--tuning-policy', join(dir, 'tuning.rego'), '--tuning-mode', 'approve', '--tuning-tick-s', '3600',
  ], CONTROL_FLAGS, {});
  running = await runControl(flags, () => {});
  await running.control.tuning!.tick();
});

after(async () => {
  await browser?.close();
  await running?.close();
  await rm(dir, { recursive: true, force: true });
});

async function call(path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { authorization: `Bearer ${running.operatorToken}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(running.uiUrl + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

const waitingFor = async (service: string): Promise<ActionRecord> =>
  (await call(`/api/actions?state=awaiting_approval&service=${service}`)).body.actions[0];
const ruleOf = (service: string) => running.control.status().rate_limits.find((r) => r.service === service)?.rules;

test('approving through the UI API applies the action in the real engine, recorded as by "operator (ui)"; the engine refusals keep their status', async () => {
  const action = await waitingFor('cart');
  assert.equal(action.kind, 'ratelimit');
  assert.equal(ruleOf('cart'), undefined, 'nothing applied while it waits');
  const approved = await call(`/api/actions/${action.id}/approve`, 'POST');
  assert.equal(approved.status, 200);
  assert.equal(approved.body.state, 'applied');
  assert.equal(approved.body.detail, 'approved by operator (ui)');
  assert.deepEqual(ruleOf('cart'), [{ caller: 'web', rps: 20, burst: 20 }]);
  const again = await call(`/api/actions/${action.id}/approve`, 'POST');
  assert.deepEqual([again.status, again.body.code], [409, 'UI_ERR_CONFLICT']);
  assert.match(again.body.message, /is applied, not awaiting approval/);
  assert.equal((await call('/api/actions/act-nobody/reject', 'POST')).status, 404);
  await running.control.tuning!.book.flush();
  const history = (await call(`/api/actions/${action.id}`)).body.history as ActionRecord[];
  assert.deepEqual([...new Set(history.map((h) => h.state))], ['awaiting_approval', 'applied']);

  const rollout = await call('/api/rollouts', 'POST', { service: 'payments', to: 'v9' });
  assert.equal(rollout.status, 400);
  assert.equal(rollout.body.code, 'UI_ERR_BAD_ROLLOUT');
  assert.ok(rollout.body.problems.includes('to: no instance of payments has version "v9" (it has: none)'), rollout.body.problems.join('; '));
  assert.equal((await call('/api/tuning/pause', 'POST')).body.paused.by, 'operator (ui)');
  assert.equal(running.control.tuning!.paused?.by, 'operator (ui)');
  await call('/api/tuning/resume', 'POST');
  assert.equal(running.control.tuning!.paused, null);
  const status = (await call('/api/tuning')).body.tuning;
  assert.deepEqual(status.modes, { shift: 'approve', eject: 'approve', scale: 'approve', ratelimit: 'approve' });
});

test('the page lists the action waiting for approval, its hostile reason as text, and its Approve button applies it in the real engine', async () => {
  browser = await launchChromium();
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${running.uiUrl}/?token=${running.operatorToken}`);
  const action = await waitingFor('payments');
  const row = `#actions li.action[data-id="${action.id}"]`;
  await page.waitForSelector(`${row}[data-state="awaiting_approval"]`);
  assert.equal(await page.textContent(`${row} .action-reason`), HOSTILE);
  assert.equal(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
  await page.click(`${row} button.approve`);
  await page.waitForSelector(`${row}[data-state="applied"]`);
  assert.deepEqual(ruleOf('payments'), [{ caller: 'cart', rps: 15, burst: 15 }]);
  assert.match(await page.innerText(`${row} .action-detail`), /approved by operator \(ui\)/);
  assert.deepEqual(errors, []);
});
