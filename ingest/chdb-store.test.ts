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

storeSuite('chdb', { freshPlace: freshDir, create: (dataDir, opts) => createChdbStore({ dataDir, ...opts }) });

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
      'alerts rollup_edge_10s rollup_edge_10s_mv rollup_service_10s rollup_service_10s_mv tap_batches tap_loss taps');
  } finally {
    session.close();
    await chdb.drainPending();
  }
});
