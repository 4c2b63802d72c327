// `meshlens collector`: one member of the collectors' Kafka consumer group,
// writing taps into ClickHouse. Run as many as the topic has partitions.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TrustBundle } from '../identity/index.ts';
import { startKafkaCollector, type KafkaCollector, type TapStore } from '../ingest/index.ts';
import type { FlagSpec, FlagValues } from './flags.ts';
import { BUS_FLAGS, brokerList, busProblems, openStore, requireValid, STORE_FLAGS, storeProblems } from './store.ts';

export const COLLECTOR_FLAGS: FlagSpec[] = [
  ...STORE_FLAGS,
  ...BUS_FLAGS.filter((s) => s.name !== 'bus'), // a collector always reads Kafka
  { name: 'group', type: 'string', env: 'MESHLENS_COLLECTOR_GROUP', default: 'meshlens-collectors', help: 'Kafka consumer group of the collectors' },
  { name: 'trust-bundle', type: 'string', env: 'MESHLENS_TRUST_BUNDLE', help: 'PEM roots tap batches must be signed under (default <data-dir>/ca/bundle.pem, the control plane\'s CA); re-read every minute, so a CA rotation reaches running collectors' },
];

/**
 * The roots tap signatures are checked against, from a PEM file re-read
 * once a minute. A collector never runs without one: an unsigned or
 * foreign-signed batch is refused and recorded in tap_rejects.
 */
export function trustFromFile(file: string, log: (line: string) => void): () => TrustBundle {
  let bundle = TrustBundle.fromPem(readFileSync(file, 'utf8'), file);
  let readAt = Date.now();
  return () => {
    if (Date.now() - readAt > 60_000) {
      readAt = Date.now();
      try { bundle = TrustBundle.fromPem(readFileSync(file, 'utf8'), file); } catch (e) { log(`collector: keeping the trust bundle read before: ${(e as Error).message}`); }
    }
    return bundle;
  };
}

/** Starts a Kafka collector on an open store (used by `collector`, and by `control`/`up` with --bus kafka). */
export async function startCollectorOnKafka(f: FlagValues, store: TapStore, log: (line: string) => void, trust?: () => TrustBundle): Promise<KafkaCollector> {
  const brokers = brokerList(f);
  const bundleFile = f['trust-bundle'] ? String(f['trust-bundle']) : join(resolve(String(f['data-dir'])), 'ca', 'bundle.pem');
  const collector = await startKafkaCollector({
    brokers, store, topic: String(f.topic), groupId: String(f.group ?? 'meshlens-collectors'),
    trust: trust ?? trustFromFile(bundleFile, log),
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
