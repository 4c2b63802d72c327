// The scaled-out loop on a sharded, replicated ClickHouse 18.16 cluster
// (./cluster-stack.ts): traffic in phases, one fault per phase, and after
// each the whole store checked again: every tap of every phase so far
// exactly once across both shards, the replicas of each shard alike, the
// rollups equal to the raw rows. One cluster for the file, as starting it
// and the mesh is most of a phase's cost; the tests run in order.

import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startLoad } from '../demo/index.ts';
import { assertNoSidecarLoss, assertTapsPerHop, DEMO_HOPS, eventually } from './stack.ts';
import {
  collectorRetries, collectorsDrained, collectorStoreErrors, countOn, emittedTaps, replicaDifferences, startClusterStack, storedStreams, streamProblems, type ClusterStack,
} from './cluster-stack.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let stack: ClusterStack;
/** Front-door requests sent over all phases so far, and whether every one was answered (then each left one l7.request tap per hop). */
let sent = 0;
let allAnswered = true;
/** Where the log stood when the current phase began. */
let phaseStart = 0;

before(async () => {
  stack = await startClusterStack();
  sent = stack.warmup.sent;
  allAnswered = stack.warmup.failed === 0;
}, { timeout: 180_000 });
after(() => stack?.close());

/** Load at 30 req/s while `during` runs (it injects the phase's fault). */
async function phase(t: TestContext, during: () => Promise<void>): Promise<void> {
  phaseStart = stack.lines.length;
  const load = startLoad({ target: stack.mesh.ingressUrl, rps: 30 });
  try {
    await during();
  } finally {
    await load.stop();
  }
  const s = load.stats();
  sent += s.sent;
  assert.ok(s.sent > 100, `the phase sent ${s.sent} requests`);
  // A sidecar sheds requests (503) when this shared machine's cores are busy; the store's faults never reach the traffic.
  if (s.failed > 0) t.diagnostic(`${s.failed} of ${s.sent} requests failed (${JSON.stringify(s.by_status)}): per-hop counts not checked from here on`);
  allAnswered &&= s.failed === 0;
}

/**
 * Once the collectors have drained: every stream whole and each tap once
 * across the shards (read through Distributed with FINAL), per hop as many
 * l7 taps as requests were sent when all were answered, no loss recorded,
 * and the two replicas of each shard alike.
 */
async function assertStoredOnce(t: TestContext): Promise<void> {
  const { core, cluster } = stack;
  let last = '';
  let problems: string | null = 'not read yet';
  let kafka = 'not read yet';
  // Drained: every record committed (so stored), nothing new for a second (a sidecar's last batch may be on its way).
  await eventually('the collectors to drain, every stream whole', async () => {
    const drained = await collectorsDrained(stack);
    kafka = drained.seen;
    const streams = await storedStreams(cluster);
    const now = JSON.stringify([...streams].sort());
    problems = streamProblems(streams);
    const settled = now === last;
    last = now;
    if (!settled || problems !== null || !drained.done) await sleep(1_000);
    return drained.done && settled && problems === null;
  }, 90_000).catch((e) => { throw new Error(`${(e as Error).message}: ${problems ?? 'streams whole'}; committed/end ${kafka}`); });
  if (allAnswered) {
    await eventually(`${sent * DEMO_HOPS.length} l7 taps`, async () => await core.store.countTaps({ kind: 'l7.request' }) >= sent * DEMO_HOPS.length, 30_000);
    await assertTapsPerHop(core.store, sent);
  }
  assert.deepEqual(await core.store.lossSummary(), [], 'no tap loss recorded');
  let diff: string | null = 'not read yet';
  await eventually('the replicas of each shard to hold the same rows', async () => (diff = await replicaDifferences(cluster)) === null, 60_000)
    .catch((e) => { throw new Error(`${(e as Error).message}: ${diff}`); });
  const raw = await countOn(cluster, cluster.nodes[0], 'SELECT count() FROM meshlens.taps');
  const once = await countOn(cluster, cluster.nodes[0], 'SELECT count() FROM meshlens.taps FINAL');
  t.diagnostic(`${once} taps stored once (${raw - once} rows written twice and not yet merged away, collapsed by FINAL); collector store retries ${collectorRetries(stack.lines).join(', ')}`);
  t.diagnostic(`the collectors' store errors in this phase: ${JSON.stringify(collectorStoreErrors(stack.lines, phaseStart))}`);
}

