// `meshlens replay` against a real chdb store: 30 minutes of one service's
// traffic with a 3-minute error burst in it, replayed from the start; the
// replay trains after the warm-up and reports one alert on the burst, opened
// and resolved, and writes nothing to the store.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, GENESIS_HASH, sealBatch, type L7RequestTap } from '../ingest/index.ts';
import { parseFlags, UsageError } from './flags.ts';
import { REPLAY_FLAGS, runReplay } from './replay.ts';

const B = 10_000;
const BURST: [number, number] = [120, 138]; // buckets where half the requests fail
const END = 200;
const t0 = Math.floor(Date.UTC(2026, 10, 29, 6) / B) * B;
let dir: string;

/** One bucket of payments' inbound traffic (20 requests) as one sealed batch; deterministic jitter. */
function bucketBatch(i: number) {
  const events: L7RequestTap[] = Array.from({ length: 20 }, (_, k) => ({
    v: 1, kind: 'l7.request', proxy: 'payments-1', seq: k, ts: t0 + i * B + k * 400, direction: 'inbound', conn_id: `c${i}`,
    src_service: 'cart', src_instance: 'cart-1', src_addr: '127.0.0.1', src_port: 40000,
    dst_service: 'payments', dst_instance: 'payments-1', dst_addr: '127.0.0.1', dst_port: 8080,
    method: 'POST', authority: 'payments', path: '/charge',
    status: i >= BURST[0] && i < BURST[1] && k % 2 === 0 ? 500 : 200,
    latency_ms: 20 + ((i * 7 + k * 13) % 11), req_bytes: 200, resp_bytes: 1000 + ((i * 3 + k) % 40), upstream: '127.0.0.1:8080', retries: 0, trace_id: '',
  }));
  return sealBatch({ proxy: 'payments-1', stream: `b${i}`, batch: 0, first_seq: 0, lost: 0, events, prev_hash: GENESIS_HASH });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-replay-test-'));
  const store = createChdbStore({ dataDir: dir, retentionDays: 3650 });
  await store.init();
  for (let i = 0; i < END; i++) await store.writeBatch(bucketBatch(i));
  await store.close();
});
after(async () => { await rm(dir, { recursive: true, force: true }); });

const flags = (...argv: string[]) => parseFlags('replay', '', ['--data-dir', dir, ...argv], REPLAY_FLAGS, {});

// A tuning policy that scales a service out while it fails more than 20% of its requests, citing the open alerts.
const SCALE_ON_ERRORS = `package meshlens.tuning

actions contains a if {
	some name, s in input.services
	s.recent.error_rate > 0.2
	a := {"kind": "scale", "service": name, "replicas": 2, "reason": sprintf("%s fails %.0f%%", [name, s.recent.error_rate * 100]),
		"alerts": [al.id | some al in input.alerts], "signal": {"scope": "service", "subject": name, "metric": "error_rate", "value": s.recent.error_rate, "threshold": 0.05}}
}
`;

test('a replay over stored history trains after the warm-up, reports one alert on the error burst, opened and resolved, and the actions the tuning policy would have taken during it, storing none', async () => {
  const lines: string[] = [];
  const policy = join(dir, '..', `${dir.split('/').pop()}-tuning.rego`);
  await writeFile(policy, SCALE_ON_ERRORS);
  const r = await runReplay(flags('--from', String(t0), '--until', new Date(t0 + END * B + 30_000).toISOString(), '--model-warmup-min', '14', '--tuning-policy', policy), (l) => lines.push(l));
  await rm(policy);
  // Dry-run only, during the burst (seen once its buckets are complete), and again only after each cooldown.
  assert.ok(r.actions.length >= 1 && r.actions.length <= 4, lines.join('\n'));
  assert.deepEqual([...new Set(r.actions.map((a) => `${a.state} ${a.kind} ${a.subject}`))], ['dry_run scale payments']);
  const first = r.actions[0].proposed_at;
  assert.ok(first > t0 + BURST[0] * B && first <= t0 + (BURST[0] + 6) * B, `first proposed at bucket ${(first - t0) / B}`);
  assert.ok(r.actions.every((a) => a.proposed_at <= t0 + (BURST[1] + 6) * B), 'nothing after the burst has left the window');
  assert.ok(lines.some((l) => / tuning would scale payments: payments fails \d+%/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => / models: trained service payments /.test(l)), lines.join('\n'));
  assert.equal(r.opened.length, 1, lines.join('\n'));
  assert.match(r.opened[0].explanation, /^error rate.* on payments$/);
  assert.ok(r.opened[0].opened_at >= t0 + BURST[0] * B && r.opened[0].opened_at < t0 + BURST[1] * B, `opened at bucket ${(r.opened[0].opened_at - t0) / B}`);
  assert.deepEqual([r.resolved.length, r.openAtEnd], [1, []]);
  assert.match(lines[lines.length - 1], /1 alerts opened, 1 resolved, none open at the end/);
  const store = createChdbStore({ dataDir: dir, retentionDays: 3650 });
  await store.init();
  try {
    assert.deepEqual(await store.alerts({ limit: 10 }), [], 'the replay wrote no alerts');
    assert.deepEqual(await store.actions({ limit: 10 }), [], 'nor actions');
  } finally {
    await store.close();
  }
});

test('replay refuses a missing --from, an unreadable time, a warm-up under 14 minutes and a data directory that does not exist, naming each flag', async () => {
  const argv = ['--until', 'yesterday', '--model-warmup-min', '5', '--data-dir', join(dir, 'nowhere')];
  await assert.rejects(runReplay(parseFlags('replay', '', argv, REPLAY_FLAGS, {})), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.deepEqual(e.problems, [
      '--from: required', '--until: "yesterday" is neither an ISO time nor epoch milliseconds', '--model-warmup-min: at least 14 (minutes), got 5',
      `--data-dir: ${join(dir, 'nowhere')} does not exist (replay reads a stored run)`,
    ]);
    return true;
  });
});
