// One store and one size of the report bench (./report.ts), in its own
// process (chdb allows one data directory per process, and the peak RSS is
// then this run's alone). Started with a JSON ReportRunConfig as argv[2];
// sends one {result} over IPC and exits.
//
//   seed      `taps` synthetic taps of `sidecars` streams, spread evenly over
//             the period, sealed and signed as sidecars seal them, decoded
//             and signature-checked as the collector does (decodeRowBatch),
//             written with store.writeBatches in groups of `groupTaps`; each
//             group's chain records received just after its last tap
//   raw       the peer: the store's own read of the period's taps, twice:
//             in the engine (count and a hash of every column) and to this
//             process (every row as JSONEachRow bytes, not parsed)
//   report    issueReport of the baseline pack `reports` times, each store
//             call timed (the audit and the other evidence queries run side
//             by side), then runControls alone on the evidence
//   RSS       peak of this process (chdb: the engine too) and of the
//             clickhouse-server, reset after seeding (/proc/<pid>/clear_refs)

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateAuthority, newKeyAndCsr } from '../identity/index.ts';
import {
  BatchSigner, BatchVerifier, createChdbStore, createClickHouseStore, decodeRowBatch, LineChunks, TAP_INSERT_COLUMNS, type RowBatch, type TapStore,
} from '../ingest/index.ts';
import { startTestClickHouseServer, type TestClickHouseServer } from '../peers/index.ts';
import { issueReport, loadPack, runControls, type EvidenceSource } from '../policy/index.ts';
import { syntheticStream, type SyntheticStream } from './synthetic-taps.ts';

export interface ReportRunConfig {
  store: 'chdb' | 'clickhouse';
  taps: number;
  sidecars: number;
  batch: number;
  groupTaps: number;
  /** The period's length; taps are spread evenly over it. */
  periodMs: number;
  reports: number;
  signed: boolean;
}

export interface ReportRunResult {
  store: string;
  taps: number;
  batches: number;
  seedMs: number;
  parts: number;
  rawEngineMs: number;
  rawReadMs: number;
  rawReadBytes: number;
  /** Per report: total, chain audit, the other evidence queries (their span), controls alone, and each call. */
  reports: { totalMs: number; auditMs: number; evidenceMs: number; controlsMs: number; calls: Record<string, number> }[];
  audited: { batches: number; events: number; verified: number; problems: number };
  rssPeakMb: number;
  serverRssPeakMb: number | null;
}

const cfg = JSON.parse(process.argv[2]) as ReportRunConfig;
const log = (m: string) => process.stderr.write(`bench:report ${cfg.store} ${cfg.taps}: ${m}\n`);

const until = Math.floor((Date.now() - 600_000) / 1000) * 1000;
const from = until - cfg.periodMs;
const clock = { t: from };

let server: TestClickHouseServer | null = null;
let dataDir: string | null = null;
let store: TapStore;
if (cfg.store === 'chdb') {
  dataDir = mkdtempSync(join(tmpdir(), 'meshlens-bench-report-'));
  store = createChdbStore({ dataDir, now: () => clock.t });
} else {
  server = await startTestClickHouseServer();
  store = createClickHouseStore({ url: server.url, database: 'bench', now: () => clock.t });
}
await store.init();
// SQL outside the store: chdb through a second session on the same path (it shares the engine), the server over HTTP.
const session = dataDir ? new (await import('chdb')).Session(dataDir) : null;

async function sql(statement: string): Promise<string> {
  if (session) return (await session.queryAsync(statement, { format: 'TabSeparated' })).text();
  const res = await fetch(`${server!.url}/?database=bench`, { method: 'POST', body: statement });
  const text = await res.text();
  if (!res.ok) throw new Error(`clickhouse: ${text.slice(0, 300)}`);
  return text;
}

