import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Child, quietTopology, startDemoMesh, startLoad, type DemoMesh } from '../demo/index.ts';
import { startKafkaMock, startTestClickHouseServer } from '../peers/index.ts';
import { demoControl, assertNoSidecarLoss, assertTapsPerHop, DEMO_HOPS, eventually, kafkaSidecarFlags, startScaledOutControl } from './stack.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a Kafka collector killed with SIGKILL mid-stream and restarted leaves every tap in ClickHouse exactly once', { timeout: 240_000 }, async () => {
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const kafka = await startKafkaMock();
  const ch = await startTestClickHouseServer();
  // The control plane here runs no collector: the collector is its own process, to be killed.
  const core = await startScaledOutControl({ brokers: kafka.brokers, clickhouseUrl: ch.url, collector: false }, lines);
  const startCollector = () => new Child('collector', [
    'collector', '--brokers', kafka.brokers.join(','), '--store', 'clickhouse', '--clickhouse-url', ch.url, '--trust-bundle', core.trustBundleFile,
  ], log);
  let collector = startCollector();
  let mesh: DemoMesh | undefined;
  try {
    mesh = await startDemoMesh({ control: demoControl(core), topology: quietTopology(), log, sidecarFlags: kafkaSidecarFlags(kafka.brokers) });
    const load = startLoad({ target: mesh.ingressUrl, rps: 40 });
    // Wait until the collector is writing, then kill it in the middle of the stream.
    await eventually('the collector writing taps', async () => await core.store.countTaps({ kind: 'l7.request' }) > 500, 60_000);
    collector.kill('SIGKILL');
    await collector.exited;
    log('test: collector killed');
    await sleep(4_000);
    collector = startCollector();
    await sleep(6_000);
    await load.stop();
    // Requests the generator skipped (at its in-flight bound on a loaded machine) were never sent: they are
    // outside the accounting below, which counts what was sent.
    const served = load.stats();
    assert.equal(served.failed, 0, `statuses ${JSON.stringify(served.by_status)}: traffic is unaffected by the collector dying`);

    const expected = served.sent * DEMO_HOPS.length;
    await eventually(`${expected} l7 taps in ClickHouse`, async () => await core.store.countTaps({ kind: 'l7.request' }) >= expected, 90_000);
    await mesh.close();
    assertNoSidecarLoss(lines, mesh.sidecars.size);
    await collector.stop(20_000);

    await assertTapsPerHop(core.store, served.sent);
    assert.deepEqual(await core.store.lossSummary(), [], 'no tap loss recorded');
  } catch (e) {
    console.error(lines.slice(-60).join('\n'));
    throw e;
  } finally {
    await mesh?.close();
    await collector.stop();
    await core.close();
    await ch.close();
    await kafka.stop();
  }
});
