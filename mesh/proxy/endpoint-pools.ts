// Keep-alive connection pools, one per upstream endpoint ("addr:port"), in the
// spirit of undici's client → pool layering: the balance stage picks an
// endpoint, this layer owns its connections (h1/upstream-pool.ts). Idle
// sockets are closed after FREE_SOCKET_MS, below Node's default server
// keepAliveTimeout (5 s), so we rarely write to a socket the server is
// about to close.
//
// With a workload identity, a pool to a mesh endpoint is mutual TLS: our
// SVID as the client certificate, the peer's certificate checked against the
// trust bundle and its SPIFFE id against the one the route expects. A pool is
// keyed by endpoint, expected id and certificate generation: after a renewal
// new requests open connections with the new certificate, while the old
// pool's requests finish and its idle sockets time out.

import type tls from 'node:tls';
import { createSecureContext } from 'node:tls';
import { expectPeer } from '../../identity/index.ts';
import { UpstreamPool } from './h1/upstream-pool.ts';
import type { H2Counters } from './h2/counters.ts';
import { H2SessionPool } from './h2/session-pool.ts';
import type { WorkloadIdentity } from './workload-identity.ts';

const FREE_SOCKET_MS = 4_000;

export class EndpointPools {
  readonly #pools = new Map<string, UpstreamPool>();
  /** HTTP/2 session pools, keyed as the HTTP/1.1 ones (h2/session-pool.ts). */
  readonly #h2 = new Map<string, H2SessionPool>();
  /** Pools of an earlier certificate generation, closed once their last socket is gone. */
  readonly #retired = new Set<UpstreamPool>();
  readonly #maxSockets: number;
  readonly #identity: WorkloadIdentity | null;
  #generation = 0;
  #created = 0;

  constructor(opts: { maxSocketsPerEndpoint?: number; identity?: WorkloadIdentity | null } = {}) {
    this.#maxSockets = opts.maxSocketsPerEndpoint ?? 256;
    this.#identity = opts.identity ?? null;
    this.#identity?.onRotate(() => {
      this.#generation++;
      // In-flight requests keep their pool; its idle sockets time out.
      for (const [key, pool] of this.#pools) if (key.includes(' ')) { this.#retired.add(pool); this.#pools.delete(key); }
      // Streams in flight finish on the old sessions, which then idle out.
      for (const key of this.#h2.keys()) if (key.includes(' ')) this.#h2.delete(key);
    });
  }

  #secure: { generation: number; context: tls.SecureContext } | null = null;

  #context(): tls.SecureContext {
    if (this.#secure?.generation !== this.#generation) {
      const m = this.#identity!.current();
      this.#secure = { generation: this.#generation, context: createSecureContext({ key: m.keyPem, cert: m.chainPem, ca: m.bundlePem }) };
    }
    return this.#secure.context;
  }

  /** Whether pools to mesh endpoints speak mTLS (the sidecar has an identity). */
  get mtls(): boolean { return this.#identity !== null; }

  /**
   * The pool for one endpoint; `peer` (mTLS only) is the SPIFFE id its
   * certificate must carry; `maxSockets` its cluster's max_connections
   * (circuit breaking: more requests wait in the pool for a connection).
   */
  poolFor(addr: string, port: number, peer?: string, maxSockets = this.#maxSockets): UpstreamPool {
    const key = peer ? `${addr}:${port} ${peer} ${this.#generation}` : `${addr}:${port}`;
    let pool = this.#pools.get(key);
    if (pool && pool.maxSockets !== maxSockets) pool.maxSockets = maxSockets; // a new snapshot's bound
    if (!pool) {
      pool = new UpstreamPool({
        host: addr, port, maxSockets, idleMs: FREE_SOCKET_MS,
        tls: peer && this.#identity
          ? { secureContext: this.#context(), minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'], checkServerIdentity: expectPeer(peer) }
          : undefined,
      });
      this.#pools.set(key, pool);
      this.#created++;
    }
    return pool;
  }

  /**
   * TLS options to reach a mesh peer outside the pools (an upgrade's own
   * connection): our SVID, the peer's SPIFFE id checked, ALPN `alpn`;
   * undefined in plaintext.
   */
  tlsFor(peer: string | undefined, alpn: string): tls.ConnectionOptions | undefined {
    if (!peer || !this.#identity) return undefined;
    return { secureContext: this.#context(), minVersion: 'TLSv1.2', ALPNProtocols: [alpn], checkServerIdentity: expectPeer(peer) };
  }

  /** The HTTP/2 sessions to one endpoint: h2 over mTLS when `peer` is given (ALPN h2), else h2c. */
  h2For(addr: string, port: number, counters: H2Counters, peer?: string, maxSessions = this.#maxSockets): H2SessionPool {
    const key = peer ? `${addr}:${port} ${peer} ${this.#generation}` : `${addr}:${port}`;
    let pool = this.#h2.get(key);
    if (pool && pool.maxSessions !== maxSessions) pool.maxSessions = maxSessions;
    if (!pool) {
      pool = new H2SessionPool({ host: addr, port, maxSessions, idleMs: FREE_SOCKET_MS, counters, tls: this.tlsFor(peer, 'h2') });
      this.#h2.set(key, pool);
    }
    return pool;
  }

  /** Pools created and sockets currently held (busy + idle), for stats. */
  stats(): { pools: number; sockets: number } {
    let sockets = 0;
    for (const p of this.#pools.values()) sockets += p.size;
    for (const p of this.#h2.values()) sockets += p.size;
    for (const p of this.#retired) { if (p.size === 0) this.#retired.delete(p); else sockets += p.size; }
    return { pools: this.#created, sockets };
  }

  /** Closes the pools of an endpoint gone from the config once nothing is in flight to it (./cluster-states.ts drains it first). */
  retire(addr: string, port: number): void {
    const endpoint = `${addr}:${port}`;
    for (const [key, pool] of this.#pools) {
      if (key !== endpoint && !key.startsWith(`${endpoint} `)) continue;
      pool.close();
      this.#pools.delete(key);
    }
    for (const [key, pool] of this.#h2) {
      if (key !== endpoint && !key.startsWith(`${endpoint} `)) continue;
      pool.close();
      this.#h2.delete(key);
    }
  }

  close(): void {
    for (const p of [...this.#pools.values(), ...this.#retired]) p.close();
    this.#pools.clear();
    this.#retired.clear();
    for (const p of this.#h2.values()) p.close();
    this.#h2.clear();
  }
}