/** Streams a query's output and counts its bytes, without parsing them. */
async function readBytes(statement: string): Promise<number> {
  let n = 0;
  if (session) {
    for await (const c of session.queryStream(statement, { format: 'JSONEachRow' })) n += c.numBytes;
    return n;
  }
  const res = await fetch(`${server!.url}/?database=bench`, { method: 'POST', body: `${statement} FORMAT JSONEachRow` });
  if (!res.ok || !res.body) throw new Error(`clickhouse: ${(await res.text()).slice(0, 300)}`);
  for await (const c of res.body) n += (c as Uint8Array).byteLength;
  return n;
}

// Seed: one signer per sidecar (the certificate's CN is the proxy, its service the sidecar's).
const ca = await CertificateAuthority.open({ dir: null, trustDomain: 'bench.local' });
const verifier = new BatchVerifier(ca.bundle);
// Spread over the period by the busiest stream (batches go round robin).
const msPerTap = cfg.periodMs / (Math.ceil(Math.ceil(cfg.taps / cfg.batch) / cfg.sidecars) * cfg.batch);
const streams: SyntheticStream[] = [];
for (let i = 0; i < cfg.sidecars; i++) {
  let signer: BatchSigner | null = null;
  if (cfg.signed) {
    const proxy = syntheticStream(0, i).proxy;
    const { keyPem, csrPem } = await newKeyAndCsr(proxy);
    signer = new BatchSigner(keyPem, (await ca.sign({ csrPem, service: proxy.split('-')[1], proxy })).chainPem);
  }
  streams.push(syntheticStream(0, i, from, { msPerTap, signer }));
}
const seed0 = performance.now();
let group: RowBatch[] = [];
let rows = new LineChunks(1 << 20);
let inGroup = 0;
let batches = 0;
let lastTs = from;
// Each group is written while the next one is sealed; its chain records are received just after its last tap.
let writing: Promise<void> = Promise.resolve();
const write = async () => {
  const [g, at] = [group, lastTs + 500];
  group = [];
  rows = new LineChunks(1 << 20);
  inGroup = 0;
  await writing;
  clock.t = at;
  writing = store.writeBatches(g);
  writing.catch(() => {}); // awaited by the next write or after the last
};
for (let left = cfg.taps, i = 0; left > 0; i++) {
  const n = Math.min(cfg.batch, left);
  const { batch, frame } = streams[i % cfg.sidecars].nextFrame(n);
  group.push(decodeRowBatch(frame, rows, cfg.signed ? (f) => verifier.verify(f) : undefined));
  lastTs = Math.max(lastTs, batch.events[n - 1].ts);
  batches++;
  left -= n;
  inGroup += n;
  if (inGroup >= cfg.groupTaps) await write();
  if (batches % 20_000 === 0) log(`seeded ${cfg.taps - left} taps`);
}
if (group.length > 0) await write();
await writing;
const seedMs = performance.now() - seed0;
log(`seeded in ${(seedMs / 1000).toFixed(1)} s; waiting for merges`);
// A store that has run a while has merged its parts: wait (up to 5 min) until no merge runs.
for (let t = Date.now(), quiet = 0; quiet < 3 && Date.now() - t < 300_000; await new Promise((r) => setTimeout(r, 1000))) {
  quiet = Number((await sql("SELECT count() FROM system.merges WHERE table = 'taps'")).trim()) === 0 ? quiet + 1 : 0;
}
const parts = Number((await sql("SELECT count() FROM system.parts WHERE active AND table = 'taps' AND database = currentDatabase()")).trim());

// The peer: one raw read of the period's taps.
const period = `ts >= ${from} AND ts < ${until}`;
const cols = TAP_INSERT_COLUMNS.map((c) => (c === 'end' ? '`end`' : c)).join(', ');
const timed = async <T>(f: () => Promise<T>): Promise<[T, number]> => { const t = performance.now(); const v = await f(); return [v, performance.now() - t]; };
const [engineOut, rawEngineMs] = await timed(() => sql(`SELECT count(), sum(cityHash64(${cols})) FROM taps WHERE ${period}`));
if (Number(engineOut.split('\t')[0]) !== cfg.taps) throw new Error(`the store holds ${engineOut.split('\t')[0]} taps of the period, not ${cfg.taps}`);
const [rawReadBytes, rawReadMs] = await timed(() => readBytes(`SELECT * FROM taps WHERE ${period}`));
log(`raw: engine scan ${(rawEngineMs / 1000).toFixed(2)} s, read ${(rawReadBytes / 1e6).toFixed(0)} MB in ${(rawReadMs / 1000).toFixed(2)} s`);

