// Recorded inbound requests for replay's tests and benchmark: each request
// an l7.request tap as the callee's sidecar (`<dst>-1`) records it, sealed
// into that sidecar's chain and written to a real store.

import { GENESIS_HASH, sealBatch, type L7RequestTap, type TapBatch, type TapStore } from '../../ingest/index.ts';

export interface SeedRequest {
  ts: number;
  src: string;
  dst: string;
  method: string;
  /** As the tap keeps it: the path, and allow-listed query keys. */
  path: string;
  headers?: Record<string, string>;
  decision?: 'allow' | 'deny' | 'none';
  reason?: string;
  direction?: 'inbound' | 'outbound';
}

/** Where each request landed: its proxy, stream and seq (the tap's id), in the order given. */
export interface SeededTap { proxy: string; stream: string; seq: number; ts: number }

export function inboundTap(r: SeedRequest, proxy: string, seq: number): L7RequestTap {
  const external = r.src === 'external';
  return {
    v: 1, kind: 'l7.request', proxy, seq, ts: r.ts, direction: r.direction ?? 'inbound', conn_id: `c${seq}`,
    src_service: r.src, src_instance: external ? '' : `${r.src}-1`, src_addr: '127.0.0.1', src_port: 40000 + (seq % 20000),
    dst_service: r.dst, dst_instance: `${r.dst}-1`, dst_addr: '127.0.0.1', dst_port: 8080,
    ...(external ? {} : { src_identity: `spiffe://test.local/ns/default/sa/${r.src}`, tls_version: 'TLSv1.3' }),
    method: r.method, authority: r.dst, path: r.path, status: r.decision === 'deny' ? 403 : 200, latency_ms: 3,
    req_bytes: 0, resp_bytes: 20, upstream: r.decision === 'deny' ? '' : '127.0.0.1:9000', retries: 0, trace_id: '',
    ...(r.headers ? { headers: r.headers } : {}),
    ...(r.decision ? { decision: r.decision, decision_reason: r.reason ?? '' } : {}),
  };
}

/** Writes the requests (in ts order per proxy), `perBatch` events a batch; returns each request's tap id. */
export async function seedRequests(store: TapStore, requests: readonly SeedRequest[], stream = 'replay', perBatch = 1000): Promise<SeededTap[]> {
  const byProxy = new Map<string, { seq: number; prev: string; batch: number; pending: L7RequestTap[] }>();
  const ids: SeededTap[] = [];
  const out: TapBatch[] = [];
  const flush = (proxy: string) => {
    const p = byProxy.get(proxy)!;
    if (!p.pending.length) return;
    const b = sealBatch({ proxy, stream, batch: p.batch++, first_seq: p.pending[0].seq, lost: 0, events: p.pending, prev_hash: p.prev });
    p.prev = b.hash;
    p.pending = [];
    out.push(b);
  };
  for (const r of requests) {
    const proxy = r.direction === 'outbound' ? `${r.src}-1` : `${r.dst}-1`;
    let p = byProxy.get(proxy);
    if (!p) byProxy.set(proxy, p = { seq: 0, prev: GENESIS_HASH, batch: 0, pending: [] });
    const seq = p.seq++;
    p.pending.push(inboundTap(r, proxy, seq));
    ids.push({ proxy, stream, seq, ts: r.ts });
    if (p.pending.length >= perBatch) flush(proxy);
    if (out.length >= 50) await store.writeBatches(out.splice(0));
  }
  for (const proxy of byProxy.keys()) flush(proxy);
  if (out.length) await store.writeBatches(out.splice(0));
  return ids;
}
