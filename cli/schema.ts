// `meshlens schema`: prints the ClickHouse DDL meshlens runs, for a DBA to
// review or apply by hand: single node (what the stores create on init) or a
// cluster (Distributed over ReplicatedMergeTree, ON CLUSTER).

import { clusterSchemaStatements, schemaStatements, type SqlDialect } from '../ingest/index.ts';
import { parseFlags, UsageError, type FlagSpec, type FlagValues } from './flags.ts';
import { COMMAND_SUMMARIES } from './command-summaries.ts';

export const summary = COMMAND_SUMMARIES.schema;

export const SCHEMA_FLAGS: FlagSpec[] = [
  { name: 'cluster', type: 'string', help: 'cluster name (remote_servers): Distributed over ReplicatedMergeTree, ON CLUSTER' },
  { name: 'legacy', type: 'bool', default: false, help: 'DDL for ClickHouse 18.16 .. 22.1 (ReplacingMergeTree, no TTL)' },
  { name: 'database', type: 'string', default: 'meshlens', help: 'database the tables go in' },
  { name: 'retention-days', type: 'int', env: 'MESHLENS_RETENTION_DAYS', default: 7, help: 'days raw taps are kept (modern only)' },
];

/** The statements the flags ask for, each ending in `;`. */
export function schemaDdl(f: FlagValues): string[] {
  const dialect: SqlDialect = f.legacy ? 'legacy' : 'modern';
  const database = String(f.database);
  const retentionDays = Number(f['retention-days']);
  try {
    const statements = f.cluster !== undefined
      ? clusterSchemaStatements({ cluster: String(f.cluster), database, dialect, retentionDays })
      : [`CREATE DATABASE IF NOT EXISTS ${database}`, ...schemaStatements({ database, dialect, retentionDays })];
    return statements.map((s) => `${s.trim()};`);
  } catch (e) {
    throw new UsageError([(e as Error).message], '');
  }
}

export async function run(argv: string[], log: (line: string) => void): Promise<void> {
  void log; // the DDL goes to stdout as is, without log prefixes, so it can be piped to clickhouse-client
  const f = parseFlags('schema', summary, argv, SCHEMA_FLAGS);
  console.log(schemaDdl(f).join('\n\n'));
}
