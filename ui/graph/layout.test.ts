import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXTERNAL_SERVICE, type ServiceEdge, type ServiceGraph, type ServiceNode } from '../../ingest/index.ts';
import {
  DEFAULT_LAYOUT, EXTERNAL, arrowSize, edgeWidth, formatClock, formatErrorRate, formatLatency, formatRps,
  HEALTH_COLORS, healthLevel, layerServices, layoutGraph, type GraphLayout,
} from './index.ts';

function stats(requests: number, errors: number, windowS = 60) {
  return { rps: requests / windowS, requests, errors, error_rate: requests ? errors / requests : 0, p50_ms: 4, p99_ms: 40 };
}
const node = (service: string, requests = 600, errors = 0): ServiceNode => ({ service, ...stats(requests, errors) });
const edge = (src: string, dst: string, requests = 600, errors = 0): ServiceEdge => ({ src, dst, ...stats(requests, errors) });

/** The demo shop: external → web → catalog/cart → payments/inventory. */
function shop(): ServiceGraph {
  return {
    window_s: 60, until: 1_700_000_000_000,
    nodes: ['web', 'catalog', 'cart', 'payments', 'inventory'].map((s) => node(s)),
    edges: [
      edge('external', 'web', 1200),
      edge('web', 'catalog', 900),
      edge('web', 'cart', 300, 6),
      edge('cart', 'payments', 120, 12),
      edge('catalog', 'inventory', 900),
      edge('cart', 'inventory', 60),
    ],
  };
}

const positions = (l: GraphLayout) => Object.fromEntries(l.nodes.map((n) => [n.service, [n.x, n.y]]));

test('places the shop in four layers left to right: external, web, catalog/cart, payments/inventory', () => {
  const layout = layoutGraph(shop());
  const layer = Object.fromEntries(layout.nodes.map((n) => [n.service, n.layer]));
  assert.deepEqual(layer, { external: 0, web: 1, cart: 2, catalog: 2, inventory: 3, payments: 3 });
  const x = Object.fromEntries(layout.nodes.map((n) => [n.service, n.x]));
  assert.ok(x.external < x.web && x.web < x.cart && x.cart === x.catalog && x.catalog < x.payments);
  assert.equal(x.payments, x.inventory);
  assert.ok(layout.edges.every((e) => !e.back), 'every edge of an acyclic graph points right');
});

test('orders a layer so edges do not cross: cart above catalog because cart calls payments, which sorts above inventory', () => {
  const { layers } = layerServices([], shop().edges);
  assert.deepEqual(layers, [['external'], ['web'], ['cart', 'catalog'], ['payments', 'inventory']]);
});

test('keeps every position when input order is shuffled and traffic numbers change', () => {
  const a = shop();
  const b: ServiceGraph = {
    ...a,
    nodes: [...a.nodes].reverse().map((n) => ({ ...n, ...stats(n.requests * 3, 50) })),
    edges: [...a.edges].reverse().map((e) => ({ ...e, ...stats(e.requests + 7, 1) })),
  };
  assert.deepEqual(positions(layoutGraph(b)), positions(layoutGraph(a)));
});

test('adds services known only from edges, such as external, with zero own stats and their outgoing rps', () => {
  const layout = layoutGraph(shop());
  const ext = layout.nodes.find((n) => n.service === 'external')!;
  assert.equal(ext.requests, 0);
  assert.equal(ext.health, 'idle');
  assert.equal(ext.out_rps, 20);
});

test('puts external at the left even when it also receives egress calls, and draws those as loops', () => {
  const g = shop();
  g.edges.push(edge('payments', 'external', 60));
  const layout = layoutGraph(g);
  assert.equal(layout.nodes.find((n) => n.service === 'external')!.layer, 0);
  assert.equal(layout.edges.find((e) => e.src === 'payments' && e.dst === 'external')!.back, true);
});

test('breaks a call cycle with one back edge and still layers the rest by longest path', () => {
  const g: ServiceGraph = {
    window_s: 60, until: 0, nodes: [],
    edges: [edge('external', 'a'), edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('b', 'b')],
  };
  const { layerOf, backEdges } = layerServices([], g.edges);
  assert.deepEqual(Object.fromEntries(layerOf), { external: 0, a: 1, b: 2, c: 3 });
  assert.deepEqual([...backEdges].sort(), ['b\u2192b', 'c\u2192a']);
  const layout = layoutGraph(g);
  assert.deepEqual(layout.edges.filter((e) => e.back).map((e) => `${e.src}>${e.dst}`), ['b>b', 'c>a']);
  assert.ok(layout.height > 2 * DEFAULT_LAYOUT.padding + DEFAULT_LAYOUT.nodeHeight, 'room below the boxes for loops');
});

test('a call that skips a layer passes that layer through a free slot, not through a box', () => {
  const g = shop();
  g.edges.push(edge('web', 'inventory', 120));
  const { layers, layerOf, waypoints } = layerServices([], g.edges);
  const via = waypoints.get('web\u2192inventory')!;
  assert.equal(via.length, 1);
  assert.ok(layers[2].includes(via[0]) && !layerOf.has(via[0]));
  assert.equal(waypoints.size, 1, 'one-layer edges need no waypoints');

  const layout = layoutGraph(g);
  const e = layout.edges.find((x) => x.src === 'web' && x.dst === 'inventory')!;
  const straight = /L(-?[\d.]+),(-?[\d.]+) C/.exec(e.path);
  assert.ok(straight, `a straight stretch through the middle layer in ${e.path}`);
  const y = Number(straight[2]);
  for (const n of layout.nodes.filter((x) => x.layer === 2)) {
    assert.ok(y < n.y || y > n.y + n.height, `passes clear of ${n.service}`);
  }
  assert.equal(e.labelY, y, 'the label sits on the free stretch');
  assert.equal(layout.nodes.length, 6, 'waypoints are not drawn as services');
});

