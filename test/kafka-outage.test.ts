import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quietTopology, startDemoMesh, startLoad } from '../demo/index.ts';
import { startKafkaMock, startTestClickHouseServer } from './peers.ts';
import { DEMO_HOPS, eventually, kafkaSidecarFlags, sidecarFinalStats, startScaledOutControl } from './stack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TAP_BUFFER = 2_000;

test('when the Kafka cluster goes away, traffic is unaffected, sidecars buffer up to the bound and count the overflow exactly: taps stored + taps counted lost = requests served', { timeout: 240_000 }, async () => {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const kafka = await startKafkaMock();
  const ch = await startTestClickHouseServer();
  const core = await startScaledOutControl({ brokers: kafka.brokers, clickhouseUrl: ch.url }, lines);
  const mesh = await startDemoMesh({
    controlUrl: core.control.url, topology: quietTopology(), log,
    sidecarFlags: kafkaSidecarFlags(kafka.brokers, ['--tap-buffer', String(TAP_BUFFER), '--tap-flush-ms', '2000']),
  });
  try {
    const load = startLoad({ target: mesh.ingressUrl, rps: 40 });
    await eventually('taps flowing into ClickHouse', async () => await core.store.countTaps({ kind: 'l7.request' }) > 300, 60_000);
    await kafka.stop();
    log('test: Kafka cluster stopped');
    await sleep(20_000);
    await load.stop();
    const served = load.stats();
    assert.equal(served.failed, 0, `statuses ${JSON.stringify(served.by_status)}: traffic is unaffected by the bus being gone`);
    assert.equal(served.skipped, 0);

    await mesh.close();
    const stats = sidecarFinalStats(lines);
    assert.equal(stats.size, mesh.sidecars.size, 'every sidecar reported its counters when it stopped');

    // Per sidecar: l7 taps in ClickHouse + l7 taps it counted as lost = l7 requests it served.
    let dropped = 0;
    for (const [proxy, s] of stats) {
      const stored = await core.store.countTaps({ kind: 'l7.request', proxy });
      const lost = s.taps.lost_by_kind['l7.request'] ?? 0;
      assert.equal(stored + lost, s.inbound.requests + s.outbound.requests, `${proxy}: ${stored} stored + ${lost} lost`);
      assert.ok(s.taps.emitted - s.taps.acked <= TAP_BUFFER, `${proxy} buffered no more than the bound`);
      dropped += s.taps.dropped;
    }
    assert.ok(dropped > 0, 'the overflow beyond the buffer bound was dropped and counted');
    // And the sidecars served exactly what was sent: each front-door request is one request at every hop.
    const web = stats.get('web-1')!;
    assert.equal(web.inbound.requests, served.sent);
    assert.equal(web.outbound.requests, served.sent * DEMO_HOPS.filter((h) => h.proxy === 'web-1' && h.direction === 'outbound').length);
  } catch (e) {
    console.error(lines.slice(-60).join('\n'));
    throw e;
  } finally {
    await mesh.close();
    await core.close();
    await ch.close();
    await kafka.stop();
  }
});
