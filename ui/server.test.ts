// The UI server against a real chdb store holding real sealed batches of the
// demo shop's traffic. One store per file: chdb allows one data directory per process.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, type ServiceGraph, type TapStore } from '../ingest/index.ts';
import { startUi, type RunningUi } from './index.ts';
import { shopTrafficBatches } from './testing/shop-traffic.ts';

let dir: string;
let store: TapStore;
let ui: RunningUi;
const controlStatus = { version: 7, sidecars: 5, healthy: 5 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'meshlens-ui-server-'));
  store = createChdbStore({ dataDir: join(dir, 'chdb') });
  await store.init();
  for (const b of shopTrafficBatches({ now: Date.now() - 1000 })) await store.writeBatch(b);
  ui = await startUi({ store, port: 0, control: { status: () => controlStatus }, log: () => {} });
});

after(async () => {
  await ui?.close();
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The operator's credentials, as a script would send them (the browser's cookie is ui/browser.test.ts's). */
const auth = () => ({ authorization: `Bearer ${ui.token}` });

async function get(path: string): Promise<{ status: number; type: string; body: any; text: string }> {
  const res = await fetch(ui.url + path, { headers: auth() });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, type, text, body: type.includes('json') ? JSON.parse(text) : undefined };
}

test('GET /api/graph returns every shop service and call with non-zero rps', async () => {
  const { status, body } = await get('/api/graph?window=60');
  assert.equal(status, 200);
  const g = body as ServiceGraph;
  assert.equal(g.window_s, 60);
  const edges = Object.fromEntries(g.edges.map((e) => [`${e.src}>${e.dst}`, e]));
  assert.deepEqual(Object.keys(edges).sort(),
    ['cart>inventory', 'cart>payments', 'catalog>inventory', 'external>web', 'web>cart', 'web>catalog']);
  assert.equal(edges['external>web'].requests, 300);
  assert.equal(edges['cart>payments'].errors, 5);
  for (const e of g.edges) assert.ok(e.rps > 0, `${e.src}>${e.dst} rps`);
  for (const s of ['web', 'catalog', 'cart', 'payments', 'inventory']) {
    assert.ok(g.nodes.find((n) => n.service === s)!.rps > 0, `${s} rps`);
  }
});

test('GET /api/graph without a window uses 60 seconds', async () => {
  const { status, body } = await get('/api/graph');
  assert.equal(status, 200);
  assert.equal(body.window_s, 60);
});

test('a bad window gets 400 with a JSON error naming the window parameter', async () => {
  for (const bad of ['abc', '5', '3601', '10.5', '-60']) {
    const { status, body } = await get(`/api/graph?window=${bad}`);
    assert.equal(status, 400, bad);
    assert.equal(body.code, 'UI_ERR_BAD_PARAM');
    assert.match(body.message, /\bwindow\b.*10\.\.3600/);
  }
  const twice = await get('/api/graph?window=60&window=120');
  assert.equal(twice.status, 400);
  assert.match(twice.body.message, /window/);
});

test('GET /api/taps returns the newest taps first, filtered by kind, direction and limit', async () => {
  const { status, body } = await get('/api/taps?limit=5&kind=l7.request&direction=inbound');
  assert.equal(status, 200);
  assert.equal(body.limit, 5);
  assert.equal(body.taps.length, 5);
  const ts = body.taps.map((t: any) => t.ts);
  assert.deepEqual(ts, [...ts].sort((a: number, b: number) => b - a));
  assert.ok(body.taps.every((t: any) => t.kind === 'l7.request' && t.direction === 'inbound'));
});

test('GET /api/taps?service= returns taps where the service called or was called', async () => {
  const { body } = await get('/api/taps?service=payments&limit=1000');
  // cart → payments: 40 calls, each recorded outbound at cart and inbound at payments.
  assert.equal(body.taps.length, 80);
  assert.ok(body.taps.every((t: any) => t.src_service === 'payments' || t.dst_service === 'payments'));
  const ts = body.taps.map((t: any) => t.ts);
  assert.deepEqual(ts, [...ts].sort((a: number, b: number) => b - a));
});

test('bad tap query parameters get 400 naming the parameter', async () => {
  for (const [q, name] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['kind=l9.magic', 'kind'], ['direction=sideways', 'direction'], ['decision=maybe', 'decision']]) {
    const { status, body } = await get(`/api/taps?${q}`);
    assert.equal(status, 400, q);
    assert.equal(body.code, 'UI_ERR_BAD_PARAM');
    assert.match(body.message, new RegExp(`parameter ${name}\\b`));
  }
});

