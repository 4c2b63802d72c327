// Kafka bus, producer side: a sidecar's TapEmitter hands each sealed batch
// to publish(), which sends it as one record to the taps topic:
//   key   = proxy id (one sidecar's batches stay in one partition, in order)
//   value = the batch's frame (../batch.ts; GZIP level 3 on the wire, ./kafka-gzip.ts)
//   acks  = -1 (all in-sync replicas), one request in flight
// "ok" means Kafka has the batch durably, not that ClickHouse has it: the
// collector (ingest/kafka-collector.ts) stores it later, and whatever it
// cannot store is recorded there as loss, so the emitter's exact counting
// still ends in a visible number.
//
// Batching, the linger bound and the bounded buffer with counted drops are
// the TapEmitter's (mesh/proxy/taps.ts): it already holds one sealed batch
// in flight and resends it on a retriable result, so this producer keeps
// kafkajs's own retries short and reports instead of waiting.
//
// Not idempotent by default: librdkafka's mock cluster (our tests) cannot
// serve InitProducerId to kafkajs. A resend after a lost ack may land twice
// on the topic; the collector's chain verifier treats the copy as duplicate.

import type { Producer } from 'kafkajs';
import type { TapBatch } from '../batch.ts';
import { frameOf, type BatchLabel, type PublishResult, type TapPublisher } from './publisher.ts';
import { DEFAULT_TAPS_TOPIC } from './kafka-topic.ts';
import { useTapsGzip } from './kafka-gzip.ts';
import { kafkajs } from './kafkajs.ts';

/** Kafka's default message.max.bytes (1 MB + record overhead); a batch above it is refused before sending. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_576;

export interface KafkaPublisherOptions {
  brokers: string[];
  topic?: string;
  clientId?: string;
  /** Largest batch frame sent; bigger ones are rejected for good (INGEST_ERR_TOO_LARGE). */
  maxMessageBytes?: number;
  /** Broker ack timeout per send. */
  timeoutMs?: number;
  /** kafkajs idempotent producer (needs a real cluster; see above). */
  idempotent?: boolean;
}

interface KafkaishError { name?: string; type?: string; message?: string; retriable?: boolean; cause?: unknown }

/** kafkajs errors as a publish result: MESSAGE_TOO_LARGE and non-retriable protocol errors are final, the rest retriable. */
export function kafkaErrorResult(e: unknown, what: string): PublishResult & { ok: false } {
  // kafkajs wraps the last retriable failure in KafkaJSNumberOfRetriesExceeded
  // (itself marked non-retriable); judge by the innermost error.
  let inner = e as KafkaishError;
  while (inner?.cause && typeof inner.cause === 'object') inner = inner.cause as KafkaishError;
  const message = `${what}: ${(e as KafkaishError)?.message ?? String(e)}${inner !== e && inner?.message ? ` (${inner.message})` : ''}`;
  if (inner?.type === 'MESSAGE_TOO_LARGE' || inner?.type === 'RECORD_LIST_TOO_LARGE') {
    return { ok: false, retriable: false, code: 'INGEST_ERR_TOO_LARGE', message };
  }
  const final = inner?.retriable === false && typeof inner.type === 'string'; // a broker's verdict, not a connection failure
  return { ok: false, retriable: !final, code: 'INGEST_ERR_BUS', message };
}

export class KafkaPublisher implements TapPublisher {
  readonly #producer: Producer;
  readonly #topic: string;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #brokers: string;
  #connected: Promise<void> | null = null;
  #closed = false;

  constructor(opts: KafkaPublisherOptions) {
    useTapsGzip();
    const { Kafka, logLevel } = kafkajs();
    const kafka = new Kafka({
      brokers: opts.brokers, clientId: opts.clientId ?? 'meshlens-sidecar',
      logLevel: logLevel.NOTHING, // every failure comes back as a PublishResult
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
      connectionTimeout: 3_000,
    });
    this.#producer = kafka.producer({
      idempotent: opts.idempotent ?? false, maxInFlightRequests: 1, allowAutoTopicCreation: true,
    });
    this.#topic = opts.topic ?? DEFAULT_TAPS_TOPIC;
    this.#maxBytes = opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#brokers = opts.brokers.join(',');
  }

  get maxFrameBytes(): number { return this.#maxBytes; }

  async publish(batch: TapBatch | BatchLabel, frame?: Buffer): Promise<PublishResult> {
    const what = `kafka ${this.#brokers} topic ${this.#topic}: tap batch ${batch.batch} of ${batch.proxy}/${batch.stream}`;
    if (this.#closed) return { ok: false, retriable: true, code: 'INGEST_ERR_CLOSED', message: `${what}: publisher closed` };
    const value = frameOf(batch, frame);
    if (value.length > this.#maxBytes) {
      return { ok: false, retriable: false, code: 'INGEST_ERR_TOO_LARGE', message: `${what}: ${value.length} bytes, the limit is ${this.#maxBytes}` };
    }
    try {
      this.#connected ??= this.#producer.connect().catch((e) => { this.#connected = null; throw e; });
      await this.#connected;
      await this.#producer.send({
        topic: this.#topic, acks: -1, timeout: this.#timeoutMs, compression: kafkajs().CompressionTypes.GZIP,
        messages: [{ key: batch.proxy, value }],
      });
      return { ok: true, duplicate: false };
    } catch (e) {
      return kafkaErrorResult(e, what);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#producer.disconnect().catch(() => undefined);
  }
}
