// npm run bench:ingest -- --drain [--taps N --producers N --batch N --partitions N --sidecars N --stores chdb,clickhouse,cluster --rounds N --group-mb N --group-linger-ms N --group-writes N --unsigned --quick]
//
// The collector measured without the producers in the way. The live mode
// (./ingest.ts) ran its producers on the same two cores as the collector
// and the server, so its end-to-end rate was the producers' as much as the
// collector's. Here:
//
//   1. fill: N producer processes (./ingest-producer.ts) publish the taps
//      to one topic on the librdkafka mock cluster (./kafka-cluster.ts),
//      each sidecar signing its batches with its own certificate from a
//      bench CA (frame schema 4), and exit;
//   2. drain, per store and round: a fresh process (./ingest-backend.ts)
//      opens the store (chdb, one clickhouse-server, or a 2x2 cluster
//      with ZooKeeper, ./ingest-cluster.ts) and a Kafka collector that
//      believes only batches signed under the bench CA, in a consumer
//      group of its own, so every drain reads the same records from the
//      start; it is timed from its group join to the last tap stored;
//   3. raw: in the same process right after, the same rows inserted
//      straight into a copy of the schema, TabSeparated encoded before the
//      clock starts, at the collector's mean rows per insert.
//
// Printed per store: drain taps/s, raw insert taps/s, raw / drain (the
// target: <= 1.5), the collector's CPU-seconds per million taps, the
// server's, and taps stored against sent. The collector is alone in its
// process with a server (its CPU is the process's); chdb runs inside it, so
// for chdb the collector's share is the process's less the raw inserts'
// CPU for the same rows (an estimate; the process total is printed too).

import { CertificateAuthority, newKeyAndCsr } from '../identity/index.ts';
import { clusterAvailable } from './ingest-cluster.ts';
import type { BackendConfig } from './ingest-backend.ts';
import { child } from './ingest-child.ts';
import { parseIngestFlags, type IngestStore } from './ingest-flags.ts';
import type { ProducerConfig } from './ingest-producer.ts';
import { startBenchKafka } from './kafka-cluster.ts';
import { syntheticSidecar } from './synthetic-taps.ts';

const flags = parseIngestFlags(process.argv.slice(2), { name: 'bench:ingest --drain', stores: ['chdb', 'clickhouse', 'cluster'], unsigned: true });
const log = (m: string) => process.stderr.write(`bench: ${m}\n`);
const started = new Date();
const perProducer = Math.ceil(flags.taps / flags.producers);
const sent = perProducer * flags.producers;

// One certificate per sidecar: the header's proxy must be its CN, each event's own side its service.
const ca = await CertificateAuthority.open({ dir: null, trustDomain: 'bench.local' });
const signers: ProducerConfig['signers'][] = [];
for (let p = 0; p < flags.producers && flags.signed; p++) {
  signers.push(await Promise.all(Array.from({ length: flags.sidecars }, async (_, i) => {
    const { proxy, service } = syntheticSidecar(p, i);
    const { keyPem, csrPem } = await newKeyAndCsr(proxy);
    return { keyPem, chainPem: (await ca.sign({ csrPem, service, proxy })).chainPem };
  })));
}

