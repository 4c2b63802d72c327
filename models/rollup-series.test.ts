import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CONNECTIONS_MIN_BASELINE_MS, LIVE_FEATURES, liveColumns, rollupSeries, selectColumns } from './rollup-series.ts';
import type { RollupPoint } from './live-types.ts';

const point = (bucket: number, denies: number): RollupPoint => ({
  bucket, subject: 'web', requests: 100, errors: 2, p50_ms: 5, p99_ms: 40, req_bytes: 0, resp_bytes: 3400, retries: 1, denies, connections: 4,
});

test('rollups become a dense series with policy denies as a column and gaps as NaN rows', () => {
  const s = rollupSeries([point(0, 7), point(20_000, 0)], 0, 30_000);
  assert.deepEqual(s.names, [...LIVE_FEATURES]);
  assert.equal(s.rows[0][s.names.indexOf('denies')], 7);
  assert.ok(s.rows[1].every(Number.isNaN), 'bucket 10 s had no row: a gap');
});

test('a model trained before the denies column scores the columns it knows, and one needing an unknown column is refused by name', () => {
  const s = rollupSeries([point(0, 7)], 0, 10_000);
  const old = ['requests', 'error_rate', 'p50_ms', 'p99_ms', 'bytes_in', 'bytes_out', 'retries'];
  const picked = selectColumns(s, old);
  assert.deepEqual(picked.names, old);
  assert.deepEqual(picked.rows[0], [100, 0.02, 5, 40, 0, 3400, 1]);
  assert.equal(selectColumns(s, s.names), s, 'the same columns: the series itself');
  assert.throws(() => selectColumns(s, ['requests', 'tls_failures']), /needs column tls_failures/);
});

test('connections are a column, NaN where the callee recorded none; a model gets them only from a baseline of a day or more', () => {
  const s = rollupSeries([point(0, 0), { ...point(10_000, 0), connections: null }], 0, 20_000);
  const j = s.names.indexOf('connections');
  assert.equal(s.rows[0][j], 4);
  assert.ok(Number.isNaN(s.rows[1][j]), 'no inbound taps: unknown, not zero');
  assert.equal(s.rows[1][s.names.indexOf('requests')], 100, 'the rest of the row stays');
  assert.deepEqual(liveColumns(15 * 60_000), LIVE_FEATURES.filter((c) => c !== 'connections'));
  assert.deepEqual(liveColumns(CONNECTIONS_MIN_BASELINE_MS - 10_000), LIVE_FEATURES.filter((c) => c !== 'connections'));
  assert.deepEqual(liveColumns(CONNECTIONS_MIN_BASELINE_MS), [...LIVE_FEATURES]);
  assert.equal(CONNECTIONS_MIN_BASELINE_MS, 86_400_000);
});
