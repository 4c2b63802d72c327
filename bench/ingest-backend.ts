// One ClickHouse backend's phases of the ingest bench, in its own process
// (chdb allows one data directory per process). Started by ./ingest.ts with
// a JSON config as argv[2]; talks over IPC:
//
//   -> {ready}            store open, collector joined its consumer group
//   <- {go}               producers have started
//   -> {e2e}              every tap stored: counters, CPU of this process
//                         (collector; with chdb also the engine) and of
//                         the server process (clickhouse)
//
// With `drain` (./ingest-drain.ts) the topic is full before this process
// starts and there is no {ready}/{go}: the clock and the CPU counters start
// when the collector has joined its group (its first fetch follows), and
// {e2e} also gives the drain's wall time and this process's CPU split by
// thread (./proc-cpu.ts).
//   -> {raw}              the raw insert peer: the same rows in the same
//                         TabSeparated encoding the store uses (encoded
//                         before the clock starts), in INSERTs of the
//                         collector's mean rows per insert, straight into a
//                         copy of the schema (views included)

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { TrustBundle } from '../identity/index.ts';
import {
  createChdbStore, createClickHouseStore, encodeTapRows, schemaStatements, startKafkaCollector, TAP_INSERT_COLUMNS, type TapBatch, type TapStore,
} from '../ingest/index.ts';
import { startTestClickHouseServer, type TestClickHouseServer } from '../peers/index.ts';
import { Readable } from 'node:stream';
import { pidOf, procCpuMs, threadCpuMs } from './proc-cpu.ts';
import { openClusterStore, type ClusterStore } from './ingest-cluster.ts';
import { producerBatches } from './synthetic-taps.ts';

export interface BackendConfig {
  backend: 'chdb' | 'clickhouse' | 'cluster';
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
  /** The topic is full already: time from the group join to the last tap stored (see the header). */
  drain?: boolean;
  /** Consumer group (default bench-<backend>). */
  groupId?: string;
  /** PEM roots: the collector believes only batches signed by certificates chaining to them. */
  trustPem?: string;
}

const cfg = JSON.parse(process.argv[2]) as BackendConfig;
const send = (m: object) => process.send!(m);
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

let server: TestClickHouseServer | null = null;
let cluster: ClusterStore | null = null;
let dataDir: string | null = null;
let store: TapStore;
if (cfg.backend === 'chdb') {
  dataDir = mkdtempSync(join(tmpdir(), 'meshlens-bench-chdb-'));
  store = createChdbStore({ dataDir });
} else if (cfg.backend === 'cluster') {
  cluster = await openClusterStore();
  store = cluster.store;
} else {
  server = await startTestClickHouseServer();
  store = createClickHouseStore({ url: server.url, database: 'bench' });
}
await store.init();
const serverPid = server ? pidOf(server.dir) : null;
/** CPU of the server processes (one, or every node of the cluster), ms; null with chdb. */
const serverCpuMs = (): number | null => (serverPid ? procCpuMs(serverPid) : cluster ? cluster.cpuMs() : null);
const mark = () => ({ t: performance.now(), cpu: cpuMs(), server: serverCpuMs() ?? 0, threads: threadCpuMs(process.pid) });
/** Drain: taken when the collector has joined its group. */
let joined: ReturnType<typeof mark> | null = null;
// BENCH_CPU_PROF=dir: a V8 CPU profile of this process over the end-to-end phase only.
const profiler = process.env.BENCH_CPU_PROF ? new inspector.Session() : null;
const startProfiler = async () => {
  if (!profiler) return;
  profiler.connect();
  await new Promise((r) => profiler.post('Profiler.enable', () => profiler.post('Profiler.start', r)));
};
if (cfg.drain) await startProfiler(); // before the collector: it starts draining as soon as it joins

