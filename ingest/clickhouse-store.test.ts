// The shared store suite against a real clickhouse-server (Debian's 18.16:
// the legacy dialect), plus what only a server has: version detection,
// parameters as literals, the printed DDL.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { createClickHouseStore, dialectForVersion } from './clickhouse-store.ts';
import { bindLiterals, quoteString } from './sql-literal.ts';
import { schemaStatements } from './sql.ts';
import { clusterSchemaStatements } from './sql-cluster.ts';
import { storeSuite } from './store-suite.ts';
import { startTestClickHouseServer, type TestClickHouseServer } from '../peers/index.ts';

let server: TestClickHouseServer;
before(async () => { server = await startTestClickHouseServer(); });
after(async () => { await server?.close(); });

let n = 0;
storeSuite('clickhouse-server', {
  freshPlace: () => `t${process.pid}_${n++}`,
  create: (database, opts) => createClickHouseStore({ url: server.url, database, ...opts }),
  // A command, not a query: 18.16 refuses an INSERT … SELECT with the FORMAT clause a query carries.
  sql: async (database, statement) => {
    const c = createClient({ url: server.url, database, log: { level: ClickHouseLogLevel.OFF } });
    try { await c.command({ query: statement }); } finally { await c.close(); }
  },
});

async function sql(query: string, database = 'default'): Promise<string> {
  const c = createClient({ url: server.url, database, log: { level: ClickHouseLogLevel.OFF } });
  try {
    return await (await c.query({ query, format: 'TabSeparated' })).text();
  } finally {
    await c.close();
  }
}

test('clickhouse-server: the server version picks the dialect (18.16 is legacy, 22.2 and later modern, older refused)', async () => {
  assert.equal(dialectForVersion((await sql('SELECT version()')).trim()), 'legacy');
  assert.equal(dialectForVersion('18.16.1'), 'legacy');
  assert.equal(dialectForVersion('22.1.3.7'), 'legacy');
  assert.equal(dialectForVersion('22.2.2.1'), 'modern');
  assert.equal(dialectForVersion('24.8.4.13'), 'modern');
  assert.throws(() => dialectForVersion('1.1.54343'), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => dialectForVersion('unknown'), { code: 'INGEST_ERR_CONFIG' });
});

test('clickhouse-server: 18.16 rejects the modern-only features the legacy dialect avoids', async () => {
  const reject = async (query: string, pattern: RegExp) => assert.rejects(sql(query), pattern, query);
  await reject('SELECT {x:UInt64}', /Syntax error/);
  await reject('CREATE TABLE default.ttl_probe (ts UInt64) ENGINE = MergeTree ORDER BY ts TTL toDateTime(ts) + INTERVAL 1 DAY', /Syntax error/);
  await reject('CREATE TABLE default.dedup_probe (ts UInt64) ENGINE = MergeTree ORDER BY ts SETTINGS non_replicated_deduplication_window = 10', /Unknown setting/);
  await reject('CREATE TABLE default.lc_probe (s LowCardinality(String)) ENGINE = MergeTree ORDER BY s', /LowCardinality type is not allowed/);
});

test('clickhouse-server: on 18.16 every stored table is a ReplacingMergeTree (dedup by key, read with FINAL)', async () => {
  const database = `engines_${process.pid}`;
  const s = createClickHouseStore({ url: server.url, database });
  await s.init();
  await s.close();
  const engines = await sql(`SELECT name, engine FROM system.tables WHERE database = '${database}' ORDER BY name`);
  assert.match(engines, /^rollup_edge_10s\tReplacingMergeTree$/m);
  for (const t of ['actions', 'config_changes', 'reports', 'rollup_service_10s', 'rollup_version_10s', 'tap_batches', 'tap_loss', 'tap_rejects', 'tap_signers', 'taps']) assert.match(engines, new RegExp(`^${t}\\tReplacingMergeTree$`, 'm'));
  assert.match(engines, /^rollup_service_10s_mv\tMaterializedView$/m);
});

test('clickhouse-server: bad options are all reported at once with INGEST_ERR_CONFIG', () => {
  assert.throws(() => createClickHouseStore({ url: 'ftp://x', database: 'a-b', retentionDays: 0 }), (e: Error & { code?: string }) =>
    e.code === 'INGEST_ERR_CONFIG' && /url must be http/.test(e.message) && /database/.test(e.message) && /retentionDays/.test(e.message));
});

