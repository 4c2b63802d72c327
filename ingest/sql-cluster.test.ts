import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterSchemaStatements } from './sql-cluster.ts';
import { TABLES, VIEWS } from './sql.ts';

// The text of the DDL; test/cluster.test.ts runs the legacy statements on a
// 2 × 2 cluster of 18.16 with ZooKeeper (peers/clickhouse-cluster.ts).

for (const dialect of ['modern', 'legacy'] as const) {
  test(`cluster DDL (${dialect}): every table is Replicated on each shard under a Distributed table of the same name`, () => {
    const ddl = clusterSchemaStatements({ cluster: 'prod', database: 'mesh', dialect });
    assert.equal(ddl[0], 'CREATE DATABASE IF NOT EXISTS mesh ON CLUSTER prod');
    for (const t of TABLES) {
      const local = ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS mesh.${t.name}_local ON CLUSTER prod (`));
      assert.ok(local, `local table ${t.name}_local`);
      assert.match(local, new RegExp(`ENGINE = Replicated\\w*MergeTree\\('/clickhouse/tables/\\{shard\\}/mesh/${t.name}_local', '\\{replica\\}'${t.version ? `, ${t.version}` : ''}\\)`));
      assert.match(local, /ORDER BY \(/);
      assert.doesNotMatch(local, /non_replicated_deduplication_window/);
      assert.equal(/ TTL /.test(local), dialect === 'modern', 'TTL only on modern servers');
      const dist = ddl.find((s) => s.startsWith(`CREATE TABLE IF NOT EXISTS mesh.${t.name} ON CLUSTER prod AS mesh.${t.name}_local`));
      assert.ok(dist, `distributed table ${t.name}`);
      assert.match(dist, new RegExp(`ENGINE = Distributed\\(prod, mesh, ${t.name}_local, cityHash64\\(${t.shardKey}\\)\\)`));
    }
    for (const v of VIEWS) {
      const mv = ddl.find((s) => s.includes(`VIEW IF NOT EXISTS mesh.${v.name}_local ON CLUSTER prod TO mesh.${v.to}_local`));
      assert.ok(mv, `view ${v.name} writes the local rollup`);
      assert.match(mv, /FROM mesh\.taps_local /);
    }
    assert.equal(ddl.length, 1 + 2 * TABLES.length + VIEWS.length);
  });
}

test('cluster DDL refuses names that are not plain identifiers', () => {
  assert.throws(() => clusterSchemaStatements({ cluster: 'prod; DROP', database: 'mesh' }), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => clusterSchemaStatements({ cluster: 'prod', database: 'me sh' }), { code: 'INGEST_ERR_CONFIG' });
});

test('cluster DDL keeps every state of a tuning action on one shard, each state its own row, for as long as rollups', () => {
  const ddl = clusterSchemaStatements({ cluster: 'prod', database: 'mesh', rollupRetentionDays: 45 });
  const local = ddl.find((s) => s.startsWith('CREATE TABLE IF NOT EXISTS mesh.actions_local ON CLUSTER prod ('));
  assert.ok(local, 'local actions table');
  assert.match(local, /ORDER BY \(id, updated_at, state\) TTL toDateTime\(intDiv\(proposed_at, 1000\)\) \+ INTERVAL 45 DAY/);
  assert.ok(ddl.some((s) => s.includes('mesh.actions ON CLUSTER prod AS mesh.actions_local') && s.includes('cityHash64(id)')));
});
