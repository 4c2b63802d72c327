// The scaled-out loop on a ClickHouse cluster, for test/cluster*.test.ts:
// ZooKeeper and 2 shards × 2 replicas (peers/clickhouse-cluster.ts) with the
// cluster DDL of `meshlens schema --cluster --legacy` applied, the Kafka mock,
// a control plane (store and UI on shard 1 replica 1, no collector of its
// own), two `meshlens collector` processes of one consumer group writing
// through the Distributed tables of shard 1's two replicas, and the demo mesh
// on Kafka. Shard 2 is reached only through Distributed, so a fault there
// is one the collectors see across the cluster.

import { Child, quietTopology, sendExactly, startDemoMesh, type DemoMesh } from '../demo/index.ts';
import { clusterSchemaStatements, DEFAULT_TAPS_TOPIC } from '../ingest/index.ts';
import { committedToEnd } from '../ingest/testing/kafka-waits.ts';
import { startKafkaMock, startTestClickHouseCluster, type ClusterNode, type KafkaMock, type TestClickHouseCluster } from '../peers/index.ts';
import { demoControl, eventually, kafkaSidecarFlags, startScaledOutControl } from './stack.ts';

export interface ClusterStack {
  cluster: TestClickHouseCluster;
  kafka: KafkaMock;
  core: Awaited<ReturnType<typeof startScaledOutControl>>;
  collectors: Child[];
  mesh: DemoMesh;
  /** Front-door requests sent while starting (see warmMesh), and how many of them failed. */
  warmup: { sent: number; failed: number };
  lines: string[];
  log(line: string): void;
  close(): Promise<void>;
}

/** Everything above, started in order; whatever started is stopped again if a later part fails. */
export async function startClusterStack(): Promise<ClusterStack> {
  const lines: string[] = [];
  const log = (l: string) => { lines.push(l); };
  const stops: (() => Promise<void>)[] = [];
  const close = async () => { for (const s of stops.splice(0).reverse()) await s().catch((e) => log(`test: stopping: ${(e as Error).message}`)); };
  try {
    const cluster = await startTestClickHouseCluster();
    stops.push(() => cluster.close());
    for (const sql of clusterSchemaStatements({ cluster: cluster.name, dialect: 'legacy' })) await cluster.query(sql);
    const kafka = await startKafkaMock();
    stops.push(() => kafka.stop());
    const entry = cluster.node(1, 1).server.url;
    const core = await startScaledOutControl({ brokers: kafka.brokers, clickhouseUrl: entry, collector: false }, lines);
    stops.push(() => core.close());
    const collectors = [cluster.node(1, 1), cluster.node(1, 2)].map((n, i) => new Child(`collector-${i + 1}`, [
      'collector', '--brokers', kafka.brokers.join(','), '--store', 'clickhouse', '--clickhouse-url', n.server.url, '--trust-bundle', core.trustBundleFile,
    ], log));
    stops.push(async () => { await Promise.all(collectors.map((c) => c.stop(20_000))); });
    const warmup = { sent: 0, failed: 0 };
    const start = () => startDemoMesh({ control: demoControl(core), topology: quietTopology(), log, sidecarFlags: kafkaSidecarFlags(kafka.brokers) });
    let mesh: DemoMesh | undefined;
    stops.push(async () => { await mesh?.close(); });
    for (let attempt = 1; ; attempt++) {
      mesh = await start();
      if (await streamsOnBothShards(cluster, mesh, warmup)) break;
      if (attempt === 5) throw new Error('five demo meshes in a row put every sidecar stream on one shard');
      log(`test: every stream of the demo mesh is on one shard (attempt ${attempt}): starting it again for new streams`);
      await mesh.close();
    }
    return { cluster, kafka, core, collectors, mesh, warmup, lines, log, close };
  } catch (e) {
    console.error(lines.slice(-60).join('\n'));
    await close();
    throw e;
  }
}

