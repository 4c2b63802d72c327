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
