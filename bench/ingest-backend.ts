// One ClickHouse backend's phases of the ingest bench, in its own process
// (chdb allows one data directory per process). Started by ./ingest.ts with
// a JSON config as argv[2]; talks over IPC:
//
//   -> {ready}            store open, collector joined its consumer group
//   <- {go}               producers have started
//   -> {e2e}              every tap stored: counters, CPU of this process
//                         (collector; with chdb also the engine) and of
//                         the server process (clickhouse)
//   -> {raw}              the raw insert peer: the same rows in the same
//                         TabSeparated encoding the store uses (encoded
//                         before the clock starts), in INSERTs of the
//                         collector's mean rows per insert, straight into a
//                         copy of the schema (views included)

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import {
  createChdbStore, createClickHouseStore, encodeTapRows, schemaStatements, startKafkaCollector, TAP_INSERT_COLUMNS, type TapBatch, type TapStore,
} from '../ingest/index.ts';
import { startTestClickHouseServer, type TestClickHouseServer } from '../peers/index.ts';
import { Readable } from 'node:stream';
import { procCpuMs } from './proc-cpu.ts';
import { producerBatches } from './synthetic-taps.ts';

export interface BackendConfig {
  backend: 'chdb' | 'clickhouse';
  brokers: string[];
  topic: string;
  taps: number;
  producers: number;
  batchSize: number;
  sidecars: number;
  groupMaxBytes?: number;
  groupLingerMs?: number;
  groupMaxWrites?: number;
  /** Raw insert size when the e2e phase is skipped. */
  rawRows?: number;
}

const cfg = JSON.parse(process.argv[2]) as BackendConfig;
const send = (m: object) => process.send!(m);
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

function findServerPid(dir: string): number | null {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try { if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(dir)) return Number(p); } catch { /* gone */ }
  }
  return null;
}

let server: TestClickHouseServer | null = null;
let dataDir: string | null = null;
let store: TapStore;
if (cfg.backend === 'chdb') {
  dataDir = mkdtempSync(join(tmpdir(), 'meshlens-bench-chdb-'));
  store = createChdbStore({ dataDir });
} else {
  server = await startTestClickHouseServer();
  store = createClickHouseStore({ url: server.url, database: 'bench' });
}
await store.init();
const serverPid = server ? findServerPid(server.dir) : null;

// End to end: Kafka -> collector -> store.
const collector = await startKafkaCollector({
  brokers: cfg.brokers, store, topic: cfg.topic, groupId: `bench-${cfg.backend}`, createPartitions: false,
  groupMaxBytes: cfg.groupMaxBytes, groupLingerMs: cfg.groupLingerMs, groupMaxWrites: cfg.groupMaxWrites, fetchWaitMs: 100, log: (m) => process.stderr.write(`collector: ${m}\n`),
});
while (collector.counters().partitions.length === 0) await new Promise((r) => setTimeout(r, 50));
await new Promise<void>((resolve) => {
  process.on('message', (m: { go?: boolean }) => { if (m.go) resolve(); });
  send({ ready: true });
});
// BENCH_CPU_PROF=dir: a V8 CPU profile of this process over the end-to-end phase only.
const profiler = process.env.BENCH_CPU_PROF ? new inspector.Session() : null;
if (profiler) {
  profiler.connect();
  await new Promise((r) => profiler.post('Profiler.enable', () => profiler.post('Profiler.start', r)));
}
const cpu0 = cpuMs();
const server0 = serverPid ? procCpuMs(serverPid) : 0;
const progress = setInterval(() => { if (process.env.BENCH_DEBUG) process.stderr.write(`${cfg.backend}: ${JSON.stringify(collector.counters())}\n`); }, 2_000);
while (collector.counters().events_written < cfg.taps) await new Promise((r) => setTimeout(r, 20));
clearInterval(progress);
if (profiler) {
  const { profile } = await new Promise<{ profile: object }>((r, j) => profiler.post('Profiler.stop', (e, p) => (e ? j(e) : r(p as { profile: object }))));
  mkdirSync(process.env.BENCH_CPU_PROF!, { recursive: true });
  writeFileSync(join(process.env.BENCH_CPU_PROF!, `e2e-${cfg.backend}.cpuprofile`), JSON.stringify(profile));
  profiler.disconnect();
}
const e2eCpu = cpuMs() - cpu0;
const serverCpu = serverPid ? procCpuMs(serverPid) - server0 : null;
const counters = collector.counters();
await collector.close();
const stored = await store.countTaps({});
send({ e2e: true, cpuMs: e2eCpu, serverCpuMs: serverCpu, stored, counters: { ...counters, partitions: counters.partitions.length } });

// Raw inserts: the same rows, the collector's mean rows per insert.
const rowsPerInsert = cfg.rawRows ?? Math.max(1, Math.round(counters.events_written / Math.max(1, counters.groups)));
const rawDb = 'bench_raw';
let insert: (chunks: Buffer[]) => Promise<void>;
let closeRaw: () => Promise<void>;
if (cfg.backend === 'chdb') {
  const { Session } = await import('chdb');
  const session = new Session(dataDir!); // same path: shares the store's engine
  await session.queryAsync(`CREATE DATABASE IF NOT EXISTS ${rawDb}`);
  for (const sql of schemaStatements({ database: rawDb })) await session.queryAsync(sql);
  insert = async (chunks) => {
    await session.insert({ table: `${rawDb}.taps`, values: Buffer.concat(chunks), format: 'TabSeparated', columns: TAP_INSERT_COLUMNS });
  };
  closeRaw = async () => { session.close(); };
} else {
  const boot = createClient({ url: server!.url, log: { level: ClickHouseLogLevel.OFF } });
  await boot.command({ query: `CREATE DATABASE IF NOT EXISTS ${rawDb}` });
  await boot.close();
  const client = createClient({ url: server!.url, database: rawDb, log: { level: ClickHouseLogLevel.OFF } });
  for (const sql of schemaStatements({ dialect: 'legacy' })) await client.command({ query: sql });
  insert = async (chunks) => {
    await client.insert({ table: 'taps', values: Readable.from(chunks, { objectMode: false }), format: 'TabSeparated', columns: [...TAP_INSERT_COLUMNS] as [string, ...string[]] });
  };
  closeRaw = () => client.close();
}
let rawWallMs = 0;
let rawCpuMs = 0;
let rawServerCpuMs = 0;
let batches: TapBatch[] = [];
let rows = 0;
let rawTaps = 0;
const timed = async () => {
  const chunks = encodeTapRows(batches);
  const t = performance.now();
  const c = cpuMs();
  const s = serverPid ? procCpuMs(serverPid) : 0;
  await insert(chunks);
  rawWallMs += performance.now() - t;
  rawCpuMs += cpuMs() - c;
  if (serverPid) rawServerCpuMs += procCpuMs(serverPid) - s;
  rawTaps += rows;
  batches = [];
  rows = 0;
};
const start = Date.now();
for (let p = 0; p < cfg.producers; p++) {
  for (const b of producerBatches(p, Math.ceil(cfg.taps / cfg.producers), cfg.batchSize, cfg.sidecars, start)) {
    batches.push(b);
    rows += b.events.length;
    if (rows >= rowsPerInsert) await timed();
  }
}
if (rows > 0) await timed();
await closeRaw();
send({ raw: true, taps: rawTaps, rowsPerInsert, wallMs: rawWallMs, cpuMs: rawCpuMs, serverCpuMs: serverPid ? rawServerCpuMs : null });

await store.close();
await server?.close();
// chdb may still be finishing background merges in the directory: retry the removal.
if (dataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
process.disconnect();
