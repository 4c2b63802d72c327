// node --import tsx bench/policy-replay.ts [--requests 1000000] [--store chdb|clickhouse] [--clickhouse-url URL] [--distinct-ids N] [--request-ids 1]
//
// Policy replay's rate: a day of demo-shop traffic (the demo's edges, paths
// with ids, a user-agent, the demo policy's recorded decisions) seeded into
// a fresh store, then a draft of the demo policy replayed over it, against
// the demo policy (both evaluated) and against the recorded decisions.
// Prints requests evaluated per second, and beside it the wasm policy's own
// rate on the same inputs without the store. Replay decides each distinct
// input once, so its rate follows how alike the requests are: --request-ids 1
// gives every request its own x-request-id (a header in the default policy
// and tap allow-lists), the worst case, where every request is decided.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createChdbStore, createClickHouseStore, type TapStore } from '../ingest/index.ts';
import { authzInput, DEFAULT_POLICY_HEADERS, loadAuthzPolicySource, replayPolicy } from '../policy/index.ts';
import { seedRequests, type SeedRequest } from '../policy/testing/replay-seed.ts';
import { startTestClickHouseServer } from '../peers/index.ts';
import { numberArg, stringArg } from './args.ts';

const EP = 'meshlens/authz/decision';
const N = numberArg('requests', 1_000_000);
const IDS = numberArg('distinct-ids', 50);
const STORE = stringArg('store', 'chdb');
const REQUEST_IDS = numberArg('request-ids', 0) === 1;
const DAY = 86_400_000;

const demo = readFileSync(new URL('../demo/policy/authz.rego', import.meta.url), 'utf8');
// The draft: catalog closes its admin paths, and the indexer may only read.
const draftRego = demo.replace('} else := {"allow": true, "reason": sprintf("%s may call %s", [src, dst])}', `} else := {"allow": false, "reason": "indexer may only read"} if {
	src == "indexer"
	input.request.method != "GET"
} else := {"allow": false, "reason": "admin paths are closed"} if {
	startswith(input.request.path, "/admin")
} else := {"allow": true, "reason": sprintf("%s may call %s", [src, dst])}`);

const EDGES: [string, string, string, () => string][] = [
  ['external', 'web', 'GET', () => '/'],
  ['external', 'web', 'POST', () => '/checkout'],
  ['web', 'catalog', 'GET', () => `/products/${Math.floor(Math.random() * IDS)}`],
  ['web', 'cart', 'POST', () => '/cart/items'],
  ['cart', 'payments', 'POST', () => '/charge'],
  ['cart', 'inventory', 'GET', () => `/stock/${Math.floor(Math.random() * IDS)}`],
  ['indexer', 'catalog', 'GET', () => `/products?page=${Math.floor(Math.random() * 10)}`],
  ['indexer', 'catalog', 'POST', () => '/admin/reindex'],
  ['web', 'payments', 'POST', () => '/charge'],
];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'meshlens-bench-replay-'));
  // Without --clickhouse-url, a clickhouse-server of its own (Debian's 18.16), as the store tests start one.
  const server = STORE === 'clickhouse' && !process.argv.includes('--clickhouse-url') ? await startTestClickHouseServer() : null;
  const store: TapStore = STORE === 'clickhouse'
    ? createClickHouseStore({ url: server?.url ?? stringArg('clickhouse-url', ''), database: `bench_replay_${process.pid}`, requestTimeoutMs: 600_000 })
    : createChdbStore({ dataDir: dir });
  await store.init();
  const current = await loadAuthzPolicySource({ files: { 'authz.rego': demo } }, EP);
  const draft = await loadAuthzPolicySource({ files: { 'authz.rego': draftRego } }, EP);
  const until = Date.now() - 60_000;
  const from = until - DAY;
  const step = DAY / N;
  const reqs: SeedRequest[] = [];
  let seeded = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const [src, dst, method, path] = EDGES[i % EDGES.length];
    const r: SeedRequest = { ts: Math.floor(from + i * step), src, dst, method, path: path(), headers: { 'user-agent': 'node', ...(REQUEST_IDS ? { 'x-request-id': `r${i}` } : {}) } };
    const d = current.decide(authzInput({ src_service: src, src_identity: src === 'external' ? '' : `spiffe://test.local/ns/default/sa/${src}`, dst_service: dst, method, target: r.path, headers: r.headers }, DEFAULT_POLICY_HEADERS));
    r.decision = d.allow ? 'allow' : 'deny';
    r.reason = d.reason;
    reqs.push(r);
    if (reqs.length === 100_000) { await seedRequests(store, reqs.splice(0), `s${seeded++}`); }
  }
  if (reqs.length) await seedRequests(store, reqs.splice(0), `s${seeded++}`);
  const seedS = (performance.now() - t0) / 1000;
  console.log(`seeded ${N} inbound requests over 24 h into ${STORE} in ${seedS.toFixed(1)} s${REQUEST_IDS ? ', each with its own x-request-id' : ''}`);

  for (const against of ['current', 'recorded'] as const) {
    let pages = 0;
    const r = await replayPolicy({ store, draft, current: against === 'current' ? current : null, from, until, onProgress: () => { pages++; } });
    console.log(`replay against ${against.padEnd(8)}: ${r.evaluated} requests in ${(r.elapsed_ms / 1000).toFixed(2)} s = ${r.rate_per_s} requests/s (${r.inputs} distinct inputs, ${pages - 1} slices); flips ${JSON.stringify(r.flips)}, groups ${r.groups.length}`);
  }

  // The floor: the same inputs decided by the two wasm policies alone, no store.
  const inputs = Array.from({ length: 100_000 }, (_, i) => {
    const [src, dst, method, path] = EDGES[i % EDGES.length];
    return authzInput({ src_service: src, src_identity: '', dst_service: dst, method, target: path(), headers: { 'user-agent': 'node' } }, DEFAULT_POLICY_HEADERS);
  });
  const e0 = performance.now();
  for (const x of inputs) { draft.decide(x); current.decide(x); }
  const evalRate = Math.round(inputs.length / ((performance.now() - e0) / 1000));
  console.log(`wasm alone (draft + current on each input, no store): ${evalRate} requests/s`);
  await store.close();
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
}

await main();
