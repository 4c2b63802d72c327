#!/usr/bin/env node
// A scratch ClickHouse cluster on this machine, the topology test/cluster.test.ts
// runs: ZooKeeper and 2 shards × 2 replicas of Debian's clickhouse-server 18.16
// on 127.0.0.1 (free ports, data in temp directories), with meshlens's cluster
// schema (`meshlens schema --cluster meshlens --legacy`) applied.
//
//   node scripts/cluster.mjs up [--no-schema]   start it, print the URLs, run until Ctrl-C or `down`
//   node scripts/cluster.mjs down               stop the one `up` started (from another terminal)
//
// Needs `apt-get install -y clickhouse-server zookeeper` (npm test installs both as root).
// Everything is deleted when it stops: it is for trying the scaled-out loop, not for keeping data.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const STATE = join(tmpdir(), 'meshlens-cluster.json');
const [command, ...flags] = process.argv.slice(2);

function usage(code) {
  console.error('usage: node scripts/cluster.mjs up [--no-schema] | down');
  process.exit(code);
}

function running() {
  if (!existsSync(STATE)) return null;
  const state = JSON.parse(readFileSync(STATE, 'utf8'));
  try { process.kill(state.pid, 0); return state; } catch { rmSync(STATE, { force: true }); return null; }
}

async function up() {
  const unknown = flags.filter((f) => f !== '--no-schema');
  if (unknown.length > 0) usage(2);
  const other = running();
  if (other) {
    console.error(`meshlens cluster: already up (pid ${other.pid}); stop it with: node scripts/cluster.mjs down`);
    process.exit(1);
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { startTestClickHouseCluster } = await import('../peers/index.ts');
  const { clusterSchemaStatements } = await import('../ingest/index.ts');
  console.log('meshlens cluster: starting ZooKeeper and 2 shards x 2 replicas …');
  const cluster = await startTestClickHouseCluster();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('meshlens cluster: stopping …');
    await cluster.close();
    rmSync(STATE, { force: true });
    console.log('meshlens cluster: stopped, its data deleted');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    if (!flags.includes('--no-schema')) {
      for (const sql of clusterSchemaStatements({ cluster: cluster.name, dialect: 'legacy' })) await cluster.query(sql);
    }
  } catch (e) {
    console.error(`meshlens cluster: applying the schema failed: ${e.message}`);
    await stop();
  }
  const nodes = cluster.nodes.map((n) => ({ shard: n.shard, replica: n.replica, url: n.server.url, tcp_port: n.server.tcpPort, dir: n.server.dir }));
  writeFileSync(STATE, JSON.stringify({ pid: process.pid, cluster: cluster.name, zookeeper: `${cluster.zookeeper.host}:${cluster.zookeeper.port}`, nodes }, null, 2));
  console.log(`meshlens cluster: up as cluster '${cluster.name}', ZooKeeper at ${cluster.zookeeper.host}:${cluster.zookeeper.port}`);
  for (const n of nodes) console.log(`  shard ${n.shard} replica ${n.replica}: ${n.url}  (native port ${n.tcp_port}, ${n.dir})`);
  console.log(flags.includes('--no-schema')
    ? `no schema applied; apply it with: meshlens schema --cluster ${cluster.name} --legacy | clickhouse-client --port ${nodes[0].tcp_port} --multiquery`
    : `schema applied ON CLUSTER ${cluster.name} (database meshlens); point --clickhouse-url at any node, e.g. ${nodes[0].url}`);
  console.log('Ctrl-C (or node scripts/cluster.mjs down) stops it');
}

async function down() {
  const state = running();
  if (!state) {
    console.log('meshlens cluster: not running');
    return;
  }
  process.kill(state.pid, 'SIGTERM');
  for (let i = 0; i < 300; i++) {
    try { process.kill(state.pid, 0); } catch { console.log(`meshlens cluster: stopped (pid ${state.pid})`); return; }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error(`meshlens cluster: pid ${state.pid} still running after 30 s`);
  process.exit(1);
}

if (command === 'up') await up();
else if (command === 'down') await down();
else usage(command === undefined || command === '--help' ? 0 : 2);
