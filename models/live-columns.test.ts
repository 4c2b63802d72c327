// Which rollup columns a live model is trained on, by baseline length: the
// `connections` column only once a subject has a day of history (see
// models/rollup-series.ts for why). The detector runs against an in-memory
// rollup source here: the store's side of the column is in ingest's store
// suite.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVE_FEATURES, startLiveDetector, type RollupPoint } from './index.ts';
import { seededRandom } from './random.ts';

const B = 10_000;
const HOUR = 3_600_000;

/** `hours` of one service's buckets ending at `end`, with a daily rhythm and connections ≈ pool + rate × latency. */
function history(end: number, hours: number): RollupPoint[] {
  const rng = seededRandom(3);
  const n = (hours * HOUR) / B;
  return Array.from({ length: n }, (_, i) => {
    const bucket = end - (n - i) * B;
    const requests = Math.round(200 * (1.3 + Math.sin((2 * Math.PI * bucket) / (24 * HOUR))) * Math.exp(0.05 * rng.normal()));
    const p50 = 20 * Math.exp(0.1 * rng.normal());
    return {
      bucket, subject: 'payments', requests, errors: Math.round(requests * 0.01), p50_ms: p50, p99_ms: 5 * p50,
      req_bytes: requests * 200, resp_bytes: requests * 1000, retries: 0, denies: 0, connections: Math.round(4 + (requests / 10) * (p50 / 1000) * 2),
    };
  });
}

async function trainedInputs(hours: number): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'meshlens-live-columns-'));
  const now = Math.floor(Date.now() / B) * B;
  const points = history(now - 20_000, hours);
  try {
    const live = await startLiveDetector({
      source: { series: async (scope, from, until) => (scope === 'service' ? points.filter((p) => p.bucket >= from && p.bucket < until) : []) },
      sink: { write: async () => {} },
      modelDir: dir, now: () => now, tickMs: 0, scopes: ['service'], lagMs: 20_000,
      trainAfterMs: Math.min(hours, 1) * HOUR, retrainEveryMs: 6 * HOUR, minHistoryRows: 100, log: () => {},
      train: { units: 4, epochs: 1 },
    });
    try {
      await live.tick();
      await live.idle();
      assert.equal(live.counters().trainings, 1);
    } finally {
      await live.close();
    }
    const saved = JSON.parse(await readFile(join(dir, 'service', 'payments', 'detector.json'), 'utf8')) as { scaler: { inputNames: string[] } };
    return saved.scaler.inputNames;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a model trained on a day of history gets the connections column; one trained on an hour does not', async () => {
  assert.deepEqual(await trainedInputs(1), LIVE_FEATURES.filter((c) => c !== 'connections'));
  assert.deepEqual(await trainedInputs(25), [...LIVE_FEATURES]);
});
