// Sample traffic for UI tests: the demo shop (external → web → catalog/cart →
// payments/inventory) as real sealed tap batches, one per sidecar, with both
// sides of every call recorded the way sidecars do (outbound at the caller,
// inbound at the callee; 'external' has no sidecar, so calls from or to it
// are recorded on the mesh side only).

import {
  EXTERNAL_SERVICE, GENESIS_HASH, sealBatch, validateTap, type L7RequestTap, type TapBatch,
} from '../../ingest/index.ts';

export interface ShopCall {
  src: string;
  dst: string;
  method: string;
  path: string;
  /** Requests to spread over the last `seconds`. */
  count: number;
  /** Every n-th request fails with status 503; 0 = never. */
  failEvery: number;
  /** Every n-th request is denied by the callee's policy (403, decision deny at the callee); absent = never. */
  denyEvery?: number;
  /** The data-plane decisions (tap `flags`, e.g. "retried,retry_budget_exhausted") on the caller's tap of each failed request; absent = none. */
  failFlags?: string;
  latencyMs: number;
}

export const SHOP_CALLS: readonly ShopCall[] = [
  { src: EXTERNAL_SERVICE, dst: 'web', method: 'GET', path: '/', count: 300, failEvery: 0, denyEvery: 100, latencyMs: 38 },
  { src: 'web', dst: 'catalog', method: 'GET', path: '/products/{id}', count: 240, failEvery: 0, latencyMs: 12 },
  { src: 'web', dst: 'cart', method: 'POST', path: '/cart/items', count: 100, failEvery: 40, latencyMs: 20 },
  { src: 'cart', dst: 'payments', method: 'POST', path: '/charge', count: 40, failEvery: 8, latencyMs: 95 },
  { src: 'catalog', dst: 'inventory', method: 'GET', path: '/stock/{sku}', count: 240, failEvery: 0, latencyMs: 4 },
  { src: 'cart', dst: 'inventory', method: 'GET', path: '/stock/{sku}', count: 30, failEvery: 0, latencyMs: 5 },
];

const PORTS: Record<string, number> = { web: 8080, catalog: 8081, cart: 8082, payments: 8083, inventory: 8084 };

/** One sealed batch per sidecar holding every tap it would have recorded over the last `seconds` before `now`. */
export function shopTrafficBatches(opts: { now: number; seconds?: number; stream?: string; calls?: readonly ShopCall[] }): TapBatch[] {
  const seconds = opts.seconds ?? 40;
  const byProxy = new Map<string, L7RequestTap[]>();
  const emit = (proxy: string, tap: Omit<L7RequestTap, 'proxy' | 'seq'>): void => {
    const list = byProxy.get(proxy) ?? [];
    byProxy.set(proxy, list);
    list.push({ ...tap, proxy, seq: 0 } as L7RequestTap);
  };
  for (const call of opts.calls ?? SHOP_CALLS) {
    for (let i = 0; i < call.count; i++) {
      const ts = Math.floor(opts.now - seconds * 1000 + ((i + 0.5) * seconds * 1000) / call.count);
      const failed = call.failEvery > 0 && i % call.failEvery === call.failEvery - 1;
      const denied = (call.denyEvery ?? 0) > 0 && i % call.denyEvery! === call.denyEvery! - 1;
      const latency = call.latencyMs * (0.6 + ((i * 37) % 100) / 100);
      const base = {
        v: 1 as const, kind: 'l7.request' as const, ts, conn_id: `${call.src}-${call.dst}-${i % 4}`,
        src_service: call.src, src_instance: `${call.src}-1`, src_addr: '127.0.0.1', src_port: 40000 + (i % 1000),
        dst_service: call.dst, dst_instance: `${call.dst}-1`, dst_addr: '127.0.0.1', dst_port: PORTS[call.dst] ?? 9000,
        method: call.method, authority: call.dst, path: call.path, status: denied ? 403 : failed ? 503 : 200,
        latency_ms: Math.round(latency * 10) / 10, req_bytes: call.method === 'POST' ? 120 : 0, resp_bytes: 900,
        upstream: `127.0.0.1:${PORTS[call.dst] ?? 9000}`, retries: 0, trace_id: (ts * 1000 + i).toString(16).padStart(32, '0'),
      };
      if (call.src !== EXTERNAL_SERVICE) emit(`${call.src}-1`, { ...base, direction: 'outbound', ...(failed && call.failFlags ? { flags: call.failFlags } : {}) });
      const decision = denied ? { decision: 'deny' as const, decision_reason: 'test: anonymous callers may not do this', error: 'MESH_ERR_POLICY_DENIED' } : {};
      if (call.dst !== EXTERNAL_SERVICE) emit(`${call.dst}-1`, { ...base, direction: 'inbound', ...decision });
    }
  }
  const stream = opts.stream ?? 'ui-test';
  return [...byProxy.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([proxy, taps]) => {
    taps.sort((a, b) => a.ts - b.ts);
    const events = taps.map((t, seq) => ({ ...t, seq }));
    for (const e of events) {
      const problems = validateTap(e);
      if (problems.length) throw new Error(`shop traffic: tap ${proxy}#${e.seq} invalid: ${problems.join('; ')}`);
    }
    return sealBatch({ proxy, stream, batch: 0, first_seq: 0, lost: 0, events, prev_hash: GENESIS_HASH });
  });
}
