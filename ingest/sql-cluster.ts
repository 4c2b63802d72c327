// The schema of ./sql.ts for a ClickHouse cluster: every table becomes a
// Replicated* table `<name>_local` on each shard (ZooKeeper path with the
// {shard} macro, replica name {replica}) under a Distributed table `<name>`,
// so the store's queries and inserts keep using the plain names. The rollup
// views read `taps_local` and write `rollup_*_local`: each shard aggregates
// what it holds, and reads through the Distributed rollups merge the states.
//
// Sharding keeps all rows of a batch on one shard (cityHash64 of proxy,
// stream), so a resent batch meets its first copy there and replication's
// block dedup (plus insert_deduplication_token on modern servers) or FINAL
// drops it. Inserts through Distributed are synchronous
// (insert_distributed_sync = 1, in both dialects' insert settings, ./sql.ts)
// so an acknowledged batch is on its shard. A store that finds `taps`
// Distributed runs none of its own DDL (./sql-store.ts).
//
// Run as is on ClickHouse 18.16 with ZooKeeper 3.8 (the legacy statements,
// new-style PARTITION BY/ORDER BY under Replicated* engines, work there):
// test/cluster.test.ts, on peers/clickhouse-cluster.ts.

import {
  checkIdentifier, createTableSql, createViewSql, qualified, resolveSchemaOptions, TABLES, VIEWS,
  type RenderOptions, type SchemaOptions, type SqlDialect,
} from './sql.ts';

export interface ClusterSchemaOptions extends SchemaOptions {
  /** Cluster name from the servers' remote_servers. */
  cluster: string;
  /** Database (default meshlens). */
  database?: string;
  dialect?: SqlDialect;
  /** ZooKeeper path prefix of the replicated tables (default /clickhouse/tables/{shard}). */
  zkPrefix?: string;
}

/** CREATE statements for a cluster, in dependency order, each ON CLUSTER and safe to run again. */
export function clusterSchemaStatements(opts: ClusterSchemaOptions): string[] {
  const database = checkIdentifier('database', opts.database ?? 'meshlens');
  const cluster = checkIdentifier('cluster', opts.cluster);
  const o: RenderOptions = {
    ...resolveSchemaOptions(opts), dialect: opts.dialect ?? 'modern', database, cluster, suffix: '_local',
  };
  if (opts.zkPrefix !== undefined) {
    if (!/^\/[A-Za-z0-9_{}/.-]*$/.test(opts.zkPrefix)) throw new Error(`zkPrefix must be a path of [A-Za-z0-9_{}/.-], got ${opts.zkPrefix}`);
    o.zkPrefix = opts.zkPrefix.replace(/\/$/, '');
  }
  const out = [`CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER ${cluster}`];
  for (const t of TABLES) {
    const local = qualified(o, `${t.name}_local`);
    out.push(createTableSql(t, o));
    out.push(`CREATE TABLE IF NOT EXISTS ${qualified(o, t.name)} ON CLUSTER ${cluster} AS ${local}
ENGINE = Distributed(${cluster}, ${database}, ${t.name}_local, cityHash64(${t.shardKey}))`);
  }
  for (const v of VIEWS) out.push(createViewSql(v, o));
  return out;
}
