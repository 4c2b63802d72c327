// Keep-alive connection pools, one per upstream endpoint ("addr:port"), in the
// spirit of undici's client → pool layering: the balance stage picks an
// endpoint, this layer owns its connections. Free sockets are closed after
// FREE_SOCKET_MS, below Node's default server keepAliveTimeout (5 s), so we
// rarely write to a socket the server is about to close.

import http from 'node:http';

const FREE_SOCKET_MS = 4_000;

export class EndpointPools {
  readonly #agents = new Map<string, http.Agent>();
  readonly #maxSockets: number;
  #created = 0;

  constructor(opts: { maxSocketsPerEndpoint?: number } = {}) {
    this.#maxSockets = opts.maxSocketsPerEndpoint ?? 256;
  }

  agentFor(addr: string, port: number): http.Agent {
    const key = `${addr}:${port}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = new http.Agent({ keepAlive: true, maxSockets: this.#maxSockets, maxFreeSockets: 64, timeout: FREE_SOCKET_MS, scheduling: 'lifo' });
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
