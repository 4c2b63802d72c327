import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createChdbStore } from './chdb-store.ts';
import { schemaStatements } from './sql.ts';
import { storeSuite } from './store-suite.ts';

const dirs: string[] = [];
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'meshlens-store-'));
  dirs.push(d);
  return d;
};
after(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

storeSuite('chdb', {
  freshPlace: freshDir,
  create: (dataDir, opts) => createChdbStore({ dataDir, ...opts }),
  // A bare session: chdb allows one data directory per process, and no store has this one open.
  sql: async (dataDir, statement) => {
    const chdb = await import('chdb');
    const session = new chdb.Session(dataDir);
    try {
      session.query(statement);
    } finally {
      session.close();
      await chdb.drainPending();
    }
  },
});

test('chdb: a second store in the same process is refused with INGEST_ERR_STORE_BUSY until the first closes', async () => {
  const s = createChdbStore({ dataDir: freshDir() });
  await s.init();
  const other = freshDir();
  assert.throws(() => createChdbStore({ dataDir: other }), (e: Error & { code?: string }) =>
    e.code === 'INGEST_ERR_STORE_BUSY' && e.message.includes(other));
  await s.close();
  const s2 = createChdbStore({ dataDir: other });
  await s2.init();
  assert.equal(await s2.countTaps({}), 0);
  await s2.close();
});

test('chdb: invalid retention options are refused before anything is opened', () => {
  assert.throws(() => createChdbStore({ dataDir: '/tmp/x', retentionDays: 0 }), { code: 'INGEST_ERR_CONFIG' });
});

test('chdb: the database-qualified single-node DDL that `meshlens schema` prints runs on chdb, twice', async () => {
  // A bare session, no store open: chdb allows one data directory per process.
  const chdb = await import('chdb');
  const session = new chdb.Session(freshDir());
  try {
    session.query('CREATE DATABASE IF NOT EXISTS meshlens_cli');
    for (let i = 0; i < 2; i++) for (const sql of schemaStatements({ database: 'meshlens_cli' })) session.query(sql);
    const tables = session.query("SELECT name FROM system.tables WHERE database = 'meshlens_cli' ORDER BY name", 'CSV').toString();
    assert.equal(tables.replace(/"/g, '').trim().split('\n').join(' '),
      'actions alerts config_changes reports rollup_conn_10s rollup_conn_10s_mv rollup_edge_10s rollup_edge_10s_mv rollup_service_10s rollup_service_10s_mv rollup_version_10s rollup_version_10s_mv tap_batches tap_loss tap_rejects tap_signers taps');
  } finally {
    session.close();
    await chdb.drainPending();
  }
});

test('chdb: a store whose rollups predate the denies column and the connections table, and whose chain records predate signers, gets them and new views on init; older rows read 0 (connections: null), newer ones count', async () => {
  const dir = freshDir();
  const b0 = Math.floor(Date.now() / 10_000) * 10_000 - 120_000;
  // The schema as it was: today's, minus the added columns, with views that do not fill them.
  const chdb = await import('chdb');
  const session = new chdb.Session(dir);
  try {
    const statements = schemaStatements().filter((q) => !q.includes('rollup_conn_10s') && !q.includes('tap_rejects') && !q.includes('rollup_version_10s')); // not there yet either
    for (const sql of statements.filter((s) => !s.includes('MATERIALIZED VIEW'))) session.query(sql);
    for (const t of ['rollup_service_10s', 'rollup_edge_10s']) session.query(`ALTER TABLE ${t} DROP COLUMN denies`);
    for (const c of ['signer', 'signer_cert', 'signature']) session.query(`ALTER TABLE tap_batches DROP COLUMN ${c}`);
    for (const sql of statements.filter((s) => s.includes('MATERIALIZED VIEW'))) {
      const old = sql.replace(",\n  sumState(toUInt64(decision = 'deny')) AS denies", '');
      assert.notEqual(old, sql, 'the view SQL still has the lines this test removes');
      session.query(old);
    }
    session.query(`INSERT INTO taps (proxy, stream, batch, seq, v, kind, ts, direction, conn_id, src_service, src_instance, src_addr, src_port,
      dst_service, dst_instance, dst_addr, dst_port, status, latency_ms, decision) VALUES
      ('cart-1', 'old', 0, 0, 1, 'l7.request', ${b0 + 1}, 'inbound', 'c9', 'web', 'web-1', '127.0.0.1', 1, 'cart', 'cart-1', '127.0.0.1', 2, 403, 1, 'deny')`);
  } finally {
    session.close();
    await chdb.drainPending();
  }
  const s = createChdbStore({ dataDir: dir });
  await s.init();
  try {
    const { sampleChain, sampleL7 } = await import('./sample-taps.ts');
    const denied = sampleL7({ proxy: 'cart-1', ts: b0 + 10_001, direction: 'inbound', src_service: 'web', dst_service: 'cart', status: 403, decision: 'deny', decision_reason: 'no' });
    for (const b of sampleChain('cart-1', 'new', [[denied]])) await s.writeBatch(b);
    const rows = await s.rollupSeries('service', b0, b0 + 20_000);
    // Connections count from when the table exists: none for the older row.
    assert.deepEqual(rows.map((r) => [r.bucket - b0, r.requests, r.denies, r.connections]), [[0, 1, 0, null], [10_000, 1, 1, 1]]);
    assert.equal(await s.countRejects({}), 0, 'tap_rejects is there');
  } finally {
    await s.close();
  }
  // A second init finds nothing to upgrade.
  const again = createChdbStore({ dataDir: dir });
  await again.init();
  await again.close();
});
