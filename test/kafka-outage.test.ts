import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quietTopology, startDemoMesh, startLoad, type DemoMesh } from '../demo/index.ts';
import { startKafkaMock, startTestClickHouseServer } from '../peers/index.ts';
import { demoControl, DEMO_HOPS, eventually, kafkaSidecarFlags, sidecarFinalStats, startScaledOutControl } from './stack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TAP_BUFFER = 2_000;

// The cluster "goes away" by freezing its process (SIGSTOP): every broker
// stops answering, as in a network partition or a hung cluster. Killing the
// mock would also work for the sidecars, but the mock keeps its log in memory,
// so a kill would destroy records Kafka had already acknowledged — something a
// real cluster never does — and the accounting below could not be exact.
test('while the Kafka cluster is gone, traffic is unaffected, sidecars buffer up to the bound and count the overflow exactly: taps stored + taps counted lost = requests served', { timeout: 240_000 }, async () => {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const kafka = await startKafkaMock();
  const ch = await startTestClickHouseServer();
  const core = await startScaledOutControl({ brokers: kafka.brokers, clickhouseUrl: ch.url }, lines);
  let mesh: DemoMesh | undefined;
  try {
    mesh = await startDemoMesh({
      control: demoControl(core), topology: quietTopology(), log,
      sidecarFlags: kafkaSidecarFlags(kafka.brokers, ['--tap-buffer', String(TAP_BUFFER), '--tap-flush-ms', '60000']),
    });
    const load = startLoad({ target: mesh.ingressUrl, rps: 40 });
    await eventually('taps flowing into ClickHouse', async () => await core.store.countTaps({ kind: 'l7.request' }) > 300, 60_000);
    kafka.pause();
    log('test: Kafka cluster gone');
    await sleep(20_000);
    kafka.resume();
    log('test: Kafka cluster back');
    await sleep(3_000);
    await load.stop();
    // Requests the generator skipped (at its in-flight bound on a loaded machine) were never sent: they are
    // outside the accounting below, which counts what was sent.
    const served = load.stats();
    assert.equal(served.failed, 0, `statuses ${JSON.stringify(served.by_status)}: traffic is unaffected by the bus being gone`);

    await mesh.close(); // sidecars deliver what they still hold, then report their counters
    const stats = sidecarFinalStats(lines);
    assert.equal(stats.size, mesh.sidecars.size, 'every sidecar reported its counters when it stopped');

    let dropped = 0;
    for (const s of stats.values()) dropped += s.taps.dropped;
    assert.ok(dropped > 0, 'the overflow beyond the buffer bound was dropped and counted');

    // Per sidecar: l7 taps in ClickHouse + l7 taps it counted as lost = l7 requests it served.
    const want = new Map([...stats].map(([proxy, s]) => [proxy, s.inbound.requests + s.outbound.requests - (s.taps.lost_by_kind['l7.request'] ?? 0)]));
    await eventually('the collector to store every delivered tap', async () => {
      for (const [proxy, n] of want) if (await core.store.countTaps({ kind: 'l7.request', proxy }) < n) return false;
      return true;
    }, 90_000);
    for (const [proxy, s] of stats) {
      const stored = await core.store.countTaps({ kind: 'l7.request', proxy });
      const lost = s.taps.lost_by_kind['l7.request'] ?? 0;
      assert.equal(stored + lost, s.inbound.requests + s.outbound.requests, `${proxy}: ${stored} stored + ${lost} lost`);
      assert.equal(s.taps.abandoned, 0, `${proxy} delivered everything it buffered once the cluster was back`);
    }
    // The sidecars served exactly what was sent: each front-door request is one request at every hop.
    const web = stats.get('web-1')!;
    assert.equal(web.inbound.requests, served.sent);
    assert.equal(web.outbound.requests, served.sent * DEMO_HOPS.filter((h) => h.proxy === 'web-1' && h.direction === 'outbound').length);
  } catch (e) {
    console.error(lines.slice(-60).join('\n'));
    throw e;
  } finally {
    kafka.resume();
    await mesh?.close();
    await core.close();
    await ch.close();
    await kafka.stop();
  }
});