// Peak RSS from here on: this process, and the server's.
const serverPid = server ? readdirSync('/proc').find((p) => /^\d+$/.test(p) && safeRead(`/proc/${p}/cmdline`).includes(server!.dir)) ?? null : null;
function safeRead(f: string): string { try { return readFileSync(f, 'utf8'); } catch { return ''; } }
const resetPeak = (pid: string | number) => writeFileSync(`/proc/${pid}/clear_refs`, '5');
const peakMb = (pid: string | number) => Number(/VmHWM:\s+(\d+)/.exec(safeRead(`/proc/${pid}/status`))?.[1] ?? 0) / 1024;
resetPeak('self');
if (serverPid) resetPeak(serverPid);

const pack = loadPack('baseline');
const METHODS = ['evidenceEdges', 'secretFindings', 'chainAudit', 'lossRecords', 'rejectCounts', 'retention', 'configChanges', 'alertsInPeriod', 'actions', 'chainHeadsAt'] as const;
const reports: ReportRunResult['reports'] = [];
let audited: ReportRunResult['audited'] = { batches: 0, events: 0, verified: 0, problems: 0 };
for (let r = 0; r < cfg.reports; r++) {
  const spans = new Map<string, [number, number]>();
  const src = Object.fromEntries(METHODS.map((m) => [m, async (...a: unknown[]) => {
    const t = performance.now();
    try { return await (store[m] as (...x: unknown[]) => Promise<unknown>).apply(store, a); } finally { spans.set(m, [t, performance.now()]); }
  }])) as unknown as EvidenceSource;
  const t0 = performance.now();
  const { report, evidence } = await issueReport(src, { pack, period: { from, until }, issuedBy: 'bench' });
  const totalMs = performance.now() - t0;
  const [, controlsMs] = await timed(() => runControls(pack, evidence));
  const others = [...spans].filter(([m]) => m !== 'chainAudit').map(([, s]) => s);
  const [a0, a1] = spans.get('chainAudit')!;
  reports.push({
    totalMs, auditMs: a1 - a0, controlsMs,
    evidenceMs: Math.max(...others.map((s) => s[1])) - Math.min(...others.map((s) => s[0])),
    calls: Object.fromEntries([...spans].map(([m, [s, e]]) => [m, Math.round(e - s)])),
  });
  const c = evidence.chains;
  audited = { batches: c.batches, events: c.events, verified: c.verified_batches, problems: c.problems.length };
  log(`report ${r + 1}: ${(totalMs / 1000).toFixed(1)} s (audit ${((a1 - a0) / 1000).toFixed(1)} s), ${JSON.stringify(report.body.totals)}, calls ${JSON.stringify(reports.at(-1)!.calls)}`);
}
if (audited.events !== cfg.taps || audited.verified !== batches) throw new Error(`the audit saw ${JSON.stringify(audited)}, seeded ${cfg.taps} taps in ${batches} batches`);

const result: ReportRunResult = {
  store: cfg.store, taps: cfg.taps, batches, seedMs, parts, rawEngineMs, rawReadMs, rawReadBytes, reports, audited,
  rssPeakMb: peakMb('self'), serverRssPeakMb: serverPid ? peakMb(serverPid) : null,
};
process.send!({ result });
session?.close();
await store.close();
await server?.close();
// chdb may still be finishing background merges in the directory: retry the removal.
if (dataDir) rmSync(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
process.disconnect();
