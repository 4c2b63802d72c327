// Keep-alive connection pools, one per upstream endpoint ("addr:port"), in the
// spirit of undici's client → pool layering: the balance stage picks an
// endpoint, this layer owns its connections. Free sockets are closed after
// FREE_SOCKET_MS, below Node's default server keepAliveTimeout (5 s), so we
// rarely write to a socket the server is about to close.
//
// With a workload identity, a pool to a mesh endpoint is mutual TLS: our
// SVID as the client certificate, the peer's certificate checked against the
// trust bundle and its SPIFFE id against the one the route expects. A pool is
// keyed by endpoint, expected id and certificate generation: after a renewal
// new requests open connections with the new certificate, while the old
// pool's requests finish and its idle sockets time out.

import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { expectPeer } from '../../identity/index.ts';
import type { WorkloadIdentity } from './workload-identity.ts';

const FREE_SOCKET_MS = 4_000;

export class EndpointPools {
  readonly #agents = new Map<string, http.Agent>();
  readonly #maxSockets: number;
  readonly #identity: WorkloadIdentity | null;
  #generation = 0;
  #created = 0;

  constructor(opts: { maxSocketsPerEndpoint?: number; identity?: WorkloadIdentity | null } = {}) {
    this.#maxSockets = opts.maxSocketsPerEndpoint ?? 256;
    this.#identity = opts.identity ?? null;
    this.#identity?.onRotate(() => {
      this.#generation++;
      this.#agents.clear(); // in-flight requests keep their agent; idle sockets time out
    });
  }

  #secure: { generation: number; context: tls.SecureContext } | null = null;

  #context(): tls.SecureContext {
    if (this.#secure?.generation !== this.#generation) {
      const m = this.#identity!.current();
      this.#secure = { generation: this.#generation, context: tls.createSecureContext({ key: m.keyPem, cert: m.chainPem, ca: m.bundlePem }) };
    }
    return this.#secure.context;
  }

  /** Whether pools to mesh endpoints speak mTLS (the sidecar has an identity). */
  get mtls(): boolean { return this.#identity !== null; }

  /** The pool for one endpoint; `peer` (mTLS only) is the SPIFFE id its certificate must carry. */
  agentFor(addr: string, port: number, peer?: string): http.Agent {
    const key = peer ? `${addr}:${port}:${peer}:${this.#generation}` : `${addr}:${port}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      const common = { keepAlive: true, maxSockets: this.#maxSockets, maxFreeSockets: 64, timeout: FREE_SOCKET_MS, scheduling: 'lifo' as const };
      if (peer && this.#identity) {
        // One secure context per certificate generation: an agent given key/cert/ca as PEM text names
        // its pool by all of it (~1.8 KB hashed per request) and parses the PEMs for every new connection.
        agent = new https.Agent({
          ...common, secureContext: this.#context(), minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'],
          checkServerIdentity: expectPeer(peer),
        });
      } else {
        agent = new http.Agent(common);
      }
      this.#agents.set(key, agent);
      this.#created++;
    }
    return agent;
  }

  /** Pools created and sockets currently held (busy + free), for stats. */
  stats(): { pools: number; sockets: number } {
    let sockets = 0;
    for (const a of this.#agents.values()) {
      for (const list of Object.values(a.sockets)) sockets += list?.length ?? 0;
      for (const list of Object.values(a.freeSockets)) sockets += list?.length ?? 0;
    }
    return { pools: this.#created, sockets };
  }

  close(): void {
    for (const a of this.#agents.values()) a.destroy();
    this.#agents.clear();
  }
}