test('GET /api/status reports the control plane status and UI uptime and counts bad requests', async () => {
  const { status, body } = await get('/api/status');
  assert.equal(status, 200);
  assert.deepEqual(body.control, controlStatus);
  assert.equal(typeof body.ui.uptime_s, 'number');
  assert.ok(body.ui.bad_requests >= 1, 'earlier 400s were counted');
});

test('an unknown API route is a JSON 404', async () => {
  const { status, body } = await get('/api/nope');
  assert.equal(status, 404);
  assert.deepEqual(body, { code: 'UI_ERR_NOT_FOUND', message: 'no API route GET /api/nope' });
});

/** Reads an event stream until the first event named `name`, then hangs up. */
function firstEvent(path: string, name: string): Promise<{ data: any; contentType: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(ui.url + path, { headers: auth() }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        const m = new RegExp(`event: ${name}\n(?:id: \\d+\n)?data: (.*)\n\n`).exec(buf);
        if (m) {
          req.destroy();
          resolve({ data: JSON.parse(m[1]), contentType: String(res.headers['content-type']) });
        }
      });
      res.on('end', () => reject(new Error(`stream ended before a ${name} event: ${buf}`)));
    });
    req.on('error', (e) => { if (!req.destroyed) reject(e); });
  });
}

test('GET /api/events sends a graph event with the shop edges', async () => {
  const { data, contentType } = await firstEvent('/api/events?window=60', 'graph');
  assert.match(contentType, /text\/event-stream/);
  const graph = data as ServiceGraph;
  assert.equal(graph.window_s, 60);
  assert.ok(graph.edges.some((e) => e.src === 'web' && e.dst === 'catalog' && e.rps > 0));
});

test('GET /api/events with a bad window gets a JSON 400, not a stream', async () => {
  const { status, type, body } = await get('/api/events?window=1');
  assert.equal(status, 400);
  assert.match(type, /json/);
  assert.match(body.message, /window/);
});

test('serves the page, d3 and the bundled layout module', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.text, /<svg id="service-graph"/);
  assert.match(page.text, /<title>meshlens<\/title>/);
  const d3 = await get('/vendor/d3.min.js');
  assert.equal(d3.status, 200);
  assert.match(d3.text, /d3js\.org/);
  const graph = await get('/graph.js');
  assert.equal(graph.status, 200);
  assert.match(graph.type, /javascript/);
  assert.match(graph.text, /export\s*\{[^}]*layoutGraph/);
  assert.doesNotMatch(graph.text, /node:|require\(/, 'the browser bundle holds no Node code');
});

test('startUi refuses bad options, naming every problem at once', async () => {
  await assert.rejects(
    startUi({ store, port: 70000, eventIntervalMs: 5, control: {} as never }),
    /port: must be an integer in 0\.\.65535, got 70000; eventIntervalMs: must be an integer >= 100, got 5; control: must have a status\(\) method/);
});

test('startUi on a port already in use rejects naming host and port', async () => {
  const port = Number(new URL(ui.url).port);
  await assert.rejects(startUi({ store, port, log: () => {} }), new RegExp(`ui: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
});

test('a store failure reaches API and event-stream clients with the store error code and is counted (runs last: closes the store)', async () => {
  await store.close();
  const { status, body } = await get('/api/graph');
  assert.equal(status, 503);
  assert.equal(body.code, 'INGEST_ERR_CLOSED');
  assert.match(body.message, /closed/);
  const failure = await firstEvent('/api/events', 'failure');
  assert.equal(failure.data.code, 'INGEST_ERR_CLOSED');
  const counted = await get('/api/status');
  assert.ok(counted.body.ui.store_errors >= 2, 'store failures are counted');
});
