// A small mesh's recorded traffic, put through the real collector (signed
// frames, a trust bundle, hash chains), with the violations a compliance
// test asks for added on request. The topology is the demo shop's:
//
//   external → web → cart → payments, cart → inventory, web → catalog ← indexer
//
// Every inbound request is recorded at the callee's sidecar (with mTLS
// identity and the policy decision) and at the caller's sidecar outbound,
// each sidecar one signed chain.

import { randomBytes } from 'node:crypto';
import type { TrustBundle } from '../../../identity/index.ts';
import {
  Collector, sealFrame, type L4OpenTap, type L7RequestTap, type TapEvent, type TapStore,
} from '../../../ingest/index.ts';
import { sampleCa, sampleSidecar, type SampleSidecar } from '../../../ingest/sample-svids.ts';

export const SHOP_EDGES: readonly [string, string][] = [
  ['external', 'web'], ['web', 'cart'], ['web', 'catalog'], ['indexer', 'catalog'], ['cart', 'payments'], ['cart', 'inventory'],
];
export const TRUST_DOMAIN_PREFIX = 'spiffe://test.local/ns/default/sa/';

export interface Violations {
  /** A caller the pack does not allow, admitted by the policy: [src, dst]. */
  unexpectedCaller?: [string, string];
  /** A JWT in an allow-listed header of one request to this service. */
  secretHeaderTo?: string;
  /** Internal requests to this service that arrive without mTLS. */
  plaintextTo?: string;
  /** Skip one batch in this proxy's chain (the collector records the gap as loss). */
  gapIn?: string;
}

export interface SeededMesh {
  /** Every tap's ts, and every batch's arrival, lies in [from, until). */
  from: number;
  until: number;
  sidecars: Map<string, SampleSidecar>;
  /** The roots the seeding collector believed the sidecars' signatures under. */
  trust: TrustBundle;
  /** Pointers (proxy, seq) of the taps that break a control, by violation. */
  culprits: Record<keyof Violations, { proxy: string; seq: number; ts: number }[]>;
  /** The stored batches of each proxy, as sealed (for tampering tests). */
  batches: Map<string, { stream: string; events: TapEvent[][] }>;
}

const REQUESTS_PER_EDGE = 12;
const EVENTS_PER_BATCH = 8;