// End to end: Kafka -> collector -> store.
const collector = await startKafkaCollector({
  brokers: cfg.brokers, store, topic: cfg.topic, groupId: cfg.groupId ?? `bench-${cfg.backend}`, createPartitions: false,
  groupMaxBytes: cfg.groupMaxBytes, groupLingerMs: cfg.groupLingerMs, groupMaxWrites: cfg.groupMaxWrites, fetchWaitMs: 100,
  trust: cfg.trustPem ? TrustBundle.fromPem(cfg.trustPem, 'bench trust bundle') : undefined,
  log: (m) => {
    if (cfg.drain && joined === null && m.startsWith('kafka: joined group')) joined = mark();
    process.stderr.write(`collector: ${m}\n`);
  },
});
if (!cfg.drain) {
  while (collector.counters().partitions.length === 0) await new Promise((r) => setTimeout(r, 50));
  await new Promise<void>((resolve) => {
    process.on('message', (m: { go?: boolean }) => { if (m.go) resolve(); });
    send({ ready: true });
  });
  await startProfiler();
}
const start = cfg.drain ? null : mark();
const progress = setInterval(() => { if (process.env.BENCH_DEBUG) process.stderr.write(`${cfg.backend}: ${JSON.stringify(collector.counters())}\n`); }, 2_000);
// A drain that stops moving never ends by itself (the mock keeps ~5 MB per partition, and evicts the rest): say so.
for (let last = -1, since = performance.now(); collector.counters().events_written < cfg.taps; await new Promise((r) => setTimeout(r, 20))) {
  const c = collector.counters();
  if (c.events_written !== last) { last = c.events_written; since = performance.now(); }
  if (performance.now() - since > 60_000) {
    throw new Error(`${cfg.backend}: stored ${c.events_written} of ${cfg.taps} taps and nothing more for 60 s (rejected: ${JSON.stringify(c.rejected_by_code)}; the mock keeps ~5 MB per partition: fewer taps or more partitions)`);
  }
}
const end = mark();
clearInterval(progress);
if (profiler) {
  const { profile } = await new Promise<{ profile: object }>((r, j) => profiler.post('Profiler.stop', (e, p) => (e ? j(e) : r(p as { profile: object }))));
  mkdirSync(process.env.BENCH_CPU_PROF!, { recursive: true });
  writeFileSync(join(process.env.BENCH_CPU_PROF!, `e2e-${cfg.backend}.cpuprofile`), JSON.stringify(profile));
  profiler.disconnect();
}
const from = (start ?? joined)!;
const counters = collector.counters();
await collector.close();
const stored = await store.countTaps({});
send({
  e2e: true, wallMs: end.t - from.t, cpuMs: end.cpu - from.cpu, serverCpuMs: serverCpuMs() === null ? null : end.server - from.server,
  mainThreadCpuMs: end.threads.main - from.threads.main, otherThreadsCpuMs: end.threads.others - from.threads.others,
  stored, counters: { ...counters, partitions: counters.partitions.length },
});

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
} else if (cluster) {
  ({ insert, close: closeRaw } = await cluster.rawInserter(rawDb));
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
  const s = serverCpuMs() ?? 0;
  await insert(chunks);
  rawWallMs += performance.now() - t;
  rawCpuMs += cpuMs() - c;
  rawServerCpuMs += (serverCpuMs() ?? 0) - s;
  rawTaps += rows;
  batches = [];
  rows = 0;
};
const rawTs = Date.now();
for (let p = 0; p < cfg.producers; p++) {
  for (const b of producerBatches(p, Math.ceil(cfg.taps / cfg.producers), cfg.batchSize, cfg.sidecars, rawTs)) {
    batches.push(b);
    rows += b.events.length;
    if (rows >= rowsPerInsert) await timed();
  }
}
if (rows > 0) await timed();
await closeRaw();
send({ raw: true, taps: rawTaps, rowsPerInsert, wallMs: rawWallMs, cpuMs: rawCpuMs, serverCpuMs: serverCpuMs() === null ? null : rawServerCpuMs });

await store.close();
await server?.close();
await cluster?.close();
// chdb may still be finishing background merges in the directory: retry the removal.
if (dataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
process.disconnect();
