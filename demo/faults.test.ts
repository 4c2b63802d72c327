import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { DEMO_TOPOLOGY, faultEffect, faultSchedule, startWorkload, type FaultEffect } from './index.ts';

const plan = { warmup_ms: 1_000, every_ms: 500, duration_ms: 200 };

test('the schedule keeps quiet during warm-up, then cycles latency, errors, outage and exfiltration, each for its duration', () => {
  assert.deepEqual(faultSchedule(plan, 5).map((f) => [f.kind, f.service, f.start_ms]), [
    ['latency', 'payments', 1_000], ['errors', 'inventory', 1_500], ['outage', 'catalog', 2_000], ['exfil', 'cart', 2_500], ['latency', 'payments', 3_000],
  ]);
  assert.equal(faultEffect(plan, 'payments', 999).extra_ms, 0, 'warm-up is quiet');
  assert.equal(faultEffect(plan, 'payments', 1_000).extra_ms, 250);
  assert.equal(faultEffect(plan, 'payments', 1_199).extra_ms, 250);
  assert.equal(faultEffect(plan, 'payments', 1_200).extra_ms, 0, 'a fault ends after its duration');
  assert.equal(faultEffect(plan, 'cart', 1_100).extra_ms, 0, 'only the faulty service is touched');
  assert.equal(faultEffect(plan, 'inventory', 1_600).error_rate, 0.3);
  assert.equal(faultEffect(plan, 'catalog', 2_100).reset, true);
  assert.equal(faultEffect(plan, 'cart', 2_650).extra_bytes, 40_000);
});

function get(url: string): Promise<{ status: number; bytes: number } | { error: string }> {
  return new Promise((resolve) => {
    http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
    }).on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

test('a workload under a fault resets connections, fails, or sends 40 KB more, as its fault says', async () => {
  const leaf = { ...DEMO_TOPOLOGY.find((s) => s.name === 'catalog')!, error_rate: 0, slow_rate: 0, work_ms: 0 };
  let effect: FaultEffect = { extra_ms: 0, error_rate: 0, reset: false, extra_bytes: 0 };
  const w = await startWorkload({ service: leaf, httpProxy: 'http://127.0.0.1:1', fault: () => effect });
  try {
    const calm = await get(w.url);
    assert.ok('status' in calm && calm.status === 200 && calm.bytes < 1_000);
    effect = { ...effect, reset: true };
    assert.deepEqual(await get(w.url), { error: 'ECONNRESET' });
    effect = { ...effect, reset: false, error_rate: 1 };
    const failing = await get(w.url);
    assert.ok('status' in failing && failing.status === 500);
    effect = { ...effect, error_rate: 0, extra_bytes: 40_000 };
    const exfil = await get(w.url);
    assert.ok('status' in exfil && exfil.status === 200 && exfil.bytes > 40_000);
  } finally {
    await w.close();
  }
});