/** Records traffic over the `minutes` before now into `store` through a collector that trusts a fresh CA. */
export async function seedMesh(store: TapStore, v: Violations = {}, minutes = 10): Promise<SeededMesh> {
  const until = Date.now();
  const from = until - minutes * 60_000;
  const ca = await sampleCa();
  const collector = new Collector(store, { trust: () => ca.bundle });
  await collector.start();
  const sidecars = new Map<string, SampleSidecar>();
  const services = [...new Set(SHOP_EDGES.flat())].filter((s) => s !== 'external');
  for (const s of services) sidecars.set(`${s}-1`, await sampleSidecar(ca, s, `${s}-1`));
  const byProxy = new Map<string, TapEvent[]>([...sidecars.keys()].map((p) => [p, []]));
  const culprits: SeededMesh['culprits'] = { unexpectedCaller: [], secretHeaderTo: [], plaintextTo: [], gapIn: [] };
  const edges = [...SHOP_EDGES, ...(v.unexpectedCaller ? [v.unexpectedCaller] : [])];
  let n = 0;
  const step = (until - from - 1000) / (edges.length * REQUESTS_PER_EDGE);
  const marks: { proxy: string; index: number; kind: keyof Violations }[] = [];
  for (const [src, dst] of edges) {
    for (let i = 0; i < REQUESTS_PER_EDGE; i++) {
      const ts = Math.floor(from + 500 + step * n++);
      const conn = `c${n}`;
      const plaintext = src !== 'external' && v.plaintextTo === dst && i % 3 === 0;
      const secret = v.secretHeaderTo === dst && i === 5;
      const tls = src === 'external' || plaintext ? {} : { src_identity: TRUST_DOMAIN_PREFIX + src, dst_identity: TRUST_DOMAIN_PREFIX + dst, tls_version: 'TLSv1.3' };
      const common = {
        ts, conn_id: conn, src_service: src, src_instance: src === 'external' ? '' : `${src}-1`, src_addr: '10.0.0.1', src_port: 40000 + (n % 20000),
        dst_service: dst, dst_instance: `${dst}-1`, dst_addr: '10.0.0.2', dst_port: 8443, ...tls,
      };
      const l7 = {
        method: 'GET', authority: dst, path: `/${dst}/items`, status: 200, latency_ms: 3.25 + i / 7, req_bytes: 10, resp_bytes: 200,
        upstream: '127.0.0.1:9000', retries: 0, trace_id: randomBytes(16).toString('hex'),
        ...(secret ? { headers: { 'x-session': `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.${'s'.repeat(20)}` } } : {}),
      };
      const callee = `${dst}-1`;
      const inbound = byProxy.get(callee)!;
      inbound.push({ v: 1, kind: 'l4.open', proxy: callee, seq: 0, direction: 'inbound', ...common } as L4OpenTap);
      const kind: keyof Violations | null = secret ? 'secretHeaderTo' : plaintext ? 'plaintextTo' : v.unexpectedCaller && src === v.unexpectedCaller[0] && dst === v.unexpectedCaller[1] ? 'unexpectedCaller' : null;
      if (kind) marks.push({ proxy: callee, index: inbound.length, kind });
      inbound.push({
        v: 1, kind: 'l7.request', proxy: callee, seq: 0, direction: 'inbound', ...common, ...l7, decision: 'allow', decision_reason: `${src} may call ${dst}`,
      } as L7RequestTap);
      if (src !== 'external') {
        byProxy.get(`${src}-1`)!.push({ v: 1, kind: 'l7.request', proxy: `${src}-1`, seq: 0, direction: 'outbound', ...common, ...l7 } as L7RequestTap);
      }
    }
  }
  const batches = new Map<string, { stream: string; events: TapEvent[][] }>();
  for (const [proxy, events] of byProxy) {
    const stream = randomBytes(4).toString('hex');
    const groups: TapEvent[][] = [];
    for (let i = 0; i < events.length; i += EVENTS_PER_BATCH) groups.push(events.slice(i, i + EVENTS_PER_BATCH));
    let seq = 0;
    let prev = '0'.repeat(64);
    const kept: TapEvent[][] = [];
    for (let b = 0; b < groups.length; b++) {
      const renumbered = groups[b].map((e) => ({ ...e, seq: seq++ }));
      const { batch, frame } = sealFrame({ proxy, stream, batch: b, first_seq: renumbered[0].seq, lost: 0, events: renumbered, prev_hash: prev }, 3, sidecars.get(proxy)!.signer);
      prev = batch.hash;
      // The skipped batch never reaches the collector: a gap in this chain.
      if (v.gapIn === proxy && b === 1) {
        culprits.gapIn.push({ proxy, seq: renumbered[0].seq, ts: renumbered[0].ts });
        continue;
      }
      const r = await collector.accept(frame, proxy);
      if (!r.ok) throw new Error(`seeding: collector refused batch ${b} of ${proxy}: ${JSON.stringify(r)}`);
      kept.push(renumbered);
    }
    batches.set(proxy, { stream, events: kept });
    for (const m of marks.filter((x) => x.proxy === proxy)) {
      // Each proxy's events were made in time order, so an event's index is its seq.
      culprits[m.kind].push({ proxy, seq: m.index, ts: events[m.index].ts });
    }
  }
  await collector.close();
  // The batches were received (received_at) while seeding: the period ends after that.
  return { from, until: Date.now() + 1, sidecars, trust: ca.bundle, culprits, batches };
}
