// Valid tap events and sealed batch chains for tests (ingest's own and the
// end-to-end ones): every field filled the way a sidecar would fill it.

import { createHash } from 'node:crypto';
import type { BatchSigner } from './batch-signer.ts';
import { GENESIS_HASH, sealBatch, type TapBatch, type UnsignedSchema } from './batch.ts';
import type { L4OpenTap, L7RequestTap, TapEvent } from './schema/v1.ts';

type Without<T> = Omit<T, 'v' | 'kind'>;

export function sampleL7(over: Partial<Without<L7RequestTap>> = {}): L7RequestTap {
  return {
    v: 1, kind: 'l7.request', proxy: 'web-1', seq: 0, ts: Date.now(), direction: 'outbound', conn_id: 'c1',
    src_service: 'web', src_instance: 'web-1', src_addr: '127.0.0.1', src_port: 40000,
    dst_service: 'cart', dst_instance: 'cart-1', dst_addr: '127.0.0.1', dst_port: 8080,
    method: 'GET', authority: 'cart', path: '/items', status: 200, latency_ms: 5,
    req_bytes: 10, resp_bytes: 100, upstream: '127.0.0.1:8080', retries: 0, trace_id: '',
    ...over,
  };
}

export function sampleL4Open(over: Partial<Without<L4OpenTap>> = {}): L4OpenTap {
  return {
    v: 1, kind: 'l4.open', proxy: 'web-1', seq: 0, ts: Date.now(), direction: 'outbound', conn_id: 'c1',
    src_service: 'web', src_instance: 'web-1', src_addr: '127.0.0.1', src_port: 40000,
    dst_service: 'cart', dst_instance: 'cart-1', dst_addr: '127.0.0.1', dst_port: 8080,
    ...over,
  };
}

/**
 * Seals `groups` as consecutive batches of one stream, renumbering proxy and
 * seq so the chain is valid. `lost` gives each batch's cumulative drop count;
 * `schema` the frame format (default: what sidecars write); `signer` signs
 * every batch (schema 4).
 */
export function sampleChain(proxy: string, stream: string, groups: TapEvent[][], opts: { lost?: number[]; firstBatch?: number; firstSeq?: number; prevHash?: string; schema?: UnsignedSchema; signer?: BatchSigner } = {}): TapBatch[] {
  const out: TapBatch[] = [];
  let seq = opts.firstSeq ?? 0;
  let prev = opts.prevHash ?? GENESIS_HASH;
  groups.forEach((events, i) => {
    const first_seq = seq;
    const renumbered = events.map((e) => ({ ...e, proxy, seq: seq++ }));
    const b = sealBatch({
      proxy, stream, batch: (opts.firstBatch ?? 0) + i, first_seq, lost: opts.lost?.[i] ?? 0, events: renumbered, prev_hash: prev,
    }, opts.schema, opts.signer);
    prev = b.hash;
    out.push(b);
  });
  return out;
}

/**
 * A batch frame built from raw parts, for tests of what a collector refuses:
 * the header object and event values are written as given, one JSON line
 * each, and the hash line carries the true hash of those bytes unless
 * `hash` is given.
 */
export function rawFrame(header: Record<string, unknown>, events: readonly unknown[], hash?: string): Buffer {
  const body = Buffer.from([header, ...events].map((x) => JSON.stringify(x) + '\n').join(''));
  return Buffer.concat([body, Buffer.from(`{"hash":"${hash ?? createHash('sha256').update(body).digest('hex')}"}\n`)]);
}
