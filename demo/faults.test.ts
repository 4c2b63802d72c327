import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { DEMO_TOPOLOGY, faultEffect, faultSchedule, loadRateMultiplier, scenarioSchedule, startWorkload, UP_CYCLE, type FaultEffect } from './index.ts';

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

test('meshlens up\'s cycle runs the four anomaly faults, then canary, eject, surge and flood, each on its own service or instance', () => {
  const cycle = { ...plan, kinds: UP_CYCLE };
  assert.deepEqual(faultSchedule(cycle, 9).map((f) => [f.kind, f.instance ?? f.service, f.start_ms]), [
    ['latency', 'payments', 1_000], ['errors', 'inventory', 1_500], ['outage', 'catalog', 2_000], ['exfil', 'cart', 2_500],
    ['canary', 'payments', 3_000], ['eject', 'catalog-2', 3_500], ['surge', 'web', 4_000], ['flood', 'catalog', 4_500], ['latency', 'payments', 5_000],
  ]);
  assert.deepEqual(scenarioSchedule(cycle, 'canary', 2).map((f) => f.start_ms), [3_000, 7_000], 'where a rollout should start');
  assert.deepEqual(scenarioSchedule(plan, 'canary'), [], 'a plan that does not cycle a scenario never runs it');
});

test('one scenario alone repeats every cycle after its warm-up, and only it has an effect', () => {
  const eject = { warmup_ms: 90_000, every_ms: 1_000, duration_ms: 300, kinds: ['eject' as const] };
  assert.deepEqual(scenarioSchedule(eject, 'eject', 3).map((f) => [f.instance, f.start_ms]), [['catalog-2', 90_000], ['catalog-2', 91_000], ['catalog-2', 92_000]]);
  const at = (instance: string, ms: number) => faultEffect(eject, { service: 'catalog', instance, version: 'v1' }, ms).error_rate;
  assert.deepEqual([at('catalog-2', 89_999), at('catalog-2', 90_000), at('catalog-1', 90_000), at('catalog-2', 90_300), at('catalog-2', 91_100)], [0, 0.5, 0, 0, 0.5]);
  assert.equal(faultEffect(eject, 'payments', 90_000).extra_ms, 0);
});

test('payments v2 is slower and failing whenever faults are on; v1 and other services are not', () => {
  const v2 = faultEffect(plan, { service: 'payments', instance: 'payments-2', version: 'v2' }, 0);
  assert.deepEqual([v2.extra_ms, v2.error_rate], [200, 0.2], 'from the first moment, warm-up or not');
  assert.equal(faultEffect(plan, { service: 'payments', instance: 'payments-1', version: 'v1' }, 0).error_rate, 0);
  assert.equal(faultEffect(plan, { service: 'payments', instance: 'payments-2', version: 'v2' }, 1_100).extra_ms, 450, 'a latency fault on payments adds to it');
});

test('a surge triples the load generator\'s rate and a flood multiplies indexer\'s calls by 75, each only while it lasts', () => {
  const cycle = { ...plan, kinds: ['surge' as const, 'flood' as const] };
  assert.deepEqual([0, 1_000, 1_199, 1_200, 1_500].map((t) => loadRateMultiplier(cycle, t)), [1, 3, 3, 1, 1]);
  const indexer = (t: number) => faultEffect(cycle, { service: 'indexer', instance: 'indexer-1', version: 'v1' }, t).rate_multiplier ?? 1;
  assert.deepEqual([1_000, 1_500, 1_699, 1_700].map(indexer), [1, 75, 75, 1]);
  assert.equal(faultEffect(cycle, 'catalog', 1_500).error_rate, 0, 'the flooded service itself is untouched');
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
