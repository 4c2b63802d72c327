import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRequestColumn, legacyPlan, nameWords, planColumns, volumeKind } from './columns.ts';
import { ROLLUP_FEATURES } from './scenario.ts';
import { LIVE_FEATURES } from './rollup-series.ts';

test('names split into lower-case words across camelCase, dashes, dots and underscores', () => {
  assert.deepEqual(nameWords('txBytes_per-s'), ['tx', 'bytes', 'per', 's']);
  assert.deepEqual(nameWords('HTTP.Requests'), ['http', 'requests']);
});

test('request-rate columns are recognised under the names exporters use, and nothing else is', () => {
  for (const n of ['requests', 'rps', 'qps', 'request_rate', 'requestsPerSecond', 'req_count', 'http_requests_total', 'Throughput']) {
    assert.ok(isRequestColumn(n), n);
  }
  for (const n of ['error_rate', 'bytes_per_request', 'request_bytes', 'p99_ms', 'requests_failed', 'avg_request_latency']) {
    assert.ok(!isRequestColumn(n), n);
  }
});

test('volume columns are counts that grow with traffic; ratios, averages and latencies are not', () => {
  const kinds: [string, string | null][] = [
    ['bytes_out', 'bytes'], ['tx_bytes', 'bytes'], ['rxBytes', 'bytes'], ['egress_kb', 'bytes'], ['bytes_in_per_s', 'bytes'],
    ['active_connections', 'connections'], ['conns', 'connections'], ['retries', 'retries'], ['retry_count', 'retries'], ['retry_rate', 'retries'],
    ['denied', 'denies'], ['errors', 'errors'], ['5xx', 'errors'],
    ['error_rate', null], ['error_pct', null], ['bytes_per_request', null], ['avg_response_bytes', null], ['response_size', null],
    ['p99_ms', null], ['connection_time_ms', null], ['cpu', null],
  ];
  for (const [n, k] of kinds) assert.equal(volumeKind(n), k, n);
});

test('the plan divides the volumes by the request column and leaves the rest', () => {
  assert.deepEqual(planColumns(['rps', 'error_pct', 'latency_p99', 'tx_bytes', 'active_conns', 'retry_rate']), {
    requests: 'rps',
    perRequest: [{ name: 'tx_bytes', kind: 'bytes' }, { name: 'active_conns', kind: 'connections' }, { name: 'retry_rate', kind: 'retries' }],
  });
  assert.deepEqual(planColumns(['latency', 'bytes_out']), { requests: null, perRequest: [] }, 'no request column: nothing divided');
  assert.equal(planColumns(['request_rate', 'requests']).requests, 'requests', 'an exact `requests` wins');
});

test('on the mesh rollup names the plan is the one saved models were trained with', () => {
  for (const names of [[...ROLLUP_FEATURES], [...LIVE_FEATURES]]) assert.deepEqual(planColumns(names), legacyPlan(names));
});
