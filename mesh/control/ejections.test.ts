import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EjectionError, type ConfigSnapshot } from './index.ts';
import { startTestControl, type TestControl } from './testing/mesh-clients.ts';

const instancesOf = (s: ConfigSnapshot, service: string) => s.clusters.find((c) => c.service === service)?.endpoints.map((e) => e.instance);

/**
 * payments-1 and payments-2 (endpoints) and web (outbound only), each on its
 * config stream; settled: the push that follows the last registration has gone out.
 */
async function paymentsAndWeb(t: TestControl) {
  const p1 = (await t.sidecar('payments', 'payments-1')).stream('inbound=127.0.0.1:9001');
  const p2 = (await t.sidecar('payments', 'payments-2')).stream('inbound=127.0.0.1:9002');
  const web = (await t.sidecar('web', 'web-1')).stream('');
  const first = await web.next(() => true);
  await web.next((s) => s.version > first.version);
  return { p1, p2, web, close: () => { p1.close(); p2.close(); web.close(); } };
}

test('an ejected instance leaves its cluster in every other sidecar\'s snapshot but its own, stays registered and in status, and returns by itself at until', async () => {
  const t = await startTestControl();
  const m = await paymentsAndWeb(t);
  try {
    const until = Date.now() + 1_500;
    const { version } = t.cp.eject('payments-2', until, 'p99 5x its peers');
    assert.deepEqual(instancesOf(await m.web.next((s) => s.version === version), 'payments'), ['payments-1']);
    assert.deepEqual(instancesOf(await m.p1.next((s) => s.version === version), 'payments'), ['payments-1']);
    assert.deepEqual(instancesOf(await m.p2.next((s) => s.version === version), 'payments'), ['payments-1', 'payments-2'], 'its own snapshot keeps it');
    const st = t.cp.status();
    assert.deepEqual(st.ejections, [{ service: 'payments', instance: 'payments-2', until, reason: 'p99 5x its peers' }]);
    assert.deepEqual(st.services.payments.map((e) => e.instance), ['payments-1', 'payments-2'], 'the registry keeps it');
    assert.ok(st.proxies.find((p) => p.proxy === 'payments-2')!.connected);

    const back = await m.web.next((s) => s.version > version);
    assert.ok(Date.now() >= until, 'it came back at until, not before');
    assert.deepEqual(instancesOf(back, 'payments'), ['payments-1', 'payments-2']);
    assert.deepEqual(t.cp.status().ejections, []);
    assert.equal(t.cp.lift('payments-2'), null, 'nothing left to lift');
  } finally {
    m.close();
    await t.close();
  }
});

test('ejecting every endpoint of a cluster keeps the one ejected last; GET /v1/ejections lists them and DELETE lifts one now', async () => {
  const t = await startTestControl();
  const m = await paymentsAndWeb(t);
  const op = t.operator();
  try {
    const put = async (instance: string) => {
      const r = await op.request('PUT', `/v1/ejections/${instance}`, { seconds: 60, reason: `${instance} is slow` });
      assert.equal(r.status, 200, r.body.toString());
      return r.json<{ service: string; instance: string; until: number; reason: string; version: number }>();
    };
    const first = await put('payments-2');
    assert.deepEqual([first.service, first.instance, first.reason], ['payments', 'payments-2', 'payments-2 is slow']);
    assert.deepEqual(instancesOf(await m.web.next((s) => s.version === first.version), 'payments'), ['payments-1']);
    const all = await put('payments-1');
    assert.deepEqual(instancesOf(await m.web.next((s) => s.version === all.version), 'payments'), ['payments-1'], 'the one ejected last stays');
    const again = await put('payments-2');
    assert.deepEqual(instancesOf(await m.web.next((s) => s.version === again.version), 'payments'), ['payments-2'], 'ejected again, it is now the last');

    const list = await op.request('GET', '/v1/ejections');
    assert.deepEqual(list.json<{ ejections: { instance: string }[] }>().ejections.map((e) => e.instance), ['payments-1', 'payments-2']);

    const del = await op.request('DELETE', '/v1/ejections/payments-1');
    assert.equal(del.status, 200);
    assert.deepEqual(instancesOf(await m.web.next((s) => s.version === del.json<{ version: number }>().version), 'payments'), ['payments-1']);
    const lifted = t.cp.lift('payments-2')!;
    assert.deepEqual(instancesOf(await m.web.next((s) => s.version === lifted.version), 'payments'), ['payments-1', 'payments-2']);
    const none = await op.request('DELETE', '/v1/ejections/payments-1');
    assert.deepEqual([none.status, none.json<{ code: string }>().code], [404, 'MESH_ERR_NOT_FOUND']);
  } finally {
    m.close();
    await t.close();
  }
});

test('an ejection of an unknown instance, with a bad time, reason or body is refused naming every problem, counted, and pushes nothing', async () => {
  const t = await startTestControl();
  const m = await paymentsAndWeb(t);
  const op = t.operator();
  try {
    const before = t.cp.status().version;
    const problems = async (instance: string, body: unknown) => {
      const r = await op.request('PUT', `/v1/ejections/${instance}`, body as object);
      assert.equal(r.status, 400);
      const b = r.json<{ code: string; problems: string[] }>();
      assert.equal(b.code, 'MESH_ERR_BAD_EJECTION');
      return b.problems;
    };
    assert.deepEqual(await problems('payments-1', { seconds: 0, reason: '', extra: 1 }), [
      'body: unknown field "extra" (only "seconds", "reason")',
      'seconds: must be a number in (0, 86400], got 0',
      'reason: must be 1-256 characters without control characters',
    ]);
    assert.deepEqual(await problems('ghost-1', { seconds: 5, reason: 'slow' }), ['instance: "ghost-1" is not an endpoint of any registered service']);
    assert.deepEqual(await problems('web-1', { seconds: 5, reason: 'slow' }), ['instance: "web-1" is not an endpoint of any registered service'], 'an outbound-only sidecar is no endpoint');
    assert.deepEqual(await problems('payments-1', { seconds: 86_401, reason: 'a\nb' }), [
      'seconds: must be a number in (0, 86400], got 86401',
      'reason: must be 1-256 characters without control characters',
    ]);
    assert.deepEqual(await problems('payments-1', [30]), ['body: must be {"seconds": <number>, "reason": "<text>"}']);
    assert.match((await problems('payments-1', '{not json'))[0], /^body is not JSON: /);
    assert.equal((await op.request('POST', '/v1/ejections')).status, 405);
    assert.equal((await op.request('GET', '/v1/ejections/payments-1')).status, 405);

    assert.throws(() => t.cp.eject('ghost-1', Date.now() + 1_000, 'slow'),
      (e: unknown) => e instanceof EjectionError && e.message === 'ejection of "ghost-1": instance: "ghost-1" is not an endpoint of any registered service');
    assert.throws(() => t.cp.eject('payments-1', Date.now() - 1, 'slow'), (e: unknown) => e instanceof EjectionError && /^until: must be epoch ms after now/.test(e.problems[0]));

    const st = t.cp.status();
    assert.deepEqual([st.ejections, st.refused_changes.ejections], [[], 8]);
    assert.equal(st.version, before, 'a refused ejection pushes nothing');
  } finally {
    m.close();
    await t.close();
  }
});
