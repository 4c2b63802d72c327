import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigSnapshot } from '../control/snapshot.ts';
import { snapshotProblem } from './config-validate.ts';

function split(mutate: (s: ConfigSnapshot) => void): string | null {
  const s: ConfigSnapshot = {
    version: 1, proxy: 'web-1', service: 'web',
    routes: [{ authority: 'payments', backends: [{ cluster: 'payments', subset: { version: 'v1' }, weight: 90 }, { cluster: 'payments', subset: { version: 'v2' }, weight: 10 }] }],
    clusters: [{
      service: 'payments', lb: 'round_robin', connect_timeout_ms: 500, request_timeout_ms: 2_000,
      endpoints: [{ instance: 'payments-1', addr: '127.0.0.1', port: 9001, labels: { version: 'v1' } }],
    }],
    taps: { query_allow: [], header_allow: [] },
    policy_digest: '',
  };
  mutate(s);
  return snapshotProblem(s, 'web-1');
}

test('a snapshot with subsets, labels and a zero weight is valid; bad labels, subsets and weights are NACKed naming the field', () => {
  assert.equal(split(() => {}), null);
  assert.equal(split((s) => { s.routes[0].backends[0].weight = 0; }), null, 'weight 0: no traffic, still valid');
  for (const [mutate, problem] of [
    [(s) => { s.routes[0].backends.forEach((b) => { b.weight = 0; }); }, 'routes[0].backends: at least one weight must be > 0'],
    [(s) => { s.routes[0].backends[1].weight = -1; }, 'routes[0].backends[1].weight: must be a number >= 0'],
    [(s) => { s.routes[0].backends[1].subset = {}; }, 'routes[0].backends[1].subset: must name at least one label (or be absent)'],
    [(s) => { s.routes[0].backends[1].subset = { version: 'v/2' }; }, 'routes[0].backends[1].subset.version: value "v/2" is not 1-63 of [A-Za-z0-9._-]'],
    [(s) => { s.clusters[0].endpoints[0].labels = { 'bad key': 'v1' }; }, 'clusters[0].endpoints[0].labels: key "bad key" is not 1-63 of [A-Za-z0-9._-]'],
    [(s) => { (s.clusters[0].endpoints[0] as { labels: unknown }).labels = ['v1']; }, 'clusters[0].endpoints[0].labels: must be an object of KEY: VALUE'],
  ] as [(s: ConfigSnapshot) => void, string][]) {
    assert.equal(split(mutate), problem);
  }
});

