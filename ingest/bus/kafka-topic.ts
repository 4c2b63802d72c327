// Topic administration for the Kafka bus: make sure the taps topic exists.

import { kafkajs } from './kafkajs.ts';
import { IngestError } from '../errors.ts';

export const DEFAULT_TAPS_TOPIC = 'meshlens.taps.v1';
/** Enough partitions to spread one collector group over a dozen members. */
export const DEFAULT_TAPS_PARTITIONS = 12;

/**
 * Creates `topic` with `partitions` partitions unless it exists; returns
 * its partition count (an existing topic keeps its own). When CreateTopics
 * cannot be used (librdkafka's mock cluster names no usable controller, see
 * peers/kafka-mock.ts; some managed clusters forbid it) it falls
 * back to the broker's auto-creation with the broker's default count, and
 * says so through `log`.
 */
export async function ensureTopic(brokers: string[], topic: string, partitions = DEFAULT_TAPS_PARTITIONS, log: (m: string) => void = () => {}): Promise<number> {
  const { Kafka, logLevel } = kafkajs();
  const kafka = new Kafka({ brokers, clientId: 'meshlens-admin', logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    if (!existing.includes(topic)) {
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
      } catch (e) {
        log(`kafka: CreateTopics for ${topic} failed (${(e as Error).message}); relying on broker auto-creation`);
      }
    }
    // With auto-creation allowed (kafkajs default), this creates the topic if still missing.
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    return meta.topics[0].partitions.length;
  } catch (e) {
    throw new IngestError('INGEST_ERR_BUS', `kafka ${brokers.join(',')}: cannot ensure topic ${topic}: ${(e as Error).message}`, { cause: e });
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