test('clickhouse-server: parameters become typed literals that round-trip any string and refuse anything else', async () => {
  const nasty = "a'b\\c\nd\u0000e\u007f' OR 1=1 -- ünï";
  const out = await sql(bindLiterals('SELECT {s:String} = unhex({h:String}) AS same, {n:UInt64} + 1 AS n',
    { s: nasty, h: Buffer.from(nasty).toString('hex'), n: 41 }));
  assert.equal(out, '1\t42\n');
  assert.equal(quoteString("it's"), "'it\\'s'");
  assert.throws(() => bindLiterals('SELECT {n:UInt64}', { n: -1 }), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => bindLiterals('SELECT {n:UInt64}', { n: '1; DROP TABLE taps' }), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => bindLiterals('SELECT {n:UInt64}', { n: 1.5 }), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => bindLiterals('SELECT {s:String}', { s: 1 }), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => bindLiterals('SELECT {s:String}', {}), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => bindLiterals('SELECT 1', { s: 'x' }), { code: 'INGEST_ERR_CONFIG' });
  assert.throws(() => bindLiterals('SELECT {s:Array}', { s: 'x' }), { code: 'INGEST_ERR_CONFIG' });
});

test('clickhouse-server: the database-qualified single-node legacy DDL that `meshlens schema --legacy` prints runs, twice', async () => {
  await sql('CREATE DATABASE IF NOT EXISTS meshlens_cli');
  for (let i = 0; i < 2; i++) for (const s of schemaStatements({ dialect: 'legacy', database: 'meshlens_cli' })) await sql(s);
  const tables = await sql("SELECT name FROM system.tables WHERE database = 'meshlens_cli' ORDER BY name");
  assert.equal(tables.trim().split('\n').join(' '),
    'actions alerts config_changes reports rollup_conn_10s rollup_conn_10s_mv rollup_edge_10s rollup_edge_10s_mv rollup_service_10s rollup_service_10s_mv rollup_version_10s rollup_version_10s_mv tap_batches tap_loss tap_rejects tap_signers taps');
});

test('clickhouse-server: the legacy cluster DDL parses on 18.16 (fails only for want of the cluster)', async () => {
  for (const s of clusterSchemaStatements({ cluster: 'nowhere', database: 'meshlens', dialect: 'legacy' })) {
    await assert.rejects(sql(s), /Requested cluster 'nowhere' not found/, s);
  }
});

test('clickhouse-server: a store whose rollups predate the denies column and the connections table, and whose chain records predate signers, gets them and new views on init (ALTER TABLE on 18.16); older rows read 0 (connections: null), newer ones count', async () => {
  const database = `upgrade_${process.pid}`;
  const b0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
  await sql(`CREATE DATABASE IF NOT EXISTS ${database}`);
  const statements = schemaStatements({ dialect: 'legacy', database }).filter((q) => !q.includes('rollup_conn_10s') && !q.includes('tap_rejects') && !q.includes('rollup_version_10s')); // not there yet either
  for (const s of statements.filter((q) => !q.includes('MATERIALIZED VIEW'))) await sql(s);
  for (const t of ['rollup_service_10s', 'rollup_edge_10s']) await sql(`ALTER TABLE ${database}.${t} DROP COLUMN denies`);
  for (const c of ['signer', 'signer_cert', 'signature']) await sql(`ALTER TABLE ${database}.tap_batches DROP COLUMN ${c}`);
  for (const s of statements.filter((q) => q.includes('MATERIALIZED VIEW'))) {
    const old = s.replace(",\n  sumState(toUInt64(decision = 'deny')) AS denies", '');
    assert.notEqual(old, s, 'the view SQL still has the line this test removes');
    await sql(old);
  }
  const c = createClient({ url: server.url, log: { level: ClickHouseLogLevel.OFF } });
  await c.command({ query: `INSERT INTO ${database}.taps (proxy, stream, batch, seq, v, kind, ts, direction, conn_id, src_service, src_instance, src_addr, src_port,
    dst_service, dst_instance, dst_addr, dst_port, status, latency_ms, decision) VALUES
    ('cart-1', 'old', 0, 0, 1, 'l7.request', ${b0 + 1}, 'inbound', 'c9', 'web', 'web-1', '127.0.0.1', 1, 'cart', 'cart-1', '127.0.0.1', 2, 403, 1, 'deny')` }).finally(() => c.close());
  const s = createClickHouseStore({ url: server.url, database });
  await s.init();
  try {
    const { sampleChain, sampleL7 } = await import('./sample-taps.ts');
    const denied = sampleL7({ ts: b0 + 10_001, direction: 'inbound', src_service: 'web', dst_service: 'cart', status: 403, decision: 'deny', decision_reason: 'no' });
    for (const b of sampleChain('cart-1', 'new', [[denied]])) await s.writeBatch(b);
    const rows = await s.rollupSeries('service', b0, b0 + 20_000);
    // Connections count from when the table exists: none for the older row.
    assert.deepEqual(rows.map((r) => [r.bucket - b0, r.requests, r.denies, r.connections]), [[0, 1, 0, null], [10_000, 1, 1, 1]]);
    assert.equal(await s.countRejects({}), 0, 'tap_rejects is there');
  } finally {
    await s.close();
  }
  const again = createClickHouseStore({ url: server.url, database });
  await again.init(); // nothing left to upgrade: no error
  await again.close();
});
