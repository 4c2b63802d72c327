// DemoMesh.scale, as the tuning engine's scale action drives it locally:
// instances come and go in the control plane's registry while the shop keeps
// answering.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { quietTopology, ScaleError, sendExactly } from '../demo/index.ts';
import { eventually, sidecarFinalStats, withDemoMesh } from './stack.ts';

const topology = quietTopology().map((s) => (s.name === 'catalog' ? { ...s, versions: ['v1', 'v1'] } : s));

test('scaling catalog 2 → 3 → 1 registers and unregisters its instances, draining the leaving ones, while every request through web is answered 200', { timeout: 180_000 }, () =>
  withDemoMesh('scale', [], { topology }, async ({ core, mesh, lines }) => {
    const registered = () => (core.control.registry.services().get('catalog') ?? []).map((e) => `${e.instance} ${e.labels?.version}`);
    assert.deepEqual(registered(), ['catalog-1 v1', 'catalog-2 v1']);
    assert.equal(mesh.replicas('catalog'), 2);

    // Front-door traffic all along: rounds of 20 requests, 4 at a time.
    const statuses = new Map<number, number>();
    let sent = 0;
    let stop = false;
    const traffic = (async () => {
      while (!stop) {
        for (const [s, n] of await sendExactly(mesh.ingressUrl, 20, 4)) statuses.set(s, (statuses.get(s) ?? 0) + n);
        sent += 20;
      }
    })();
    const inboundTaps = (proxy: string) => core.store.countTaps({ kind: 'l7.request', proxy, direction: 'inbound' });

    assert.deepEqual(await mesh.scale('catalog', 3), { before: 2, after: 3, instances: ['catalog-1', 'catalog-2', 'catalog-3'] });
    assert.deepEqual(registered(), ['catalog-1 v1', 'catalog-2 v1', 'catalog-3 v1']);
    assert.equal(mesh.replicas('catalog'), 3);
    assert.ok(mesh.instanceListeners.has('catalog-3'));
    await eventually('catalog-3 serves its share of web\'s calls', async () => await inboundTaps('catalog-3') > 0, 60_000);

    assert.deepEqual(await mesh.scale('catalog', 1), { before: 3, after: 1, instances: ['catalog-1'] });
    assert.deepEqual(registered(), ['catalog-1 v1']);
    assert.deepEqual([...mesh.sidecars.keys()].filter((k) => k.startsWith('catalog')), ['catalog-1']);
    assert.ok(!mesh.instanceListeners.has('catalog-2') && !mesh.instanceListeners.has('catalog-3'));
    assert.deepEqual(core.control.status().ejections, [], 'the drain\'s ejections are lifted once the instances are gone');
    const at = sent;
    await eventually('100 more requests after the scale-down', () => sent >= at + 100, 60_000);
    stop = true;
    await traffic;

    // A new instance is registered only once its workload listens, and a leaving one is drained
    // (ejected, every sidecar ACKed) before its SIGTERM: no call meets a missing listener.
    console.log(`front door during 2 → 3 → 1: ${sent} sent, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.deepEqual(Object.fromEntries(statuses), { 200: sent }, 'every request was answered, and answered 200');

    // The stopped sidecars flushed their taps on the way out.
    const final = sidecarFinalStats(lines);
    for (const id of ['catalog-2', 'catalog-3']) {
      const t = final.get(id)?.taps;
      assert.ok(t && t.acked === t.emitted && t.dropped + t.rejected + t.abandoned === 0, `${id} stopped having lost nothing: ${JSON.stringify(t)}`);
    }

    for (const [service, n] of [['catalog', 0], ['catalog', 9], ['catalog', 2.5], ['billing', 2]] as const) {
      await assert.rejects(mesh.scale(service, n), (e: Error) => e instanceof ScaleError && (e as ScaleError).code === 'DEMO_ERR_SCALE' && e.message.includes(service), `${service} to ${n}`);
    }
    assert.equal(mesh.replicas('catalog'), 1, 'a refused scale changes nothing');
  }));

test('with a namespace per service, a new instance runs in its service\'s namespace on new ports, and leaves it again', {
  skip: process.getuid?.() !== 0 ? 'network namespaces need root' : false, timeout: 180_000,
}, () =>
  withDemoMesh('scale-netns', [], { netns: true }, async ({ core, mesh, network }) => {
    const ns = network!.hosts.get('catalog')!;
    assert.deepEqual(await mesh.scale('catalog', 2), { before: 1, after: 2, instances: ['catalog-1', 'catalog-2'] });
    const [one, two] = [mesh.instanceListeners.get('catalog-1')!, mesh.instanceListeners.get('catalog-2')!];
    assert.equal(two.netns, ns.netns);
    assert.equal(two.inbound.split(':')[0], ns.address);
    assert.notEqual(two.inbound, one.inbound);
    assert.notEqual(two.app, one.app);
    const eps = core.control.status().services.catalog.map((e) => `${e.instance} ${e.addr}:${e.port}`);
    assert.deepEqual(eps, [`catalog-1 ${one.inbound}`, `catalog-2 ${two.inbound}`]);
    assert.deepEqual([...await sendExactly(mesh.ingressUrl, 100, 8)], [[200, 100]]);
    await eventually('catalog-2 served some', async () => await core.store.countTaps({ kind: 'l7.request', proxy: 'catalog-2', direction: 'inbound' }) > 0);
    assert.deepEqual(await mesh.scale('catalog', 1), { before: 2, after: 1, instances: ['catalog-1'] });
    assert.deepEqual(core.control.status().services.catalog.map((e) => e.instance), ['catalog-1']);
    assert.deepEqual([...await sendExactly(mesh.ingressUrl, 40, 8)], [[200, 40]]);
  }));
