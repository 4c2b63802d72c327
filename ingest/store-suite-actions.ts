// Store behaviours of the tuning action record (the `actions` table), run
// inside the shared store suite (./store-suite.ts) so they hold on chdb and
// on the 18.16 server alike.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ActionRecord } from './action-record.ts';
import { sampleAction } from './sample-actions.ts';
import { sampleChain, sampleL7 } from './sample-taps.ts';
import type { TapStore } from './store.ts';
import type { StoreBackend } from './store-suite.ts';

export function actionStoreTests(openStore: (place?: string) => Promise<TapStore>, backend: StoreBackend): void {
  test('an action written proposed, applied and verified reads back once in its newest state, and its history holds every state oldest first with its JSON intact', async () => {
    const s = await openStore();
    const t = Date.now() - 600_000; // within retention, which counts from proposed_at
    const proposed = sampleAction(t);
    const applied: ActionRecord = {
      ...proposed, state: 'applied', updated_at: t + 1_000, config_before: 41, config_after: 42,
      acks: [{ proxy: 'web-1', at: t + 1_200 }, { proxy: 'cart-1', at: t + 1_350 }], detail: 'ünïcode \\ and \'quotes\'\nover two lines',
    };
    const verified: ActionRecord = { ...applied, state: 'verified', updated_at: t + 61_000, detail: 'p99 of v1 fell 300 → 120 ms' };
    await s.writeAction(proposed);
    assert.deepEqual(await s.actions({ limit: 10 }), [proposed]);
    await s.writeAction(applied);
    await s.writeAction(verified);
    await s.writeAction(verified); // a retry: still one state
    assert.deepEqual(await s.actions({ limit: 10 }), [verified]);
    assert.deepEqual(await s.actionHistory(proposed.id), [proposed, applied, verified]);
    assert.deepEqual(await s.actionHistory('act-nobody'), []);
    await assert.rejects(s.actionHistory(''), { code: 'INGEST_ERR_CONFIG' });
  });

  test('a state written again with the same time keeps the last written, and two states at one ms read the later in lifecycle order as newest', async () => {
    const s = await openStore();
    const t = Date.now() - 600_000;
    const applied = sampleAction(t, { state: 'applied', config_before: 7, config_after: 8 });
    await s.writeAction(applied);
    const acked = { ...applied, acks: [{ proxy: 'cart-1', at: t + 5 }] };
    await s.writeAction(acked);
    assert.deepEqual(await s.actionHistory(applied.id), [acked]);
    // The engine makes updated_at grow; should two states share a ms, every read agrees.
    const failed = { ...acked, state: 'failed' as const, detail: 'sidecar cart-2 never ACKed' };
    await s.writeAction(failed);
    assert.deepEqual(await s.actions({ limit: 10 }), [failed]);
    assert.deepEqual(await s.actionHistory(applied.id), [acked, failed]);
  });

  test('actions filters on the newest state of each action (state, kind, service, alert, since/until) and returns the most recently updated first, up to limit', async () => {
    const s = await openStore();
    const t = Date.now() - 600_000;
    const shift = sampleAction(t, { id: 'shift-1', state: 'verified', updated_at: t + 300 });
    const eject = sampleAction(t + 10, {
      id: 'eject-1', kind: 'eject', subject: 'payments-2', service: 'payments', state: 'awaiting_approval', mode: 'approve',
      updated_at: t + 200, alert_ids: ['service:payments:1', 'edge:cart→payments:1'], params: { for_s: 30 }, requested: { for_s: 30 },
    });
    const scale = sampleAction(t + 20, { id: 'scale-1', kind: 'scale', state: 'dry_run', mode: 'dry-run', updated_at: t + 100, alert_ids: [] });
    await s.writeAction({ ...shift, state: 'proposed', updated_at: t });
    await s.writeAction({ ...eject, state: 'proposed', updated_at: t + 10 });
    for (const r of [shift, eject, scale]) await s.writeAction(r);
    const ids = async (o: Omit<Parameters<TapStore['actions']>[0], 'limit'>, limit = 10) => (await s.actions({ ...o, limit })).map((r) => r.id);
    assert.deepEqual(await ids({}), ['shift-1', 'eject-1', 'scale-1']);
    assert.deepEqual(await ids({}, 2), ['shift-1', 'eject-1']);
    assert.deepEqual(await ids({ state: 'proposed' }), [], 'only the newest state counts');
    assert.deepEqual(await ids({ state: 'awaiting_approval' }), ['eject-1']);
    assert.deepEqual(await ids({ kind: 'scale' }), ['scale-1']);
    assert.deepEqual(await ids({ service: 'cart' }), ['shift-1', 'scale-1']);
    assert.deepEqual(await ids({ alert: 'edge:cart→payments:1' }), ['eject-1']);
    assert.deepEqual(await ids({ alert: `service:cart:${t}` }), ['shift-1']);
    assert.deepEqual(await ids({ since: t + 100, until: t + 300 }), ['eject-1', 'scale-1'], 'since inclusive, until exclusive');
    assert.deepEqual(await ids({ since: t + 201 }), ['shift-1']);
    assert.deepEqual(await ids({ service: "cart' OR 1=1 --" }), [], 'a filter value is a value, never SQL');
    assert.deepEqual(await ids({ service: 'cart', kind: 'shift', state: 'verified' }), ['shift-1']);
    await assert.rejects(s.actions({ limit: -1 }), { code: 'INGEST_ERR_CONFIG' });
    await assert.rejects(s.actions({ limit: 1, state: 'done' as 'applied', since: -5 }),
      (e: Error & { code?: string }) => e.code === 'INGEST_ERR_CONFIG' && /state/.test(e.message) && /since/.test(e.message));
  });

  test('a bad action record is refused with INGEST_ERR_MALFORMED naming each problem, and nothing is written', async () => {
    const s = await openStore();
    const t = Date.now() - 600_000;
    const bad = { ...sampleAction(t), kind: 'reboot', params: [1, 2], evidence: { big: 'x'.repeat(40_000) }, updated_at: t - 1 } as unknown as ActionRecord;
    await assert.rejects(s.writeAction(bad), (e: Error & { code?: string }) => e.code === 'INGEST_ERR_MALFORMED'
      && /kind must be one of/.test(e.message) && /params must be a JSON object/.test(e.message)
      && /evidence is \d+ bytes as JSON/.test(e.message) && /updated_at .* is before proposed_at/.test(e.message));
    assert.deepEqual(await s.actions({ limit: 10 }), []);
  });

  test('a store created before the actions table gains it on init, keeping what it held', async () => {
    const place = backend.freshPlace();
    const before = await openStore(place);
    const [b] = sampleChain('web-1', 's1', [[sampleL7({ direction: 'inbound' })]]);
    await before.writeBatch(b);
    await before.close();
    await backend.sql(place, 'DROP TABLE actions'); // as the store was before this table
    const s = await openStore(place);
    assert.equal(await s.countTaps({}), 1);
    assert.deepEqual(await s.actions({ limit: 10 }), []);
    const r = sampleAction(Date.now() - 600_000);
    await s.writeAction(r);
    assert.deepEqual(await s.actionHistory(r.id), [r]);
  });
}