async function check(body: () => Promise<unknown>): Promise<void> {
  try {
    await body();
  } catch (e) {
    console.error(stack.lines.slice(-80).join('\n'));
    throw e;
  }
}

test('two collectors of one group store every tap once across both shards; rollups equal the raw rows; the UI and the detector read through Distributed', { timeout: 120_000 }, (t) => check(async () => {
  const { cluster, core } = stack;
  await phase(t, () => sleep(8_000));
  await assertStoredOnce(t);

  // Both shards hold taps, and each stream lives on one shard only: a resent batch meets its first copy there.
  const perShard = await Promise.all([1, 2].map((s) => countOn(cluster, cluster.node(s, 1), "SELECT count() FROM meshlens.taps_local FINAL WHERE kind = 'l7.request'")));
  assert.ok(perShard.every((n) => n > 0), `l7 taps per shard: ${perShard.join(', ')}`);
  assert.equal(perShard[0] + perShard[1], await core.store.countTaps({ kind: 'l7.request' }), 'the shards together hold what Distributed reads');
  const streams = await Promise.all([1, 2].map(async (s) => new Set((await cluster.query(
    'SELECT DISTINCT concat(proxy, \'/\', stream) FROM meshlens.taps_local FORMAT TSV', cluster.node(s, 1))).trim().split('\n'))));
  assert.deepEqual([...streams[0]].filter((x) => streams[1].has(x)), [], 'no stream on both shards');

  // Rollups (written by each shard's views, merged through Distributed) say what the raw rows say.
  const raw = await cluster.query(`SELECT dst_service, count() FROM meshlens.taps FINAL
    WHERE kind = 'l7.request' AND direction = 'inbound' GROUP BY dst_service ORDER BY dst_service FORMAT TSV`);
  const rolled = await cluster.query(`SELECT service, countMerge(requests) FROM meshlens.rollup_service_10s FINAL
    GROUP BY service ORDER BY service FORMAT TSV`);
  assert.equal(rolled, raw, 'inbound requests per service: rollups against raw taps');
  const rawEdges = await cluster.query(`SELECT src_service, dst_service, count() FROM meshlens.taps FINAL
    WHERE kind = 'l7.request' AND (direction = 'outbound' OR src_service = 'external') GROUP BY src_service, dst_service ORDER BY src_service, dst_service FORMAT TSV`);
  const rolledEdges = await cluster.query(`SELECT src_service, dst_service, countMerge(requests) FROM meshlens.rollup_edge_10s FINAL
    GROUP BY src_service, dst_service ORDER BY src_service, dst_service FORMAT TSV`);
  assert.equal(rolledEdges, rawEdges, 'requests per edge: rollups against raw taps');

  // What the detector reads (rollupSeries) sums to the raw count per service.
  const rawByService = new Map(raw.trim().split('\n').map((l) => l.split('\t')).map(([s, n]): [string, number] => [s, Number(n)]));
  const series = await core.store.rollupSeries('service', 0, Date.now() + 60_000);
  const fromSeries = new Map<string, number>();
  for (const r of series) fromSeries.set(r.subject, (fromSeries.get(r.subject) ?? 0) + r.requests);
  assert.deepEqual(new Map([...fromSeries].sort()), new Map([...rawByService].sort()), 'rollup series per service against raw taps');

  // The UI's graph of the last hour, its newest taps and its status (with the live detector's counters), through the cluster.
  const auth = { headers: { authorization: `Bearer ${core.operatorToken}` } };
  const graph = await (await fetch(`${core.uiUrl}/api/graph?window=3600`, auth)).json() as { nodes: { service: string; requests: number }[] };
  assert.deepEqual(new Map(graph.nodes.filter((n) => n.requests > 0).map((n): [string, number] => [n.service, n.requests]).sort()), new Map([...rawByService].sort()), 'UI graph');
  const taps = await (await fetch(`${core.uiUrl}/api/taps?limit=5`, auth)).json() as { taps: unknown[] };
  assert.equal(taps.taps.length, 5, 'UI newest taps');
  await eventually('a detector tick', async () => {
    const st = await (await fetch(`${core.uiUrl}/api/status`, auth)).json() as { control: { models: { ticks: number; source_errors: number } } };
    assert.equal(st.control.models.source_errors, 0, 'the detector read its rollups without error');
    return st.control.models.ticks > 0;
  }, 20_000);
}));

