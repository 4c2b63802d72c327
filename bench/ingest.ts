// npm run bench:ingest [-- --taps N --producers N --batch N --partitions N --backends chdb,clickhouse --group-mb N --group-linger-ms N --group-writes N --rounds N --quick]
// npm run bench:ingest -- --drain [...]: the topic filled first, then the
// collector timed draining it into each store (./ingest-drain.ts). What
// follows is the live mode, producers and collector running together.
//
// Synthetic taps from N producer processes (./ingest-producer.ts: sidecars
// publishing sealed batches as KafkaPublisher does) through Kafka (the
// librdkafka mock cluster, ./kafka-cluster.ts) and the Kafka collector into
// ClickHouse: chdb and Debian's clickhouse-server 18.16, each in its own
// process (./ingest-backend.ts). Beside each end-to-end figure, its peers
// measured in the same run on the same machine:
//   raw Kafka       the same records produced by the same processes and
//                   consumed by a bare kafkajs consumer (decompress, count)
//   raw ClickHouse  the same rows as JSONEachRow INSERTs of the collector's
//                   mean rows per insert, into a copy of the schema
// and the ratio end to end / min(raw Kafka, raw ClickHouse).
// Throughputs are wall-clock on a shared machine: read them with the CPU
// figures (CPU-seconds per million taps), which load from others moves less.

import { Kafka, logLevel } from 'kafkajs';
import { useTapsGzip } from '../ingest/index.ts';
import { child } from './ingest-child.ts';
import { parseIngestFlags } from './ingest-flags.ts';
import { startBenchKafka } from './kafka-cluster.ts';
import type { BackendConfig } from './ingest-backend.ts';
import type { ProducerConfig } from './ingest-producer.ts';

if (process.argv.includes('--drain')) {
  await import('./ingest-drain.ts');
  process.exit(process.exitCode ?? 0);
}
const flags = parseIngestFlags(process.argv.slice(2), { name: 'bench:ingest', stores: ['chdb', 'clickhouse'], unsigned: false });
/** The live mode's stores (checked by the parser: no cluster here). */
const stores = flags.stores as ('chdb' | 'clickhouse')[];
// The raw Kafka consumer inflates as the collector does (../ingest/bus/kafka-gzip.ts).
useTapsGzip();
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const log = (m: string) => process.stderr.write(`bench: ${m}\n`);

interface ProducerDone { taps: number; wallMs: number; cpuMs: number }

async function startProducers(topic: string, brokers: string[]) {
  const per = Math.ceil(flags.taps / flags.producers);
  const ps = Array.from({ length: flags.producers }, (_, producer) => child('./ingest-producer.ts', {
    brokers, topic, producer, taps: per, batchSize: flags.batch, sidecars: flags.sidecars, perSend: 6, inFlight: 4,
  } satisfies ProducerConfig));
  await Promise.all(ps.map((p) => p.next('ready')));
  return {
    go: () => ps.forEach((p) => p.go()),
    async done(): Promise<{ taps: number; cpuMs: number; wallMs: number }> {
      const d = await Promise.all(ps.map((p) => p.next<ProducerDone>('done')));
      await Promise.all(ps.map((p) => p.exited));
      return { taps: d.reduce((s, x) => s + x.taps, 0), cpuMs: d.reduce((s, x) => s + x.cpuMs, 0), wallMs: Math.max(...d.map((x) => x.wallMs)) };
    },
  };
}

/** Raw Kafka: the producers' records consumed by a bare kafkajs consumer group member. */
async function rawKafka(brokers: string[], round: number, brokerCpuMs: () => number) {
  const topic = `bench.raw.r${round}`;
  const consumer = new Kafka({ brokers, clientId: 'bench-raw', logLevel: logLevel.ERROR }).consumer({
    groupId: `bench-raw-r${round}`, maxWaitTimeInMs: 100, maxBytes: 64 * 1024 * 1024, maxBytesPerPartition: 4 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => { joined = true; });
  const records = Math.ceil(Math.ceil(flags.taps / flags.producers) / flags.batch) * flags.producers;
  let seen = 0;
  let bytes = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => { finished = r; });
  await consumer.run({
    partitionsConsumedConcurrently: flags.partitions,
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) bytes += m.value?.length ?? 0;
      seen += batch.messages.length;
      if (seen >= records) finished();
    },
  });
  while (!joined) await new Promise((r) => setTimeout(r, 20));
  const producers = await startProducers(topic, brokers);
  const cpu0 = cpuMs();
  const broker0 = brokerCpuMs();
  const t0 = performance.now();
  producers.go();
  await all;
  const wallMs = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
  const brokerCpu = brokerCpuMs() - broker0;
  const p = await producers.done();
  await consumer.disconnect();
  return { taps: p.taps, wallMs, consumerCpuMs: cpu, producerCpuMs: p.cpuMs, brokerCpuMs: brokerCpu, jsonBytesPerTap: bytes / p.taps };
}

interface E2e { cpuMs: number; serverCpuMs: number | null; stored: number; counters: Record<string, number> }
interface Raw { taps: number; rowsPerInsert: number; wallMs: number; cpuMs: number; serverCpuMs: number | null }

