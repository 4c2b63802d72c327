// A real ClickHouse cluster for tests and for `scripts/cluster.mjs`: one
// ZooKeeper and shards × replicas clickhouse-servers (./clickhouse-server.ts)
// on 127.0.0.1, each with its own ports, data directory, `macros` ({shard},
// {replica}) and the same `remote_servers` entry naming every node, with
// internal_replication (a Distributed insert writes one replica per shard,
// replication copies it) and <distributed_ddl> so ON CLUSTER statements run.
//
// Every node's config names every node's TCP port, so all ports are chosen
// before the first server starts; each node then keeps its ports across
// stop()/start() (a fault test kills and restarts one).

import { request } from 'node:http';
import { freePort, startTestClickHouseServer, type TestClickHouseServer } from './clickhouse-server.ts';
import { startTestZooKeeper, type TestZooKeeper } from './zookeeper.ts';

export interface ClusterNode {
  /** 1-based, as in the {shard} macro and remote_servers order. */
  readonly shard: number;
  readonly replica: number;
  readonly server: TestClickHouseServer;
}

export interface TestClickHouseCluster {
  /** The cluster's name in remote_servers (ON CLUSTER, Distributed). */
  readonly name: string;
  readonly zookeeper: TestZooKeeper;
  /** Shard by shard, replica by replica. */
  readonly nodes: readonly ClusterNode[];
  node(shard: number, replica: number): ClusterNode;
  /** Runs one statement over HTTP on a node (default the first) and returns the body; throws with the server's message. */
  query(sql: string, on?: ClusterNode): Promise<string>;
  /** Stops every server and ZooKeeper and deletes their directories. */
  close(): Promise<void>;
}

export interface TestClickHouseClusterOptions {
  shards?: number;
  replicas?: number;
  /** Cluster name (default meshlens). */
  name?: string;
  /** How long each server's start waits for /ping (default 30 s: four servers share the cores). */
  startTimeoutMs?: number;
}

interface Ports { http: number; tcp: number; interserver: number }

function clusterXml(name: string, zkPort: number, layout: Ports[][], shard: number, replica: number, own: Ports): string {
  const shards = layout.map((replicas) => `      <shard><internal_replication>true</internal_replication>
${replicas.map((p) => `        <replica><host>127.0.0.1</host><port>${p.tcp}</port></replica>`).join('\n')}
      </shard>`).join('\n');
  return `  <interserver_http_host>127.0.0.1</interserver_http_host>
  <interserver_http_port>${own.interserver}</interserver_http_port>
  <zookeeper>
    <node><host>127.0.0.1</host><port>${zkPort}</port></node>
    <session_timeout_ms>15000</session_timeout_ms>
    <operation_timeout_ms>5000</operation_timeout_ms>
  </zookeeper>
  <remote_servers>
    <${name}>
${shards}
    </${name}>
  </remote_servers>
  <macros><shard>${shard}</shard><replica>s${shard}r${replica}</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
`;
}

/** POSTs one statement to a ClickHouse HTTP URL; the body on 200, else throws with the server's message. */
export function clickhouseQuery(url: string, sql: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => (res.statusCode === 200 ? resolve(body)
        : reject(new Error(`${url}: HTTP ${res.statusCode}: ${body.trim().slice(0, 600)} (for: ${sql.slice(0, 120).replace(/\s+/g, ' ')}…)`))));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms (for: ${sql.slice(0, 120)}…)`)));
    req.on('error', reject);
    req.end(sql);
  });
}

/** ZooKeeper and shards × replicas servers (default 2 × 2), all answering, all connected to ZooKeeper. */
export async function startTestClickHouseCluster(opts: TestClickHouseClusterOptions = {}): Promise<TestClickHouseCluster> {
  const shards = opts.shards ?? 2;
  const replicas = opts.replicas ?? 2;
  const name = opts.name ?? 'meshlens';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`cluster name must be an identifier, got ${JSON.stringify(name)}`);
  const zookeeper = await startTestZooKeeper();
  const nodes: ClusterNode[] = [];
  try {
    const layout: Ports[][] = [];
    for (let s = 0; s < shards; s++) {
      const row: Ports[] = [];
      for (let r = 0; r < replicas; r++) row.push({ http: await freePort(), tcp: await freePort(), interserver: await freePort() });
      layout.push(row);
    }
    const started = await Promise.allSettled(layout.flatMap((row, s) => row.map(async (p, r) => {
      const server = await startTestClickHouseServer({
        httpPort: p.http, tcpPort: p.tcp, startTimeoutMs: opts.startTimeoutMs ?? 30_000,
        extraConfig: clusterXml(name, zookeeper.port, layout, s + 1, r + 1, p),
      });
      nodes.push({ shard: s + 1, replica: r + 1, server });
    })));
    const failed = started.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) throw failed.reason;
    nodes.sort((a, b) => a.shard - b.shard || a.replica - b.replica);
    // Each server connects to ZooKeeper lazily; ask each once so a broken setup fails here, by name.
    for (const n of nodes) await clickhouseQuery(n.server.url, "SELECT count() FROM system.zookeeper WHERE path = '/'");
  } catch (e) {
    await Promise.all(nodes.map((n) => n.server.close()));
    await zookeeper.close();
    throw e;
  }
  const node = (shard: number, replica: number) => {
    const n = nodes.find((x) => x.shard === shard && x.replica === replica);
    if (!n) throw new Error(`cluster ${name} has no shard ${shard} replica ${replica}`);
    return n;
  };
  return {
    name, zookeeper, nodes, node,
    query: (sql, on = nodes[0]) => clickhouseQuery(on.server.url, sql),
    async close() {
      zookeeper.resume();
      for (const n of nodes) n.server.resume();
      // Replicated tables wait for ZooKeeper on shutdown: servers first.
      await Promise.all(nodes.map((n) => n.server.close()));
      await zookeeper.close();
    },
  };
}
