// `meshlens collector`: one member of the collectors' Kafka consumer group,
// writing taps into ClickHouse. Run as many as the topic has partitions.

import { startKafkaCollector, type KafkaCollector, type TapStore } from '../ingest/index.ts';
import type { FlagSpec, FlagValues } from './flags.ts';
import { BUS_FLAGS, brokerList, busProblems, openStore, requireValid, STORE_FLAGS, storeProblems } from './store.ts';

export const COLLECTOR_FLAGS: FlagSpec[] = [
  ...STORE_FLAGS,
  ...BUS_FLAGS.filter((s) => s.name !== 'bus'), // a collector always reads Kafka
  { name: 'group', type: 'string', env: 'MESHLENS_COLLECTOR_GROUP', default: 'meshlens-collectors', help: 'Kafka consumer group of the collectors' },
];

/** Starts a Kafka collector on an open store (used by `collector`, and by `control`/`up` with --bus kafka). */
export async function startCollectorOnKafka(f: FlagValues, store: TapStore, log: (line: string) => void): Promise<KafkaCollector> {
  const brokers = brokerList(f);
  const collector = await startKafkaCollector({
    brokers, store, topic: String(f.topic), groupId: String(f.group ?? 'meshlens-collectors'),
    log: (m) => log(`collector: ${m}`),
  });
  log(`collector: consuming ${f.topic} from ${brokers.join(',')} as group ${f.group ?? 'meshlens-collectors'}`);
  return collector;
}

export async function runCollector(f: FlagValues, log: (line: string) => void): Promise<{ close(): Promise<void> }> {
  requireValid('collector', [...storeProblems(f), ...busProblems({ ...f, bus: 'kafka' })]);
  const { store, describe } = await openStore(f);
  log(`store: ${describe}`);
  let collector: KafkaCollector;
  try {
    collector = await startCollectorOnKafka(f, store, log);
  } catch (e) {
    await store.close();
    throw e;
  }
  let last = 0;
  const report = setInterval(() => {
    const c = collector.counters();
    log(`collector: ${c.events_written} taps written (${((c.events_written - last) / 10).toFixed(0)}/s), ` +
      `${c.batches_duplicate} duplicate, ${c.batches_rejected} rejected batches, ${c.store_retries} store retries, ` +
      `${(c.queued_bytes / 1048576).toFixed(1)} MiB queued, ${c.commit_failures} failed commits, partitions [${c.partitions.join(',')}]`);
    last = c.events_written;
  }, 10_000);
  report.unref();
  return {
    async close() {
      clearInterval(report);
      await collector.close();
      await store.close();
    },
  };
}