const topic = 'bench.drain';
const kafka = await startBenchKafka([topic], flags.partitions);
interface E2e { wallMs: number; cpuMs: number; serverCpuMs: number | null; mainThreadCpuMs: number; otherThreadsCpuMs: number; stored: number; counters: Record<string, number> & { rejected_by_code: Record<string, number> } }
interface Raw { taps: number; rowsPerInsert: number; wallMs: number; cpuMs: number; serverCpuMs: number | null }
interface Row { store: IngestStore; round: number; cells: number[] | null; stored: number; note: string }
const rows: Row[] = [];
try {
  // 1. Fill, and the producers are gone before any drain starts.
  log(`filling ${topic}: ${sent} taps, ${flags.producers} producers x ${flags.sidecars} sidecars, batches of ${flags.batch}, ${flags.partitions} partitions, ${flags.signed ? 'signed' : 'unsigned'}`);
  const fill0 = performance.now();
  const kafka0 = kafka.cpuMs();
  const ps = Array.from({ length: flags.producers }, (_, producer) => child('./ingest-producer.ts', {
    brokers: kafka.brokers, topic, producer, taps: perProducer, batchSize: flags.batch, sidecars: flags.sidecars, perSend: 6, inFlight: 4, signers: signers[producer],
  } satisfies ProducerConfig));
  await Promise.all(ps.map((p) => p.next('ready')));
  ps.forEach((p) => p.go());
  const done = await Promise.all(ps.map((p) => p.next<{ taps: number; cpuMs: number }>('done')));
  await Promise.all(ps.map((p) => p.exited));
  const fillMs = performance.now() - fill0;
  const fillCpu = done.reduce((n, d) => n + d.cpuMs, 0);
  log(`filled in ${(fillMs / 1000).toFixed(1)} s (producers ${(fillCpu / 1000 / (sent / 1e6)).toFixed(1)} CPU-s per million taps, Kafka mock ${((kafka.cpuMs() - kafka0) / 1000 / (sent / 1e6)).toFixed(1)})`);

  // 2 and 3. Each store drains the whole topic in a group of its own, then inserts the same rows raw.
  for (let round = 0; round < flags.rounds; round++) {
    for (const store of flags.stores) {
      if (store === 'cluster' && !clusterAvailable()) {
        rows.push({ store, round, cells: null, stored: 0, note: 'not available (no peers/clickhouse-cluster.ts in this checkout)' });
        continue;
      }
      log(`round ${round + 1}: draining into ${store}`);
      const b = child('./ingest-backend.ts', {
        backend: store, brokers: kafka.brokers, topic, taps: sent, producers: flags.producers, batchSize: flags.batch, sidecars: flags.sidecars,
        groupMaxBytes: flags.groupMb * 1024 * 1024, groupLingerMs: flags.lingerMs, groupMaxWrites: flags.groupWrites,
        drain: true, groupId: `bench-drain-${store}-r${round}`, trustPem: flags.signed ? ca.bundle.toPem() : undefined,
      } satisfies BackendConfig);
      try {
        const e = await b.next<E2e>('e2e');
        log(`${store}: drained in ${(e.wallMs / 1000).toFixed(1)} s; measuring raw inserts`);
        const r = await b.next<Raw>('raw');
        await b.exited;
        const perM = (ms: number, taps = sent) => ms / 1000 / (taps / 1e6);
        const drainRate = sent / (e.wallMs / 1000);
        const rawRate = r.taps / (r.wallMs / 1000);
        // chdb is inside the collector's process: take the raw inserts' CPU for the same rows off.
        const collector = store === 'chdb' ? perM(e.cpuMs) - perM(r.cpuMs, r.taps) : perM(e.cpuMs);
        rows.push({
          store, round, stored: e.stored,
          cells: [drainRate, rawRate, rawRate / drainRate, collector, perM(e.cpuMs), perM(e.mainThreadCpuMs), perM(e.otherThreadsCpuMs), e.serverCpuMs === null ? NaN : perM(e.serverCpuMs),
            perM(r.cpuMs + (r.serverCpuMs ?? 0), r.taps), e.counters.events_written / e.counters.groups],
          note: e.counters.batches_rejected > 0 ? `rejected ${JSON.stringify(e.counters.rejected_by_code)}` : '',
        });
        log(`${store}: drain ${Math.round(drainRate)} taps/s, raw ${Math.round(rawRate)}, raw / drain ${(rawRate / drainRate).toFixed(2)}, collector ${collector.toFixed(1)} CPU-s/M (process ${perM(e.cpuMs).toFixed(1)}), stored ${e.stored} of ${sent}`);
      } catch (err) {
        b.proc.kill('SIGKILL');
        rows.push({ store, round, cells: null, stored: 0, note: `failed: ${(err as Error).message.slice(0, 200)}` });
      }
    }
  }
} finally {
  await kafka.stop();
}

const median = (xs: number[]) => { const v = xs.filter(Number.isFinite).sort((a, b) => a - b); return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN; };
const k = (n: number) => `${Math.round(n / 1000)}k`;
const num = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const show = (c: number[]) => [k(c[0]), k(c[1]), num(c[2], 2), num(c[3]), num(c[4]), num(c[5]), num(c[6]), num(c[7]), num(c[8]), String(Math.round(c[9]))];
const lines = [
  `meshlens ingest bench, drain mode, ${started.toISOString()}, node ${process.version}, ${sent} taps (${flags.signed ? 'signed, schema 4, the collector with a trust bundle' : 'unsigned'}) in batches of ${flags.batch}, ${flags.producers} producers x ${flags.sidecars} sidecars, ${flags.partitions} partitions, ${flags.rounds} round(s)`,
  '(taps/s wall clock; CPU in CPU-seconds per million taps; the collector\'s process: its main thread and its other threads; chdb: collector = process - raw inserts)',
  '',
  '| store | round | drain taps/s | raw insert taps/s | raw / drain | collector CPU s/M | process CPU s/M | main thread | other threads | server CPU s/M | raw insert CPU s/M (client + server) | rows/insert | taps stored / sent |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
];
for (const store of flags.stores) {
  const mine = rows.filter((r) => r.store === store);
  for (const r of mine) {
    lines.push(r.cells
      ? `| ${store} | ${r.round + 1} | ${show(r.cells).join(' | ')} | ${r.stored} / ${sent}${r.stored === sent ? '' : ' NOT EQUAL'}${r.note ? ` (${r.note})` : ''} |`
      : `| ${store} | ${r.round + 1} | ${r.note} |${' |'.repeat(11)}`);
  }
  const measured = mine.filter((r) => r.cells);
  if (measured.length > 1) {
    const med = measured[0].cells!.map((_, j) => median(measured.map((r) => r.cells![j])));
    lines.push(`| **${store}** | **median** | ${show(med).map((x) => `**${x}**`).join(' | ')} | ${measured.every((r) => r.stored === sent) ? 'all, once' : 'NOT ALL'} |`);
  }
}
process.stdout.write(lines.join('\n') + '\n');
if (rows.some((r) => r.cells && r.stored !== sent)) process.exitCode = 1;
