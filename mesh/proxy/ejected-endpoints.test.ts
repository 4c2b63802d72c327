import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSmallMesh, until, type Caller } from './testing/small-mesh.ts';

/** The instance (its workload's answer) each of n calls to payments reached, tallied. */
async function tally(web: Caller, n: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await web.call('payments');
    const who = r.status === 200 ? r.body : `${r.status} ${r.headers['x-meshlens-error']}`;
    out[who] = (out[who] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

async function paymentsTwice(t: { after(fn: () => Promise<void>): void }) {
  const mesh = await startSmallMesh(t);
  await mesh.instance('payments', 'payments-1');
  await mesh.instance('payments', 'payments-2');
  const web = await mesh.caller('web', 'web-1');
  await mesh.settled();
  return { mesh, web };
}

test('an ejected instance gets no request from its callers until its time ends, then gets its share again', async (t) => {
  const { mesh, web } = await paymentsTwice(t);
  assert.deepEqual(await tally(web, 4), { 'payments-1': 2, 'payments-2': 2 });

  const ejectedUntil = Date.now() + 3_000;
  const { version } = mesh.control.cp.eject('payments-2', ejectedUntil, 'p99 5x its peers');
  await mesh.applied(version);
  assert.deepEqual(await tally(web, 6), { 'payments-1': 6 });
  assert.equal(web.sidecar.stats().config.version, version, 'those calls were made while payments-2 was ejected');
  assert.ok(mesh.control.cp.status().proxies.find((p) => p.proxy === 'payments-2')!.connected, 'its sidecar stays connected');

  // Nobody lifts it: the control plane pushes a new version at `until`.
  await until(() => web.sidecar.stats().config.version > version);
  assert.ok(Date.now() >= ejectedUntil);
  assert.deepEqual(await tally(web, 4), { 'payments-1': 2, 'payments-2': 2 });
});

test('ejecting every instance of a service leaves the one ejected last serving its callers', async (t) => {
  const { mesh, web } = await paymentsTwice(t);
  const cp = mesh.control.cp;
  cp.eject('payments-1', Date.now() + 60_000, 'slow');
  await mesh.applied(cp.eject('payments-2', Date.now() + 60_000, 'slow too').version);
  assert.deepEqual(await tally(web, 4), { 'payments-2': 4 });
  assert.deepEqual(cp.status().ejections.map((e) => e.instance), ['payments-1', 'payments-2'], 'both stay ejected in status');

  await mesh.applied(cp.lift('payments-1')!.version);
  assert.deepEqual(await tally(web, 4), { 'payments-1': 4 }, 'lifted, payments-1 takes over from the still-ejected payments-2');
});