test('sizes the canvas to hold every box', () => {
  const layout = layoutGraph(shop());
  for (const n of layout.nodes) {
    assert.ok(n.x >= 0 && n.y >= 0 && n.x + n.width <= layout.width && n.y + n.height <= layout.height, n.service);
  }
  assert.equal(layout.width, 2 * 24 + 4 * 190 + 3 * 130);
});

test('an empty graph lays out to nothing', () => {
  const layout = layoutGraph({ window_s: 60, until: 5, nodes: [], edges: [] });
  assert.deepEqual(layout, { width: 0, height: 0, window_s: 60, until: 5, nodes: [], edges: [] });
});

const numbers = (d: string): number[] => d.match(/-?\d+(\.\d+)?/g)!.map(Number);

test('edges start at the caller box right side and their arrowhead tip touches the callee box left side', () => {
  const layout = layoutGraph(shop());
  const web = layout.nodes.find((n) => n.service === 'web')!;
  const cart = layout.nodes.find((n) => n.service === 'cart')!;
  const e = layout.edges.find((x) => x.src === 'web' && x.dst === 'cart')!;
  const line = numbers(e.path);
  assert.equal(line[0], web.x + web.width);
  assert.ok(line[1] > web.y && line[1] < web.y + web.height);
  const [tipX, tipY, baseX] = numbers(e.arrow);
  assert.equal(tipX, cart.x);
  assert.ok(tipY > cart.y && tipY < cart.y + cart.height);
  assert.equal(line[6], baseX, 'the line ends where the arrowhead begins');
  assert.equal(baseX, cart.x - arrowSize(e.width).length);
});

test('two calls from one caller leave its box at different heights, the upper callee from the upper port', () => {
  const layout = layoutGraph(shop());
  const startY = (dst: string) => numbers(layout.edges.find((e) => e.src === 'web' && e.dst === dst)!.path)[1];
  assert.ok(startY('cart') < startY('catalog'));
});

test('edge width grows with rps, busiest edge widest, idle edges thinnest', () => {
  const layout = layoutGraph(shop());
  const w = Object.fromEntries(layout.edges.map((e) => [`${e.src}>${e.dst}`, e.width]));
  assert.equal(w['external>web'], DEFAULT_LAYOUT.maxEdgeWidth);
  assert.ok(w['web>catalog'] > w['web>cart'] && w['web>cart'] > w['cart>inventory']);
  assert.equal(edgeWidth(0, 20), DEFAULT_LAYOUT.minEdgeWidth);
  assert.equal(edgeWidth(5, 0), DEFAULT_LAYOUT.minEdgeWidth);
  assert.equal(edgeWidth(5, 20), 1.5 + 8.5 * 0.5);
});

test('colours by error rate: under 1% ok, 1% to 5% warn, 5% and above error, no requests idle', () => {
  assert.equal(healthLevel({ requests: 0, error_rate: 0 }), 'idle');
  assert.equal(healthLevel({ requests: 100, error_rate: 0.0099 }), 'ok');
  assert.equal(healthLevel({ requests: 100, error_rate: 0.01 }), 'warn');
  assert.equal(healthLevel({ requests: 100, error_rate: 0.05 }), 'error');
  const layout = layoutGraph(shop());
  const c = Object.fromEntries(layout.edges.map((e) => [`${e.src}>${e.dst}`, e.color]));
  assert.equal(c['web>catalog'], HEALTH_COLORS.ok);
  assert.equal(c['web>cart'], HEALTH_COLORS.warn); // 2%
  assert.equal(c['cart>payments'], HEALTH_COLORS.error); // 10%
});

test('the layout module names external the same way ingest does', () => {
  assert.equal(EXTERNAL, EXTERNAL_SERVICE);
});

test('formats rps with one decimal and a unit: 123.4/s, 1.2k/s, <0.1/s, 0/s', () => {
  assert.equal(formatRps(123.44), '123.4/s');
  assert.equal(formatRps(20), '20/s');
  assert.equal(formatRps(1234), '1.2k/s');
  assert.equal(formatRps(0.04), '<0.1/s');
  assert.equal(formatRps(0), '0/s');
  assert.equal(formatRps(Number.NaN), '0/s');
});

test('formats latency in ms, with a decimal under 10 ms and seconds from 1 s', () => {
  assert.equal(formatLatency(12.4), '12 ms');
  assert.equal(formatLatency(2.46), '2.5 ms');
  assert.equal(formatLatency(0), '0 ms');
  assert.equal(formatLatency(1234), '1.23 s');
});

test('formats error rate fractions as percent: 0.012 → 1.2%', () => {
  assert.equal(formatErrorRate(0.012), '1.2%');
  assert.equal(formatErrorRate(0), '0%');
  assert.equal(formatErrorRate(0.0004), '<0.1%');
  assert.equal(formatErrorRate(1), '100%');
  assert.equal(formatClock(Date.UTC(2026, 0, 2, 3, 4, 5)), '03:04:05');
});
