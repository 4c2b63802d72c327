import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACTION_LIMITS, actionRecordProblems, actionToRow, rowToAction, type ActionRecord } from './action-record.ts';
import { sampleAction } from './sample-actions.ts';

const t = 1_764_000_000_000;
const problems = (over: Record<string, unknown>) => actionRecordProblems({ ...sampleAction(t), ...over });

test('a complete action record has no problems, in every state, kind and mode', () => {
  assert.deepEqual(actionRecordProblems(sampleAction(t)), []);
  assert.deepEqual(problems({ state: 'expired', kind: 'ratelimit', mode: 'off', policy_digest: '', guardrail: '', actor: 'operator' }), []);
});

test('each bad field is named with its problem, all at once', () => {
  const found = problems({
    id: '', state: 'done', kind: 'reboot', mode: 'manual', updated_at: 1.5, proposed_at: -1, subject: 'a\nb', service: 7,
    config_before: -1, config_after: Number.NaN, policy_digest: 'ABC', alert_ids: ['', 'ok'], acks: [{ proxy: 'p', at: 0 }, { proxy: 'q' , at: 1, x: 1 }],
    reason: 'x'.repeat(ACTION_LIMITS.chars.reason + 1), detail: 'lone \ud800 surrogate', actor: undefined, colour: 'red',
  });
  for (const p of [
    /^colour is not a field/, /^id must not be empty/, /^subject must not hold control characters/, /^service must be a string/, /^actor must be a string/,
    /^reason must be at most 4000 characters/, /^detail must be well-formed text/, /^state must be one of proposed, /, /^kind must be one of shift, eject, scale, ratelimit/,
    /^mode must be one of off, dry-run, approve, auto/, /^updated_at must be epoch ms/, /^proposed_at must be epoch ms/, /^config_before must be a config version/,
    /^config_after must be a config version/, /^policy_digest must be '' or a sha256/, /^alert_ids\[0\] must not be empty/, /^acks\[0\]\.at must be epoch ms/, /^acks\[1\] must be \{proxy, at\}/,
  ]) assert.ok(found.some((f) => p.test(f)), `${p} in ${JSON.stringify(found, null, 1)}`);
  assert.equal(found.length, 18);
});

test('JSON columns must be JSON objects that survive their text unchanged and fit the cap', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(problems({ params: [1] })[0], /^params must be a JSON object, got an array/);
  assert.match(problems({ params: null })[0], /^params must be a JSON object, got null/);
  assert.match(problems({ requested: new Date(t) })[0], /^requested must be a JSON object, got an object \(Date\)/);
  assert.match(problems({ evidence: { x: Number.NaN } })[0], /^evidence must survive JSON text unchanged/);
  assert.match(problems({ evidence: { x: undefined } })[0], /^evidence must survive JSON text unchanged/);
  assert.match(problems({ evidence: { x: -0 } })[0], /^evidence must survive JSON text unchanged/);
  assert.match(problems({ evidence: cyclic })[0], /^evidence is not JSON/);
  assert.deepEqual(problems({ evidence: { s: 'é'.repeat((ACTION_LIMITS.jsonBytes - 20) / 2) } }), [], 'just under the cap in UTF-8 bytes');
  assert.match(problems({ evidence: { s: 'é'.repeat(ACTION_LIMITS.jsonBytes / 2) } })[0], /^evidence is 327\d\d bytes as JSON, at most 32768/);
  assert.match(problems({ acks: Array.from({ length: 600 }, () => ({ proxy: 'p', at: t })) })[0], /^acks must hold at most 512 entries/);
  assert.match(problems({ alert_ids: 'a' })[0], /^alert_ids must be an array/);
});

test('a record that is not an object is one problem', () => {
  assert.deepEqual(actionRecordProblems(null), ['record must be a plain object, got null']);
  assert.deepEqual(actionRecordProblems([]), ['record must be a plain object, got an array']);
});

test('updated_at before proposed_at is a problem; equal is fine', () => {
  assert.deepEqual(problems({ updated_at: t - 1 }), [`updated_at ${t - 1} is before proposed_at ${t}`]);
  assert.deepEqual(problems({ updated_at: t }), []);
});

test('a record becomes a row with JSON text columns and reads back equal', () => {
  const r: ActionRecord = sampleAction(t, { acks: [{ proxy: 'cart-1', at: t + 1 }], detail: 'lone-free ✓' });
  const row = actionToRow(r);
  assert.equal(row.params, JSON.stringify(r.params));
  assert.equal(row.acks, '[{"proxy":"cart-1","at":1764000000001}]');
  assert.deepEqual(rowToAction(JSON.parse(JSON.stringify(row))), r);
  assert.throws(() => actionToRow({ ...r, kind: 'nope' } as unknown as ActionRecord),
    (e: Error & { code?: string }) => e.code === 'INGEST_ERR_MALFORMED' && e.message.startsWith(`action "${r.id}": kind must be one of`));
});
