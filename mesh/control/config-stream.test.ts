import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startControlPlane, type ConfigSnapshot } from './index.ts';

/** Opens a config stream like a sidecar and collects the snapshots it receives. */
function openStream(base: string, query: string) {
  const snapshots: ConfigSnapshot[] = [];
  const waiters: (() => void)[] = [];
  let buf = '';
  const req = http.get(`${base}/v1/config/stream?${query}`, (res) => {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        snapshots.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        waiters.splice(0).forEach((w) => w());
      }
    });
  });
  req.on('error', () => {});
  const next = (pred: (s: ConfigSnapshot) => boolean) => new Promise<ConfigSnapshot>((resolve) => {
    const check = () => {
      const s = snapshots.find(pred);
      if (s) resolve(s); else waiters.push(check);
    };
    check();
  });
  return { snapshots, next, close: () => req.destroy() };
}

async function post(url: string, body: unknown) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, text: await res.text() };
}

test('pushes every sidecar a new snapshot when an instance registers, and deregisters it when its stream closes', async () => {
  const cp = await startControlPlane();
  try {
    const cart = openStream(cp.url, 'proxy=cart-1&service=cart&instance=cart-1&inbound=127.0.0.1:9001');
    const first = await cart.next((s) => s.clusters.some((c) => c.service === 'cart'));
    assert.deepEqual(first.clusters.map((c) => c.service), ['cart']);
    assert.equal(first.proxy, 'cart-1');

    const web = openStream(cp.url, 'proxy=web-1&service=web&inbound=127.0.0.1:9002');
    const both = await cart.next((s) => s.clusters.length === 2);
    assert.ok(both.version > first.version, 'versions only grow');
    assert.deepEqual(both.routes.map((r) => r.authority), ['cart', 'web']);
    assert.deepEqual(both.clusters.find((c) => c.service === 'web')!.endpoints, [{ instance: 'web-1', addr: '127.0.0.1', port: 9002 }]);

    web.close();
    const after = await cart.next((s) => s.version > both.version && s.clusters.length === 1);
    assert.deepEqual(after.clusters.map((c) => c.service), ['cart']);
    assert.deepEqual(Object.keys(cp.status().services), ['cart']);
    cart.close();
  } finally {
    await cp.close();
  }
});

test('records ACKs and NACKs per proxy version and rejects a malformed ACK naming the fields', async () => {
  const cp = await startControlPlane();
  try {
    const s = openStream(cp.url, 'proxy=pay-1&service=payments&inbound=127.0.0.1:9003');
    const snap = await s.next(() => true);
    assert.equal((await post(`${cp.url}/v1/config/ack`, { proxy: 'pay-1', version: snap.version, ok: true })).status, 204);
    assert.equal(cp.status().proxies[0].acked_version, snap.version);

    assert.equal((await post(`${cp.url}/v1/config/ack`, { proxy: 'pay-1', version: snap.version + 1, ok: false, error: 'routes[0]: no backends' })).status, 204);
    assert.deepEqual(cp.status().proxies[0].nack, { version: snap.version + 1, error: 'routes[0]: no backends' });

    const bad = await post(`${cp.url}/v1/config/ack`, { proxy: 'pay-1', version: 'x' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /version: number/);
    s.close();
  } finally {
    await cp.close();
  }
});

test('rejects a config stream request with a bad proxy name or inbound address, naming both', async () => {
  const cp = await startControlPlane();
  try {
    const res = await fetch(`${cp.url}/v1/config/stream?proxy=a%20b&service=web&inbound=nowhere`);
    assert.equal(res.status, 400);
    const body = await res.json() as { code: string; message: string };
    assert.equal(body.code, 'MESH_ERR_BAD_STREAM_REQUEST');
    assert.match(body.message, /proxy:/);
    assert.match(body.message, /inbound: "nowhere"/);
    assert.equal(cp.status().proxies.length, 0);
  } finally {
    await cp.close();
  }
});
