// Synthetic taps for the ingest bench: what a fleet of busy sidecars emits,
// valid per validateTap and sealed in hash chains exactly as a sidecar does
// (sealBatch). Deterministic per (producer, proxy) so every phase of a run
// (raw Kafka, raw ClickHouse, end to end) moves the same bytes.
//
// Mix per connection: one l4.open, a handful of l7.request (HTTP keeps the
// connection), one l4.close: about 80% l7.request. Services, paths,
// statuses, latencies and sizes vary; some requests carry allow-listed
// headers, a policy decision, a trace id, SPIFFE identities and TLS.

import { GENESIS_HASH, sealFrame, type BatchSigner, type L7RequestTap, type TapBatch, type TapEvent } from '../ingest/index.ts';

const SERVICES = ['web', 'catalog', 'cart', 'payments', 'inventory', 'search', 'auth', 'reviews'];
const PATHS = ['/items/{id}', '/cart', '/checkout', '/search', '/login', '/reviews/{id}', '/health', '/api/v2/orders/{id}'];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];

/** Small fast PRNG (mulberry32), uniform in [0, 1): same seed, same sequence. */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SyntheticStream {
  readonly proxy: string;
  /** The next sealed batch of `size` events, chained to the previous one. */
  next(size: number): TapBatch;
  /** The same, with its frame (encoded once, as a sidecar's publisher does). */
  nextFrame(size: number): { batch: TapBatch; frame: Buffer };
}

export interface SyntheticStreamOptions {
  /** Spread taps evenly at this many ms apart (default: 0 or 1 ms, a busy sidecar). */
  msPerTap?: number;
  /** Seal signed (schema 4), as a sidecar with its certificate does. */
  signer?: BatchSigner | null;
}

/** The proxy and service of a producer's sidecar `index` (a signer's certificate names them). */
export function syntheticSidecar(producer: number, index: number): { proxy: string; service: string } {
  const service = SERVICES[index % SERVICES.length];
  return { proxy: `p${producer}-${service}-${index}`, service };
}

/** One sidecar's stream: proxy `p<producer>-<service>-<index>`. */
export function syntheticStream(producer: number, index: number, startTs = Date.now(), o: SyntheticStreamOptions = {}): SyntheticStream {
  const rand = seededUniform(producer * 100_003 + index * 7919 + 1);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const { proxy, service } = syntheticSidecar(producer, index);
  const stream = `s${producer}x${index}x${Math.floor(rand() * 1e9).toString(36)}`;
  let batch = 0;
  let seq = 0;
  let prev = GENESIS_HASH;
  let ts = startTs;
  let conn = 0;
  let left = 0; // requests left on the current connection
  let peer = SERVICES[0];
  let direction: 'inbound' | 'outbound' = 'outbound';

  function common<K extends TapEvent['kind']>(kind: K) {
    const src = direction === 'inbound' ? peer : service;
    const dst = direction === 'inbound' ? service : peer;
    return {
      v: 1 as const, kind, proxy, seq: seq++, ts, direction, conn_id: `${proxy}-c${conn}`,
      src_service: src, src_instance: `${src}-${index % 3}`, src_addr: `10.0.${index % 250}.${(conn % 250) + 1}`, src_port: 30000 + (conn % 30000),
      dst_service: dst, dst_instance: `${dst}-${conn % 3}`, dst_addr: `10.1.${conn % 250}.7`, dst_port: 8080,
      src_identity: `spiffe://mesh.local/ns/shop/sa/${src}`, dst_identity: `spiffe://mesh.local/ns/shop/sa/${dst}`, tls_version: 'TLSv1.3',
    };
  }

  function event(): TapEvent {
    ts += Math.floor(rand() * 3);
    if (left === 0) {
      conn++;
      left = 2 + Math.floor(rand() * 8);
      direction = rand() < 0.5 ? 'inbound' : 'outbound';
      peer = pick(SERVICES.filter((s) => s !== service));
      return common('l4.open');
    }
    left--;
    if (left === 0) {
      return { ...common('l4.close'), bytes_in: Math.floor(rand() * 50_000), bytes_out: Math.floor(rand() * 500_000), duration_ms: Math.round(rand() * 60_000) / 10, end: rand() < 0.95 ? 'remote_close' : 'timeout' };
    }
    const r = rand();
    const status = r < 0.02 ? 503 : r < 0.03 ? 404 : r < 0.035 ? 0 : 200;
    const path = pick(PATHS);
    const l7: L7RequestTap = {
      ...common('l7.request'), method: pick(METHODS), authority: peer, path, status,
      latency_ms: Math.round((1 + rand() * rand() * 300) * 100) / 100, req_bytes: Math.floor(rand() * 2_000), resp_bytes: Math.floor(rand() * 40_000),
      upstream: `10.1.${conn % 250}.7:8080`, retries: rand() < 0.03 ? 1 : 0,
      trace_id: Math.floor(rand() * 2 ** 52).toString(16).padStart(16, '0') + Math.floor(rand() * 2 ** 52).toString(16).padStart(16, '0'),
      decision: 'allow', decision_reason: 'policy.authz.allow',
      ...(status === 0 ? { error: 'MESH_ERR_UPSTREAM_RESET' } : {}),
    };
    if (rand() < 0.2) l7.headers = { 'x-request-id': `${conn}-${seq}`, 'user-agent': 'shop-client/1.4' };
    return l7;
  }

  // Events are drawn from a ring of 512 made once per stream and restamped
  // (seq, ts): generating each from scratch cost more CPU than the
  // collector's whole job, and the producers share the machine with it.
  const ring = Array.from({ length: 512 }, event);
  seq = 0;
  let r = 0;
  const nextFrame = (size: number) => {
    const first_seq = seq;
    const events: TapEvent[] = new Array(size);
    for (let i = 0; i < size; i++) {
      ts = o.msPerTap === undefined ? ts + (r & 1) : startTs + Math.floor(seq * o.msPerTap);
      events[i] = { ...ring[r++ & 511], seq: seq++, ts };
    }
    const sealed = sealFrame({ proxy, stream, batch: batch++, first_seq, lost: 0, events, prev_hash: prev }, undefined, o.signer);
    prev = sealed.batch.hash;
    return sealed;
  };
  return { proxy, nextFrame, next: (size) => nextFrame(size).batch };
}

/**
 * The batches one bench producer sends: `taps` events in batches of
 * `batchSize`, round robin over `sidecars` streams (so keys spread over
 * the partitions).
 */
export function* producerBatches(producer: number, taps: number, batchSize: number, sidecars: number, startTs = Date.now()): Generator<TapBatch> {
  for (const { batch } of producerFrames(producer, taps, batchSize, sidecars, startTs)) yield batch;
}

/** producerBatches with each batch's frame; with `signers` (one per sidecar, its CN the stream's proxy) signed, schema 4. */
export function* producerFrames(producer: number, taps: number, batchSize: number, sidecars: number, startTs = Date.now(), signers?: readonly BatchSigner[]): Generator<{ batch: TapBatch; frame: Buffer }> {
  const streams = Array.from({ length: sidecars }, (_, i) => syntheticStream(producer, i, startTs, { signer: signers?.[i] ?? null }));
  let left = taps;
  for (let i = 0; left > 0; i++) {
    const n = Math.min(batchSize, left);
    yield streams[i % sidecars].nextFrame(n);
    left -= n;
  }
}
