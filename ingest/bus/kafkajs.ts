// kafkajs, loaded when a Kafka client is first made rather than with
// ingest/index.ts: every sidecar imports ingest, only one with `--bus kafka`
// talks to Kafka, and loading kafkajs costs a process ~14 MB and ~0.15 s.
// Synchronous (kafkajs is CommonJS), so constructors stay synchronous.

import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';

let loaded: typeof KafkaJs | null = null;

export function kafkajs(): typeof KafkaJs {
  return (loaded ??= createRequire(import.meta.url)('kafkajs') as typeof KafkaJs);
}
