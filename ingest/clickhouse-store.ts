// TapStore on a ClickHouse server over HTTP (@clickhouse/client). The store
// itself is ./sql-store.ts; this file is the server engine under it, which
// reads `SELECT version()` on open and picks the SQL dialect:
//
//   >= 22.2  modern: query parameters, insert_deduplication_token (22.2),
//            non_replicated_deduplication_window, TTL, LowCardinality.
//   < 22.2   legacy, measured on Debian's 18.16.1: none of those exist there
//            (`{x:UInt64}` is a syntax error, param_x / insert_deduplication_token /
//            deduplicate_blocks_in_dependent_materialized_views are "Unknown
//            setting", TTL a syntax error, non_replicated_deduplication_window
//            an unknown MergeTree setting, LowCardinality needs an experimental
//            flag); ReplacingMergeTree + FINAL, AggregateFunction states,
//            quantilesTDigest, PARTITION BY expressions and argMax all work.
//            See ./sql.ts for how legacy deduplicates, ./sql-literal.ts for
//            how parameters become literals there.
//   < 18.16  refused: never tried.
//
// A SELECT's `SETTINGS output_format_json_quote_64bit_integers = 0` clause is
// parsed but not applied by 18.16, so the engine also sends it per request.

import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import type * as ClickHouseJs from '@clickhouse/client';
import type { ClickHouseClient } from '@clickhouse/client';
import { IngestError } from './errors.ts';
import { bindLiterals } from './sql-literal.ts';
import { checkIdentifier, resolveSchemaOptions, type SchemaOptions, type SqlDialect } from './sql.ts';
import { SqlTapStore, type InsertRows, type Row, type SqlEngine } from './sql-store.ts';
import type { TapStore } from './store.ts';

export interface ClickHouseStoreOptions extends SchemaOptions {
  /** Server HTTP(S) URL, e.g. http://127.0.0.1:8123 */
  url: string;
  /** Database, created if missing (default meshlens). */
  database?: string;
  username?: string;
  password?: string;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
  /** Force a dialect instead of reading the server version (tests, odd builds). */
  dialect?: SqlDialect;
  /** Clock for received_at and the default graph window end (tests inject it). */
  now?: () => number;
}

export const DEFAULT_DATABASE = 'meshlens';

// @clickhouse/client loads with the first store that connects, not with
// ingest/index.ts (~12 MB and ~0.2 s that a sidecar, which imports ingest
// but never a store, would pay). CommonJS, so this stays synchronous.
let clickhouseLoaded: typeof ClickHouseJs | null = null;
const clickhouseJs = () => (clickhouseLoaded ??= createRequire(import.meta.url)('@clickhouse/client') as typeof ClickHouseJs);
/** First version with insert_deduplication_token (ClickHouse PR #32304, release 22.2). */
export const MODERN_SINCE = [22, 2] as const;
export const OLDEST_SUPPORTED = [18, 16] as const;

/** The dialect for a `SELECT version()` string; throws INGEST_ERR_CONFIG below 18.16 or when unreadable. */
export function dialectForVersion(version: string): SqlDialect {
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) throw new IngestError('INGEST_ERR_CONFIG', `clickhouse store: cannot read server version ${JSON.stringify(version)}`);
  const v = [Number(m[1]), Number(m[2])];
  const atLeast = (min: readonly number[]) => v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);
  if (!atLeast(OLDEST_SUPPORTED)) {
    throw new IngestError('INGEST_ERR_CONFIG', `clickhouse store: server ${version} is older than ${OLDEST_SUPPORTED.join('.')}, the oldest supported`);
  }
  return atLeast(MODERN_SINCE) ? 'modern' : 'legacy';
}

export function createClickHouseStore(opts: ClickHouseStoreOptions): TapStore {
  const problems: string[] = [];
  let url: URL | null = null;
  try {
    url = new URL(opts.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push(`url must be http(s), got ${opts.url}`);
  } catch {
    problems.push(`url is not a URL: ${JSON.stringify(opts.url)}`);
  }
  const database = opts.database ?? DEFAULT_DATABASE;
  for (const check of [() => checkIdentifier('database', database), () => resolveSchemaOptions(opts)]) {
    try { check(); } catch (e) { problems.push((e as Error).message); }
  }
  if (opts.dialect !== undefined && opts.dialect !== 'modern' && opts.dialect !== 'legacy') problems.push(`dialect must be modern or legacy, got ${opts.dialect}`);
  if (problems.length > 0) throw new IngestError('INGEST_ERR_CONFIG', `clickhouse store: ${problems.join('; ')}`);
  return new SqlTapStore(new ServerEngine({ ...opts, database }), opts, opts.now ?? Date.now);
}

class ServerEngine implements SqlEngine {
  readonly label: string;
  readonly #opts: ClickHouseStoreOptions & { database: string };
  #client: ClickHouseClient | null = null;
  #dialect: SqlDialect = 'modern';

  constructor(opts: ClickHouseStoreOptions & { database: string }) {
    this.#opts = opts;
    const u = new URL(opts.url);
    u.username = '';
    u.password = '';
    this.label = `clickhouse store ${u.origin} database ${opts.database}`;
  }

  #connect(database: string): ClickHouseClient {
    const { ClickHouseLogLevel, createClient } = clickhouseJs();
    return createClient({
      url: this.#opts.url, database, username: this.#opts.username ?? 'default', password: this.#opts.password ?? '',
      request_timeout: this.#opts.requestTimeoutMs ?? 30_000,
      application: 'meshlens',
      // Failures reach the caller as IngestErrors with context; the client's own log would repeat them.
      log: { level: ClickHouseLogLevel.OFF },
      // insert() sends JSONEachRow text it built itself: a string value is
      // passed through whole instead of encoded per row.
      json: { parse: JSON.parse, stringify: (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v)) },
    });
  }

  #live(): ClickHouseClient {
    if (!this.#client) throw new IngestError('INGEST_ERR_CLOSED', `${this.label}: not open, call init() first`);
    return this.#client;
  }

  async open(): Promise<SqlDialect> {
    // The database must exist before a client may name it.
    const boot = this.#connect('default');
    try {
      const [{ v }] = await (await boot.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })).json<{ v: string }>();
      this.#dialect = this.#opts.dialect ?? dialectForVersion(v);
      await boot.command({ query: `CREATE DATABASE IF NOT EXISTS ${this.#opts.database}` });
    } finally {
      await boot.close();
    }
    this.#client ??= this.#connect(this.#opts.database);
    return this.#dialect;
  }

  async exec(sql: string): Promise<void> {
    await this.#live().command({ query: sql });
  }

  async rows<T = Row>(sql: string, params: Record<string, unknown>): Promise<T[]> {
    const legacy = this.#dialect === 'legacy';
    const rs = await this.#live().query({
      query: legacy ? bindLiterals(sql, params) : sql,
      ...(legacy ? {} : { query_params: params }),
      format: 'JSONEachRow',
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
    return rs.json<T>();
  }

  async insert(table: string, rows: InsertRows, settings: Record<string, string | number>): Promise<void> {
    await this.#live().insert(rows.format === 'JSONEachRow'
      ? { table, values: [rows.text], format: 'JSONEachRow', clickhouse_settings: settings }
      // Raw formats go as a byte stream; the chunks are sent as they are.
      : { table, values: Readable.from(rows.chunks, { objectMode: false }), format: 'TabSeparated', columns: [...rows.columns] as [string, ...string[]], clickhouse_settings: settings });
  }

  async close(): Promise<void> {
    await this.#client?.close();
    this.#client = null;
  }
}
