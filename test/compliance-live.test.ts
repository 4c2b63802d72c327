// A compliance report over a real demo mesh's traffic, issued through the
// control plane's operator API: every traffic control passes on what the
// sidecars recorded (mTLS on every internal hop, only the declared callers,
// entry at web only, every decision with its reason, every batch signed and
// re-hashed), the route change made during the period is among the change
// records, and the report verifies against the store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEMO_TOPOLOGY, sendExactly } from '../demo/index.ts';
import type { ReportFile, ReportSummary } from '../policy/index.ts';
import { controlClient } from '../cli/control-client.ts';
import { eventually, withDemoMesh } from './stack.ts';

const DEMO_POLICY = join(import.meta.dirname, '..', 'demo', 'policy');
const topology = DEMO_TOPOLOGY.map((s) => ({ ...s, error_rate: 0, slow_rate: 0 }));
const TRAFFIC_CONTROLS = ['mtls', 'allowed_callers', 'ingress', 'decisions_recorded', 'no_secrets', 'trail_complete', 'trail_integrity', 'signed_taps'];

test('a report over the demo mesh passes every traffic control, records the route change made during it, and verifies against the store', { timeout: 240_000 }, () =>
  withDemoMesh('compliance', ['--policy', DEMO_POLICY], { topology }, async ({ core, mesh, dir }) => {
    const from = Date.now();
    await sendExactly(mesh.ingressUrl, 150, 8);
    core.control.setRouteWeights('payments', [{ version: 'v1', weight: 90 }, { version: 'v2', weight: 10 }]);
    await eventually('every sidecar on the new weights', () => core.control.status().proxies.every((p) => !p.connected || p.acked_version === p.sent_version));
    await sendExactly(mesh.ingressUrl, 150, 8);
    // Settled: every tap recorded before `until` is stored (their count stops moving; the indexer keeps calling after it).
    const until = Date.now();
    let last = -1;
    await eventually('taps settled', async () => {
      const n = await core.store.countTaps({ until });
      const settled = n === last;
      last = n;
      await new Promise((r) => setTimeout(r, 1500));
      return settled;
    }, 60_000);

    const api = await controlClient({ url: core.control.url, dataDir: dir, timeoutMs: 120_000 });
    const issued = await api.request('POST', '/v1/reports', { from, until });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const { id } = issued.body as ReportSummary;
    const file = await api.requestBytes('GET', `/v1/reports/${id}?format=json`);
    const report = JSON.parse(file.bytes.toString('utf8')) as ReportFile;
    const c = new Map(report.body.controls.map((x) => [x.id, x]));
    for (const ctl of TRAFFIC_CONTROLS) assert.equal(c.get(ctl)?.status, 'pass', `${ctl}: ${c.get(ctl)?.summary}`);
    assert.ok((c.get('mtls')!.evidence.requests ?? 0) > 300, `mtls saw the internal requests: ${JSON.stringify(c.get('mtls')!.evidence)}`);
    assert.equal(c.get('change_records')?.status, 'pass', c.get('change_records')?.summary);
    const routes = (report.body.changes.during as { kind: string; subject: string; version: number }[]).filter((x) => x.kind === 'route' && x.subject === 'payments');
    assert.equal(routes.length, 1, JSON.stringify(report.body.changes.during));
    assert.ok(routes[0].version > report.body.config.version_at_start);
    assert.equal(report.body.chain.problems, 0);
    assert.equal(report.body.chain.unsigned_batches, 0);
    assert.deepEqual(report.body.chain_heads.map((h) => h.proxy).sort(), [...mesh.sidecars.keys()].sort());

    const verdict = await api.requestBytes('POST', '/v1/reports/verify', file.bytes);
    const v = JSON.parse(verdict.bytes.toString('utf8')) as { verified: boolean; differences: string[] };
    assert.equal(v.verified, true, v.differences.join('; '));
  }));
