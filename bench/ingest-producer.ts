// A bench producer process: a fleet of `sidecars` synthetic sidecars
// publishing their sealed tap batches to Kafka the way KafkaPublisher does
// (one record per batch, key = proxy id, value = the batch's frame, GZIP at
// KafkaPublisher's level, acks -1), with several sends in flight. Started by ./ingest.ts with a
// JSON config as argv[2]; says {ready} over IPC, starts on {go}, and
// reports {done, taps, wallMs, cpuMs}. With `signers`, each sidecar signs
// its batches with its own certificate (frame schema 4), as sidecars with
// an SVID do.

import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { BatchSigner, useTapsGzip } from '../ingest/index.ts';
import { producerFrames } from './synthetic-taps.ts';

export interface ProducerConfig {
  brokers: string[];
  topic: string;
  producer: number;
  taps: number;
  batchSize: number;
  sidecars: number;
  /** Batches per produce request, and lanes (requests in flight; a sidecar always uses the same lane). */
  perSend: number;
  inFlight: number;
  /** One per sidecar, in order: its key and certificate chain (CN p<producer>-<service>-<index>). */
  signers?: { keyPem: string; chainPem: string }[];
}

const cfg = JSON.parse(process.argv[2]) as ProducerConfig;
useTapsGzip();
const kafka = new Kafka({ brokers: cfg.brokers, clientId: `bench-producer-${cfg.producer}`, logLevel: logLevel.ERROR });
const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false });
await producer.connect();
await new Promise<void>((resolve) => {
  process.on('message', (m: { go?: boolean }) => { if (m.go) resolve(); });
  process.send!({ ready: true });
});

const cpu0 = process.cpuUsage();
const t0 = performance.now();
let taps = 0;
// Lanes: each sidecar's batches go through one lane, one request at a time,
// as a sidecar's publisher does (one in flight keeps a stream's order; two
// concurrent produce requests may land reordered, which the collector
// would see as a gap). Lanes run concurrently.
interface Lane { queue: Message[]; busy: Promise<void> | null }
const lanes: Lane[] = Array.from({ length: cfg.inFlight }, () => ({ queue: [], busy: null }));
let queued = 0;
const pump = async (lane: Lane) => {
  while (lane.queue.length > 0) {
    const messages = lane.queue.splice(0, cfg.perSend);
    await producer.send({ topic: cfg.topic, acks: -1, compression: CompressionTypes.GZIP, messages });
    queued -= messages.length;
  }
  lane.busy = null;
};
const busy = () => lanes.flatMap((l) => (l.busy ? [l.busy] : []));
const signers = cfg.signers?.map((s) => new BatchSigner(s.keyPem, s.chainPem));
for (const { batch: b, frame } of producerFrames(cfg.producer, cfg.taps, cfg.batchSize, cfg.sidecars, Date.now(), signers)) {
  const lane = lanes[Number(b.proxy.slice(b.proxy.lastIndexOf('-') + 1)) % lanes.length];
  lane.queue.push({ key: b.proxy, value: frame });
  queued++;
  taps += b.events.length;
  if (!lane.busy && lane.queue.length >= cfg.perSend) lane.busy = pump(lane);
  while (queued > cfg.perSend * lanes.length * 2 && busy().length > 0) await Promise.race(busy());
}
// (pump() on an empty queue would finish before `busy` is set, leaving it set for good.)
for (const lane of lanes) if (lane.queue.length > 0) lane.busy ??= pump(lane);
while (busy().length > 0) await Promise.all(busy());
const cpu = process.cpuUsage(cpu0);
process.send!({ done: true, taps, wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 });
await producer.disconnect();
process.disconnect();
