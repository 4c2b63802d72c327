// TapStore on chdb: ClickHouse in-process, data directory on disk. The store
// itself is ./sql-store.ts; this file is the chdb engine under it.
//
// chdb binds ONE data directory per process. Measured with chdb 3.4.0
// (libchdb 26.7): a second `new Session(samePath)` opens and shares the
// engine; a `new Session(otherPath)` while one is open throws
// CHDB_CONNECTION ("only one active data directory per process"). So this
// store is the single owner: while one is open, createChdbStore refuses to
// open another (any path) with INGEST_ERR_STORE_BUSY; share the one TapStore
// instead. close() waits for in-flight calls and for chdb to drain, so a new
// store (any path) may be opened as soon as it resolves.

import type { Session } from 'chdb';
import { asIngestError, IngestError } from './errors.ts';
import { resolveSchemaOptions, type SchemaOptions, type SqlDialect } from './sql.ts';
import { SqlTapStore, type InsertRows, type Row, type SqlEngine } from './sql-store.ts';
import type { TapStore } from './store.ts';

export interface ChdbStoreOptions extends SchemaOptions {
  /** chdb data directory; created if missing. */
  dataDir: string;
  /** Clock for received_at and the default graph window end (tests inject it). */
  now?: () => number;
}

let openPath: string | null = null;

// chdb's native engine is ~150 MB resident and takes a second to load.
// Sidecars import ingest/ for the schema and publishers but never open a
// store, so the engine loads only when a store opens (in init()).
let chdbModule: Promise<typeof import('chdb')> | null = null;
const loadChdb = () => (chdbModule ??= import('chdb'));

export function createChdbStore(opts: ChdbStoreOptions): TapStore {
  if (typeof opts.dataDir !== 'string' || opts.dataDir === '') {
    throw new IngestError('INGEST_ERR_CONFIG', 'chdb store: dataDir must be a non-empty path');
  }
  resolveSchemaOptions(opts); // validates retention options before opening
  if (openPath !== null) {
    throw new IngestError('INGEST_ERR_STORE_BUSY',
      `chdb store: ${openPath} is already open in this process; chdb allows one data directory per process, share that store or close it before opening ${opts.dataDir}`);
  }
  openPath = opts.dataDir;
  return new SqlTapStore(new ChdbEngine(opts.dataDir), opts, opts.now ?? Date.now);
}

class ChdbEngine implements SqlEngine {
  readonly label: string;
  readonly #dataDir: string;
  #session: Session | null = null;

  constructor(dataDir: string) {
    this.#dataDir = dataDir;
    this.label = `chdb store ${dataDir}`;
  }

  #open(): Session {
    if (!this.#session) throw new IngestError('INGEST_ERR_CLOSED', `${this.label}: not open, call init() first`);
    return this.#session;
  }

  async open(): Promise<SqlDialect> {
    if (!this.#session) {
      const { Session } = await loadChdb();
      try {
        this.#session = new Session(this.#dataDir);
      } catch (e) {
        throw asIngestError(e, `chdb store: opening ${this.#dataDir}`);
      }
    }
    return 'modern'; // chdb embeds a current ClickHouse (26.x)
  }

  async exec(sql: string): Promise<void> {
    await this.#open().queryAsync(sql);
  }

  async rows<T = Row>(sql: string, params: Record<string, unknown>): Promise<T[]> {
    const text = (await this.#open().queryBindAsync(sql, params, { format: 'JSONEachRow' })).text();
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
  }

  async insert(table: string, rows: InsertRows, settings: Record<string, string | number>): Promise<void> {
    await this.#open().insert(rows.format === 'JSONEachRow'
      ? { table, values: Buffer.from(rows.text), format: 'JSONEachRow', settings }
      : { table, values: rows.chunks.length === 1 ? rows.chunks[0] : Buffer.concat(rows.chunks), format: 'TabSeparated', columns: rows.columns, settings });
  }

  async close(): Promise<void> {
    if (this.#session) {
      this.#session.close();
      await (await loadChdb()).drainPending();
    }
    if (openPath === this.#dataDir) openPath = null;
  }
}