/** Every (proxy/stream) the shard holds, as its replicas have it. */
async function streamsOf(cluster: TestClickHouseCluster, shard: number): Promise<Set<string>> {
  const out = new Set<string>();
  for (const r of [1, 2]) {
    const text = await cluster.query("SELECT DISTINCT concat(proxy, '/', stream) FROM meshlens.tap_batches_local FORMAT TSV", cluster.node(shard, r));
    for (const l of text.trim().split('\n')) if (l) out.add(l);
  }
  return out;
}

/**
 * Sidecar streams are named at random when a sidecar starts, and sharding
 * puts each on one shard: with five, all on one shard one time in sixteen,
 * and a fault on the other would test nothing. Sends 20 requests, waits
 * until every sidecar's new stream is stored, and says whether both shards
 * got some.
 */
async function streamsOnBothShards(cluster: TestClickHouseCluster, mesh: DemoMesh, warmup: { sent: number; failed: number }): Promise<boolean> {
  const before = new Set([...await streamsOf(cluster, 1), ...await streamsOf(cluster, 2)]);
  const statuses = await sendExactly(mesh.ingressUrl, 20, 4);
  warmup.sent += 20;
  warmup.failed += [...statuses].filter(([status]) => status !== 200).reduce((n, [, c]) => n + c, 0);
  let fresh: Set<string>[] = [];
  await eventually('a stream of every sidecar stored', async () => {
    fresh = await Promise.all([1, 2].map(async (s) => new Set([...await streamsOf(cluster, s)].filter((k) => !before.has(k)))));
    return fresh[0].size + fresh[1].size >= mesh.sidecars.size;
  }, 30_000);
  return fresh[0].size > 0 && fresh[1].size > 0;
}

/** Each sidecar's emitted taps over every time it stopped (a mesh started again has sidecars of the same ids). */
export function emittedTaps(lines: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of lines) {
    const m = /^\[sidecar ([\w.-]+)\] .*sidecar: stopped, (\{.*\})$/.exec(l);
    if (m) out.set(m[1], (out.get(m[1]) ?? 0) + (JSON.parse(m[2]) as { taps: { emitted: number } }).taps.emitted);
  }
  return out;
}

/** Whether the collectors' group has committed every partition of the taps topic to its end, and what it saw. */
export function collectorsDrained(stack: ClusterStack): Promise<{ done: boolean; seen: string }> {
  return committedToEnd(stack.kafka.brokers, 'meshlens-collectors', DEFAULT_TAPS_TOPIC);
}

/** One number from a node's HTTP interface. */
export async function countOn(cluster: TestClickHouseCluster, node: ClusterNode, sql: string): Promise<number> {
  return Number((await cluster.query(sql, node)).trim());
}

/** Local tables whose replicas must hold the same rows once replication has caught up. */
const CONVERGING = ['taps_local', 'tap_batches_local', 'rollup_service_10s_local', 'rollup_edge_10s_local'];

/** Per shard, the FINAL row counts of CONVERGING on each replica; null when they all agree. */
export async function replicaDifferences(cluster: TestClickHouseCluster): Promise<string | null> {
  const diffs: string[] = [];
  for (const shard of [1, 2]) {
    for (const table of CONVERGING) {
      const counts = await Promise.all([1, 2].map((r) => countOn(cluster, cluster.node(shard, r), `SELECT count() FROM meshlens.${table} FINAL`)));
      if (counts[0] !== counts[1]) diffs.push(`shard ${shard} ${table}: replicas hold ${counts.join(' / ')} rows`);
    }
  }
  return diffs.length > 0 ? diffs.join('; ') : null;
}

/** What the cluster holds of one stream, read through the Distributed tables with FINAL. */
export interface StoredStream { taps: number; distinctSeqs: number; lo: number; hi: number; batches: number; maxBatch: number; batchEvents: number; firstSeq: number; lastSeq: number }

