// The ClickHouse store on a real cluster (ZooKeeper and 2 shards × 1 replica
// of 18.16, peers/clickhouse-cluster.ts) with the cluster DDL applied: what
// the store does differently there. The whole loop and its faults on 2 × 2:
// test/cluster.test.ts.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createClickHouseStore } from './clickhouse-store.ts';
import { clusterSchemaStatements } from './sql-cluster.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import { startTestClickHouseCluster, type TestClickHouseCluster } from '../peers/index.ts';

let cluster: TestClickHouseCluster;
before(async () => {
  cluster = await startTestClickHouseCluster({ shards: 2, replicas: 1 });
  for (const sql of clusterSchemaStatements({ cluster: cluster.name, dialect: 'legacy' })) await cluster.query(sql);
}, { timeout: 60_000 });
after(async () => { await cluster?.close(); });

const count = async (sql: string, on = cluster.nodes[0]) => Number((await cluster.query(sql, on)).trim());

test('clickhouse cluster: a store runs none of its own DDL there, and a batch written through two nodes is stored once', async () => {
  const stores = cluster.nodes.map((n) => createClickHouseStore({ url: n.server.url }));
  try {
    for (const s of stores) await s.init();
    for (const n of cluster.nodes) {
      // Single-node views on the Distributed taps would roll every tap up a second time.
      assert.equal(await count("SELECT count() FROM system.tables WHERE database = 'meshlens' AND name NOT LIKE '%\\_local' AND engine != 'Distributed'", n), 0);
    }
    const streams = ['a', 'b', 'c', 'd', 'e', 'f'].map((s) => sampleChain('web-1', s, [[sampleL7(), sampleL7()], [sampleL7()]]));
    const batches = streams.flat();
    await stores[0].writeBatches(batches);
    // The same batches again through the other node, grouped otherwise: each lands on the shard of its first copy.
    for (const chain of streams) await stores[1].writeBatches([...chain].reverse().slice(0, 1));
    await stores[1].writeBatches(batches.slice(2));
    assert.equal(await stores[1].countTaps({ kind: 'l7.request' }), 18);
    const perShard = await Promise.all(cluster.nodes.map((n) => count('SELECT count() FROM meshlens.taps_local FINAL', n)));
    assert.ok(perShard.every((x) => x > 0), `both shards hold taps: ${perShard.join(', ')}`);
    assert.equal(perShard[0] + perShard[1], 18);
    assert.equal(await count('SELECT countMerge(requests) FROM meshlens.rollup_edge_10s FINAL'), 18, 'rollups count each (outbound) tap once');
    assert.deepEqual((await stores[0].chainHeads()).map((h) => [h.stream, h.batch, h.last_seq]), streams.map((c) => [c[0].stream, 1, 2]));
  } finally {
    for (const s of stores) await s.close();
  }
});

test('clickhouse cluster: a store refuses a Distributed taps whose other tables are missing, naming them', async () => {
  for (const sql of clusterSchemaStatements({ cluster: cluster.name, database: 'partial', dialect: 'legacy' }).filter((s) => /^CREATE (DATABASE|TABLE IF NOT EXISTS partial\.taps(_local)? )/.test(s))) {
    await cluster.query(sql);
  }
  const store = createClickHouseStore({ url: cluster.nodes[0].server.url, database: 'partial' });
  try {
    await assert.rejects(store.init(), (e: Error & { code?: string }) =>
      e.code === 'INGEST_ERR_CONFIG' && /tap_batches, tap_batches_local/.test(e.message) && /meshlens schema --cluster/.test(e.message));
    assert.equal(await count("SELECT count() FROM system.tables WHERE database = 'partial'"), 2, 'and creates nothing');
  } finally {
    await store.close();
  }
});