async function backend(name: 'chdb' | 'clickhouse', brokers: string[], round: number, brokerCpuMs: () => number) {
  const topic = `bench.e2e.${name}.r${round}`;
  const producers = await startProducers(topic, brokers);
  const b = child('./ingest-backend.ts', {
    backend: name, brokers, topic, taps: Math.ceil(flags.taps / flags.producers) * flags.producers,
    producers: flags.producers, batchSize: flags.batch, sidecars: flags.sidecars, groupMaxBytes: flags.groupMb * 1024 * 1024, groupLingerMs: flags.lingerMs, groupMaxWrites: flags.groupWrites,
  } satisfies BackendConfig);
  await b.next('ready');
  const broker0 = brokerCpuMs();
  const t0 = performance.now();
  producers.go();
  b.go();
  const e2e = await b.next<E2e>('e2e');
  const wallMs = performance.now() - t0;
  const brokerCpu = brokerCpuMs() - broker0;
  const p = await producers.done();
  log(`${name}: end to end done in ${(wallMs / 1000).toFixed(1)} s (producers done sending after ${(p.wallMs / 1000).toFixed(1)} s); measuring raw inserts`);
  const raw = await b.next<Raw>('raw');
  await b.exited;
  return { name, taps: p.taps, wallMs, e2e, raw, producerCpuMs: p.cpuMs, brokerCpuMs: brokerCpu };
}

const started = new Date();
// Each round measures raw Kafka, then each backend end to end and its raw
// inserts, side by side on fresh topics; with --rounds N the table gives
// every round and the median of each column (ratios are per round, then
// the median: this machine is shared and one run's noise moves both peers).
const rounds = Array.from({ length: flags.rounds }, (_, i) => i);
const kafka = await startBenchKafka(rounds.flatMap((r) => [`bench.raw.r${r}`, ...stores.map((b) => `bench.e2e.${b}.r${r}`)]), flags.partitions);
try {
  log(`${flags.taps} taps, ${flags.producers} producers x ${flags.sidecars} sidecars, batches of ${flags.batch}, ${flags.partitions} partitions, ${flags.rounds} round(s)`);
  const perM = (ms: number | null, taps: number) => (ms === null ? NaN : ms / 1000 / (taps / 1e6));
  const rows: { name: string; cells: number[]; stored: boolean }[] = [];
  const rawKafkaCpu: [number, number, number][] = [];
  let jsonBytes = 0;
  for (const round of rounds) {
    const rk = await rawKafka(kafka.brokers, round, kafka.cpuMs);
    const kRate = rk.taps / (rk.wallMs / 1000);
    jsonBytes = rk.jsonBytesPerTap;
    rawKafkaCpu.push([perM(rk.consumerCpuMs, rk.taps), perM(rk.producerCpuMs, rk.taps), perM(rk.brokerCpuMs, rk.taps)]);
    log(`round ${round + 1}: raw kafka: ${Math.round(kRate)} taps/s`);
    for (const name of stores) {
      const r = await backend(name, kafka.brokers, round, kafka.cpuMs);
      const e2eRate = r.taps / (r.wallMs / 1000);
      const chRate = r.raw.taps / (r.raw.wallMs / 1000);
      rows.push({
        name, stored: r.e2e.stored === r.taps,
        cells: [e2eRate, kRate, chRate, e2eRate / Math.min(kRate, chRate), perM(r.e2e.cpuMs, r.taps), perM(r.e2e.serverCpuMs, r.taps),
          perM(r.raw.cpuMs + (r.raw.serverCpuMs ?? 0), r.raw.taps), perM(r.producerCpuMs, r.taps), perM(r.brokerCpuMs, r.taps), r.e2e.counters.events_written / r.e2e.counters.groups],
      });
      if (!rows[rows.length - 1].stored) log(`${name}: stored ${r.e2e.stored} of ${r.taps} taps!`);
    }
  }
  const median = (xs: number[]) => { const v = xs.filter(Number.isFinite).sort((a, b) => a - b); return v.length ? (v.length % 2 ? v[v.length >> 1] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN; };
  const k = (n: number) => `${Math.round(n / 1000)}k`;
  const cpu = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
  const show = (c: number[]) => [k(c[0]), k(c[1]), k(c[2]), c[3].toFixed(2), cpu(c[4]), cpu(c[5]), cpu(c[6]), cpu(c[7]), cpu(c[8]), String(Math.round(c[9]))];
  const lines = [
    `meshlens ingest bench, ${started.toISOString()}, node ${process.version}, ${flags.taps} taps in batches of ${flags.batch}, ${flags.producers} producers, ${flags.partitions} partitions, ${flags.rounds} round(s)`,
    `(taps/s wall clock; CPU in CPU-seconds per million taps; tap JSON ${Math.round(jsonBytes)} B)`,
    '',
    '| backend | round | end to end taps/s | raw Kafka taps/s | raw ClickHouse taps/s | e2e / min(raw) | collector CPU s/M | server CPU s/M | raw insert CPU s/M (client + server) | producers CPU s/M | Kafka mock CPU s/M | rows/insert | stored |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const name of stores) {
    const mine = rows.filter((r) => r.name === name);
    mine.forEach((r, i) => lines.push(`| ${name} | ${i + 1} | ${show(r.cells).join(' | ')} | ${r.stored ? 'all, once' : 'NOT ALL'} |`));
    if (mine.length > 1) {
      const med = mine[0].cells.map((_, j) => median(mine.map((r) => r.cells[j])));
      lines.push(`| **${name}** | **median** | ${show(med).map((x) => `**${x}**`).join(' | ')} | ${mine.every((r) => r.stored) ? 'all, once' : 'NOT ALL'} |`);
    }
  }
  lines.push('', `raw Kafka: consumer CPU ${cpu(median(rawKafkaCpu.map((x) => x[0])))} s/M, producers CPU ${cpu(median(rawKafkaCpu.map((x) => x[1])))} s/M, Kafka mock CPU ${cpu(median(rawKafkaCpu.map((x) => x[2])))} s/M (median of rounds)`);
  process.stdout.write(lines.join('\n') + '\n');
} finally {
  await kafka.stop();
}