test('a cluster\'s resilience fields are NACKed naming the field: lb, circuit breaking, retry, outlier and health_check', () => {
  const ok = { attempts: 2, backoff_base_ms: 25, backoff_max_ms: 250, on: ['connect-failure'], budget: { ratio: 0.2, min_per_s: 10 } };
  assert.equal(split((s) => Object.assign(s.clusters[0], {
    lb: 'least_request', max_concurrent: 8, max_pending: 4, max_connections: 16, retry: { ...ok, per_try_timeout_ms: 500, non_idempotent: 'when_marked', max_body_bytes: 0 },
    outlier: { consecutive_5xx: 5, consecutive_gateway_errors: 0, base_ejection_ms: 1, max_ejection_ms: 1, max_ejection_percent: 0 },
    health_check: { path: '/healthz', interval_ms: 1000, timeout_ms: 1000, unhealthy_threshold: 1, healthy_threshold: 1 },
  })), null);
  assert.equal(split((s) => Object.assign(s.clusters[0], { max_queue: 3 })), null, 'the older name of max_pending still taken');
  for (const [more, problem] of [
    [{ lb: 'random' }, 'clusters[0].lb: must be "round_robin" or "least_request", got "random"'],
    [{ max_pending: 1, max_queue: 1 }, 'clusters[0].max_queue: the older name of max_pending; name one of them'],
    [{ max_connections: 0 }, 'clusters[0].max_connections: must be an integer in 1..65535, got 0'],
    [{ retry: [] }, 'clusters[0].retry: must be an object {attempts, backoff_base_ms, backoff_max_ms, on, budget, …}'],
    [{ retry: { ...ok, attempts: 6 } }, 'clusters[0].retry.attempts: must be an integer in 1..5, got 6'],
    [{ retry: { ...ok, per_try_timeout_ms: 2_001 } }, 'clusters[0].retry.per_try_timeout_ms: 2001 is more than the cluster\'s request_timeout_ms (2000), which bounds every try together'],
    [{ retry: { ...ok, backoff_max_ms: 10 } }, 'clusters[0].retry.backoff_max_ms: must be at least backoff_base_ms (25), got 10'],
    [{ retry: { ...ok, on: ['5xx', 'teapot'] } }, 'clusters[0].retry.on[1]: "teapot" is not one of connect-failure, reset, timeout, unavailable, gateway-error, 5xx, rate-limited'],
    [{ retry: { ...ok, on: [] } }, 'clusters[0].retry.on: must be a non-empty array of connect-failure, reset, timeout, unavailable, gateway-error, 5xx, rate-limited'],
    [{ retry: { ...ok, budget: { ratio: 2, min_per_s: 1 } } }, 'clusters[0].retry.budget.ratio: must be a number in 0..1, got 2'],
    [{ retry: { ...ok, non_idempotent: 'always' } }, 'clusters[0].retry.non_idempotent: must be "never" or "when_marked", got "always"'],
    [{ retry: { ...ok, max_body_bytes: 2 << 20 } }, 'clusters[0].retry.max_body_bytes: must be an integer in 0..1048576, got 2097152'],
    [{ retry: { ...ok, per_try_timeout: 100 } }, 'clusters[0].retry: unknown field "per_try_timeout" (only attempts, per_try_timeout_ms, backoff_base_ms, backoff_max_ms, on, budget, non_idempotent, max_body_bytes)'],
    [{ outlier: { consecutive_5xx: 0, consecutive_gateway_errors: 0, base_ejection_ms: 1, max_ejection_ms: 1, max_ejection_percent: 10 } },
      'clusters[0].outlier: consecutive_5xx and consecutive_gateway_errors are both 0, so nothing would eject (leave outlier out instead)'],
    [{ outlier: { consecutive_5xx: 5, consecutive_gateway_errors: 5, base_ejection_ms: 1, max_ejection_ms: 1, max_ejection_percent: 101 } },
      'clusters[0].outlier.max_ejection_percent: must be an integer in 0..100, got 101'],
    [{ health_check: { path: 'healthz', interval_ms: 1000, timeout_ms: 1000, unhealthy_threshold: 1, healthy_threshold: 1 } },
      'clusters[0].health_check.path: must be a path starting with "/" (at most 256 visible ASCII characters), got "healthz"'],
    [{ health_check: { path: '/h', interval_ms: 100, timeout_ms: 200, unhealthy_threshold: 1, healthy_threshold: 1 } },
      'clusters[0].health_check.timeout_ms: must be at most interval_ms (100), got 200'],
  ] as [Record<string, unknown>, string][]) {
    assert.equal(split((s) => Object.assign(s.clusters[0], more)), problem, JSON.stringify(more));
  }
});

test('a cluster\'s CONNECT ports are NACKed naming the field: only a non-empty list of distinct ports', () => {
  assert.equal(split((s) => Object.assign(s.clusters[0], { connect: { allow_ports: [5432, 6379] } })), null);
  for (const [connect, problem] of [
    [{ allow_ports: [] }, 'clusters[0].connect.allow_ports: must be a non-empty array of at most 64 ports (leave connect out for none)'],
    [{ allow_ports: [0] }, 'clusters[0].connect.allow_ports[0]: must be a port in 1..65535, got 0'],
    [{ allow_ports: ['443'] }, 'clusters[0].connect.allow_ports[0]: must be a port in 1..65535, got "443"'],
    [{ allow_ports: [443, 443] }, 'clusters[0].connect.allow_ports[1]: 443 is named twice'],
    [{ allow_ports: [443], hosts: ['*'] }, 'clusters[0].connect: unknown field "hosts" (only allow_ports)'],
    [true, 'clusters[0].connect: must be an object {allow_ports: [port, …]}'],
  ] as [unknown, string][]) {
    assert.equal(split((s) => Object.assign(s.clusters[0], { connect })), problem, JSON.stringify(connect));
  }
});
