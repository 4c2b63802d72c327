// Which store and which bus a process uses, from its flags: the two choices
// that separate embedded mode from scaled-out mode.

import { resolve } from 'node:path';
import { createChdbStore, createClickHouseStore, DEFAULT_TAPS_TOPIC, type TapStore } from '../ingest/index.ts';
import { listFlag, UsageError, type FlagSpec, type FlagValues } from './flags.ts';

export const STORE_FLAGS: FlagSpec[] = [
  { name: 'store', type: 'string', env: 'MESHLENS_STORE', default: 'chdb', help: 'chdb (embedded ClickHouse) or clickhouse (a server, --clickhouse-url)' },
  { name: 'data-dir', type: 'string', env: 'MESHLENS_DATA_DIR', default: './.meshlens/data', help: 'where chdb keeps its data (--store chdb)' },
  { name: 'clickhouse-url', type: 'string', env: 'MESHLENS_CLICKHOUSE_URL', help: 'ClickHouse server HTTP URL, e.g. http://127.0.0.1:8123 (--store clickhouse)' },
  { name: 'retention-days', type: 'int', env: 'MESHLENS_RETENTION_DAYS', default: 7, help: 'days raw taps are kept' },
];

export const BUS_FLAGS: FlagSpec[] = [
  { name: 'bus', type: 'string', env: 'MESHLENS_BUS', default: 'embedded', help: 'embedded (sidecars post to the control plane) or kafka (--brokers)' },
  { name: 'brokers', type: 'string', env: 'MESHLENS_BROKERS', help: 'Kafka bootstrap brokers, host:port[,host:port…] (--bus kafka)' },
  { name: 'topic', type: 'string', env: 'MESHLENS_TOPIC', default: DEFAULT_TAPS_TOPIC, help: 'Kafka topic for taps' },
];

/** Checks the store flags together; every problem at once. */
export function storeProblems(f: FlagValues): string[] {
  const p: string[] = [];
  if (f.store !== 'chdb' && f.store !== 'clickhouse') p.push(`--store: expected chdb or clickhouse, got "${f.store}"`);
  if (f.store === 'clickhouse' && !f['clickhouse-url']) p.push('--clickhouse-url: required with --store clickhouse');
  if (f['clickhouse-url'] !== undefined && !/^https?:\/\/[^/]+/.test(String(f['clickhouse-url']))) {
    p.push(`--clickhouse-url: "${f['clickhouse-url']}" is not an http(s) URL`);
  }
  return p;
}

export function busProblems(f: FlagValues): string[] {
  const p: string[] = [];
  if (f.bus !== 'embedded' && f.bus !== 'kafka') p.push(`--bus: expected embedded or kafka, got "${f.bus}"`);
  if (f.bus === 'kafka' && brokerList(f).length === 0) p.push('--brokers: required with --bus kafka');
  for (const b of brokerList(f)) if (!/^[^:]+:\d{1,5}$/.test(b)) p.push(`--brokers: "${b}" is not host:port`);
  return p;
}

export function brokerList(f: FlagValues): string[] {
  return listFlag(f, 'brokers');
}

export function requireValid(command: string, problems: string[]): void {
  if (problems.length > 0) throw new UsageError(problems, `run \`meshlens ${command} --help\` for the flags`);
}

/** Opens (and initialises) the store the flags choose; returns it with a line describing it. */
export async function openStore(f: FlagValues): Promise<{ store: TapStore; describe: string }> {
  const retentionDays = Number(f['retention-days']);
  if (f.store === 'clickhouse') {
    const url = String(f['clickhouse-url']);
    const store = createClickHouseStore({ url, retentionDays });
    await store.init();
    return { store, describe: `ClickHouse server at ${url}` };
  }
  const dataDir = resolve(String(f['data-dir']));
  const store = createChdbStore({ dataDir, retentionDays });
  await store.init();
  return { store, describe: `ClickHouse (chdb) at ${dataDir}` };
}
