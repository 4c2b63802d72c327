// `meshlens actions`, `meshlens tuning` and `meshlens rollout` against a real
// control plane (runControl, as `meshlens control` composes it), through its
// operator API with the token and CA bundle from the data dir.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CONTROL_FLAGS, runControl } from './control.ts';
import { parseFlags, UsageError } from './flags.ts';
import { parseSince, runActions, runRollout, runTuning } from './tuning-commands.ts';
import { printed } from './testing/printed.ts';

// Every tick, in approve mode: limit web's calls to catalog. Its reason is the operator's to read.
const POLICY = `package meshlens.tuning

actions contains {"kind": "ratelimit", "service": "catalog", "caller": "web", "rps": 5, "reason": "test: web floods catalog", "alerts": [],
	"signal": {"scope": "edge", "subject": "web→catalog", "metric": "rps", "value": 100, "threshold": 5}} if input.now > 0
`;

test('actions lists what the engine recorded, tuning pauses it, and rollout names the problems the control plane found', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-tuning-cli-'));
  writeFileSync(join(dir, 'policy.rego'), POLICY);
  const core = await runControl(parseFlags('control', '', [
    '--data-dir', join(dir, 'data'), '--listen', '127.0.0.1:0', '--ui', '127.0.0.1:0', '--no-models',
    '--tuning-policy', join(dir, 'policy.rego'), '--tuning-mode', 'approve', '--tuning-tick-s', '3600',
  ], CONTROL_FLAGS, {}), () => {});
  t.after(async () => { await core.close(); rmSync(dir, { recursive: true, force: true }); });
  await core.control.tuning!.tick();
  await core.control.tuning!.book.flush();
  const client = ['--control', core.control.url, '--data-dir', join(dir, 'data')];

  const json = JSON.parse(await printed(() => runActions([...client, '--json'])));
  assert.deepEqual(json.actions.map((a: { kind: string; subject: string; state: string }) => [a.kind, a.subject, a.state]), [['ratelimit', 'web→catalog', 'awaiting_approval']]);
  const table = await printed(() => runActions([...client, '--since', '15m', '--state', 'awaiting_approval']));
  assert.match(table, /awaiting_approval +ratelimit +web→catalog +approve/);
  assert.match(table, /why: test: web floods catalog/);
  assert.match(await printed(() => runActions([...client, '--kind', 'scale'])), /^no actions since /);

  assert.match(await printed(() => runTuning(['pause', ...client])), /^tuning engine: PAUSED by operator at /m);
  assert.notEqual(core.control.tuning!.paused, null);
  assert.match(await printed(() => runTuning(['resume', ...client])), /^tuning engine: running, every 3600 s/m);

  await assert.rejects(runRollout(['start', 'payments', '--to', 'v2', ...client]), /control plane answered 400: to: no instance of payments has version "v2" \(it has: none\)/);
  await assert.rejects(runRollout(['start', '--to', 'v2', ...client]), (e: unknown) => e instanceof UsageError && /name exactly one service/.test(e.problems.join()));
  await assert.rejects(runRollout(['start', 'payments', '--to', 'v2', '--interval', 'soon', ...client]), (e: unknown) => e instanceof UsageError && /--interval: whole seconds/.test(e.problems.join()));
  assert.match(await printed(() => runRollout(['status', ...client])), /^no rollouts$/);
});

test('--since takes a duration back from now or a time, and names anything else', () => {
  assert.equal(parseSince('15m', 1_000_000), 100_000);
  assert.equal(parseSince('2026-12-07T10:00:00Z'), Date.UTC(2026, 11, 7, 10));
  assert.throws(() => parseSince('yesterday'), /--since: "yesterday" is neither a duration/);
});