test('a replica killed with SIGKILL mid-stream and started again: nothing lost, and it converges with its peer', { timeout: 150_000 }, (t) => check(async () => {
  const victim = stack.cluster.node(2, 2).server;
  await phase(t, async () => {
    await sleep(3_000);
    await victim.kill();
    stack.log('test: shard 2 replica 2 killed');
    await sleep(6_000);
    await victim.start();
    stack.log('test: shard 2 replica 2 started again');
    await sleep(3_000);
  });
  await assertStoredOnce(t);
}));

test('a whole shard unreachable for 20 s: the collectors retry, and after it nothing is lost or doubled', { timeout: 180_000 }, (t) => check(async () => {
  const shard2 = [stack.cluster.node(2, 1).server, stack.cluster.node(2, 2).server];
  const retriesBefore = collectorRetries(stack.lines);
  await phase(t, async () => {
    await sleep(3_000);
    for (const s of shard2) s.pause();
    stack.log('test: shard 2 paused (SIGSTOP, both replicas)');
    await sleep(20_000);
    for (const s of shard2) s.resume();
    stack.log('test: shard 2 resumed');
    await sleep(3_000);
  });
  await assertStoredOnce(t);
  await eventually('a collector to log store retries', () => collectorRetries(stack.lines).some((n, i) => n > retriesBefore[i]), 15_000);
}));

test('ZooKeeper paused for 10 s: inserts wait or fail retriably and resume; nothing lost or doubled', { timeout: 180_000 }, (t) => check(async () => {
  await phase(t, async () => {
    await sleep(3_000);
    stack.cluster.zookeeper.pause();
    stack.log('test: ZooKeeper paused (SIGSTOP)');
    await sleep(10_000);
    stack.cluster.zookeeper.resume();
    stack.log('test: ZooKeeper resumed');
    await sleep(3_000);
  });
  await assertStoredOnce(t);
}));

test('after every fault, each sidecar\'s taps are in the cluster exactly once', { timeout: 120_000 }, () => check(async () => {
  const { mesh, lines, cluster } = stack;
  await mesh.close();
  assertNoSidecarLoss(lines, mesh.sidecars.size);
  const emitted = emittedTaps(lines);
  const storedByProxy = async () => {
    const by = new Map<string, number>();
    for (const [key, st] of await storedStreams(cluster)) by.set(key.split('/')[0], (by.get(key.split('/')[0]) ?? 0) + st.taps);
    return by;
  };
  let stored = new Map<string, number>();
  await eventually('every emitted tap stored', async () => {
    stored = await storedByProxy();
    return [...emitted].every(([id, n]) => (stored.get(id) ?? 0) >= n);
  }, 60_000).catch((e) => { throw new Error(`${(e as Error).message}: emitted ${JSON.stringify([...emitted])}, stored ${JSON.stringify([...stored])}`); });
  assert.deepEqual(new Map([...stored].sort()), new Map([...emitted].sort()), 'taps stored per sidecar against taps it emitted');
  assert.equal(streamProblems(await storedStreams(cluster)), null);
}));