/** Every stream's taps and chain records, by `proxy/stream`. */
export async function storedStreams(cluster: TestClickHouseCluster): Promise<Map<string, StoredStream>> {
  const rows = (sql: string) => cluster.query(sql).then((t) => t.trim().split('\n').filter(Boolean).map((l) => l.split('\t')));
  const out = new Map<string, StoredStream>();
  for (const [proxy, stream, ...n] of await rows(`SELECT proxy, stream, count(), uniqExact(seq), min(seq), max(seq)
    FROM meshlens.taps FINAL GROUP BY proxy, stream FORMAT TSV`)) {
    const [taps, distinctSeqs, lo, hi] = n.map(Number);
    out.set(`${proxy}/${stream}`, { taps, distinctSeqs, lo, hi, batches: 0, maxBatch: -1, batchEvents: 0, firstSeq: -1, lastSeq: -1 });
  }
  for (const [proxy, stream, ...n] of await rows(`SELECT proxy, stream, count(), max(batch), sum(events), min(first_seq), max(first_seq + events - 1)
    FROM meshlens.tap_batches FINAL GROUP BY proxy, stream FORMAT TSV`)) {
    const [batches, maxBatch, batchEvents, firstSeq, lastSeq] = n.map(Number);
    const key = `${proxy}/${stream}`;
    out.set(key, { ...(out.get(key) ?? { taps: 0, distinctSeqs: 0, lo: -1, hi: -1 }), batches, maxBatch, batchEvents, firstSeq, lastSeq });
  }
  return out;
}

/**
 * What is wrong with the stored streams, or null: per stream, batches 0..head
 * each once, their events each once (no seq twice, even on two shards:
 * FINAL collapses only within a shard) and none missing between the first
 * and the head.
 */
export function streamProblems(streams: Map<string, StoredStream>): string | null {
  const bad: string[] = [];
  for (const [key, s] of streams) {
    if (s.batches !== s.maxBatch + 1) bad.push(`${key}: ${s.batches} chain records for batches 0..${s.maxBatch}`);
    if (s.taps !== s.distinctSeqs) bad.push(`${key}: ${s.taps} taps but ${s.distinctSeqs} distinct seqs (doubled)`);
    if (s.taps !== s.batchEvents || s.lo !== s.firstSeq || s.hi !== s.lastSeq) {
      bad.push(`${key}: taps seq ${s.lo}..${s.hi} (${s.taps}), chain records say ${s.firstSeq}..${s.lastSeq} (${s.batchEvents})`);
    }
    if (s.taps !== s.hi - s.lo + 1) bad.push(`${key}: ${s.taps} taps over seq ${s.lo}..${s.hi} (gaps)`);
  }
  return streams.size === 0 ? 'no streams stored' : bad.length > 0 ? bad.join('; ') : null;
}

/** The highest `N store retries` each collector has logged (it logs its counters every 10 s). */
export function collectorRetries(lines: string[]): number[] {
  return [1, 2].map((i) => Math.max(0, ...lines
    .map((l) => new RegExp(`^\\[collector-${i}\\] .*collector: \\d+ taps written.* (\\d+) store retries`).exec(l))
    .filter((m): m is RegExpExecArray => m !== null).map((m) => Number(m[1]))));
}

/** The distinct store errors the collectors logged in `lines` (from `since` on), shortened to the code and the server's message. */
export function collectorStoreErrors(lines: string[], since = 0): string[] {
  const out = new Set<string>();
  for (const l of lines.slice(since)) {
    const m = /^\[collector-\d\] .*collector: partition \d+ offset \d+: (INGEST_ERR_\w+): (.*)$/.exec(l);
    if (!m) continue;
    const why = m[2].replace(/^clickhouse store .*?: writing .*?\): /, '').replace(/Code: \d+, e\.displayText\(\) = /, '').replace(/, e\.what\(\).*$/, '');
    out.add(`${m[1]} ${why}`.slice(0, 160));
  }
  return [...out];
}
