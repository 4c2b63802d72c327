// The cluster row of `bench:ingest -- --drain`: the store on a 2-shard x
// 2-replica ClickHouse cluster with ZooKeeper (peers/clickhouse-cluster.ts,
// Debian's 18.16 servers), its schema applied ON CLUSTER as an operator
// would (`meshlens schema --cluster`), the collector writing through the
// Distributed tables of the first node. The raw peer inserts the same rows
// into `taps` of a second copy of that schema, also through Distributed
// and with the store's insert_distributed_sync (acknowledged = on its
// shard). CPU is every server's and ZooKeeper's.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { clusterSchemaStatements, createClickHouseStore, TAP_INSERT_COLUMNS, type TapStore } from '../ingest/index.ts';
import { startTestClickHouseCluster } from '../peers/index.ts';
import { Readable } from 'node:stream';
import { pidOf, procCpuMs } from './proc-cpu.ts';

export interface ClusterStore {
  store: TapStore;
  /** CPU of every process of the cluster (servers and ZooKeeper) so far, ms. */
  cpuMs(): number;
  /** The raw peer: TabSeparated rows of TAP_INSERT_COLUMNS straight into `taps` of a copy of the schema in database `db`. */
  rawInserter(db: string): Promise<{ insert(chunks: Buffer[]): Promise<void>; close(): Promise<void> }>;
  /** Stops the cluster and removes its directories. */
  close(): Promise<void>;
}

const PEER = fileURLToPath(new URL('../peers/clickhouse-cluster.ts', import.meta.url));

/** Whether the cluster peer exists in this checkout. */
export const clusterAvailable = (): boolean => existsSync(PEER);

export async function openClusterStore(): Promise<ClusterStore> {
  const cluster = await startTestClickHouseCluster();
  const database = 'bench';
  await cluster.query(`CREATE DATABASE IF NOT EXISTS ${database} ON CLUSTER ${cluster.name}`);
  for (const sql of clusterSchemaStatements({ cluster: cluster.name, dialect: 'legacy', database })) await cluster.query(sql);
  const url = cluster.nodes[0].server.url;
  const pids = [...cluster.nodes.map((n) => pidOf(n.server.dir)), pidOf(cluster.zookeeper.dir)].filter((p): p is number => p !== null);
  return {
    store: createClickHouseStore({ url, database }),
    cpuMs: () => pids.reduce((n, p) => n + procCpuMs(p), 0),
    async rawInserter(db) {
      await cluster.query(`CREATE DATABASE IF NOT EXISTS ${db} ON CLUSTER ${cluster.name}`);
      for (const sql of clusterSchemaStatements({ cluster: cluster.name, dialect: 'legacy', database: db })) await cluster.query(sql);
      const client = createClient({ url, database: db, log: { level: ClickHouseLogLevel.OFF } });
      return {
        insert: async (chunks) => {
          await client.insert({
            table: 'taps', values: Readable.from(chunks, { objectMode: false }), format: 'TabSeparated', columns: [...TAP_INSERT_COLUMNS] as [string, ...string[]],
            clickhouse_settings: { insert_distributed_sync: 1 },
          });
        },
        close: () => client.close(),
      };
    },
    close: () => cluster.close(),
  };
}
