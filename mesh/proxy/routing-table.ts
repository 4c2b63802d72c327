// The config in force: routes and clusters from the current snapshot, with the
// balancing state that goes with them. apply() swaps in a whole new
// RoutingState at once, so a request sees either the old or the new config.

import type { Cluster, ConfigSnapshot, Endpoint, Route, TapCapture } from '../control/snapshot.ts';
import type { ResolvedOptions } from './options.ts';

export class RoutingState {
  readonly snapshot: ConfigSnapshot;
  readonly #routes = new Map<string, Route>();
  readonly #clusters = new Map<string, Cluster>();
  /** Smooth weighted round-robin state per route (nginx's algorithm: deterministic, evenly spread). */
  readonly #weights = new Map<Route, number[]>();
  readonly #rr = new Map<string, number>();

  constructor(snapshot: ConfigSnapshot) {
    this.snapshot = snapshot;
    for (const r of snapshot.routes) this.#routes.set(r.authority.toLowerCase(), r);
    for (const c of snapshot.clusters) this.#clusters.set(c.service, c);
  }

  get version(): number { return this.snapshot.version; }
  get capture(): TapCapture { return this.snapshot.taps; }

  route(authority: string): Route | undefined {
    return this.#routes.get(authority);
  }

  cluster(name: string): Cluster | undefined {
    return this.#clusters.get(name);
  }

  /** Picks a backend cluster by weight. */
  pickCluster(route: Route): Cluster | undefined {
    const current = this.#weights.get(route) ?? route.backends.map(() => 0);
    this.#weights.set(route, current);
    const total = route.backends.reduce((s, b) => s + b.weight, 0);
    let best = 0;
    for (let i = 0; i < route.backends.length; i++) {
      current[i] += route.backends[i].weight;
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    return this.#clusters.get(route.backends[best].cluster);
  }

  /** Round-robin over the cluster's endpoints; undefined when it has none. */
  pickEndpoint(cluster: Cluster): Endpoint | undefined {
    if (cluster.endpoints.length === 0) return undefined;
    const i = this.#rr.get(cluster.service) ?? 0;
    this.#rr.set(cluster.service, i + 1);
    return cluster.endpoints[i % cluster.endpoints.length];
  }
}

export class RoutingTable {
  #current: RoutingState;

  constructor(initial: ConfigSnapshot) {
    this.#current = new RoutingState(initial);
  }

  get current(): RoutingState { return this.#current; }

  apply(snapshot: ConfigSnapshot): void {
    this.#current = new RoutingState(snapshot);
  }
}

/** Version-0 snapshot from flags, for a sidecar without a control plane. */
export function standaloneSnapshot(o: ResolvedOptions): ConfigSnapshot {
  return {
    version: 0,
    proxy: o.id,
    service: o.service,
    routes: o.routes.map((r) => ({ authority: r.authority, backends: [{ cluster: r.authority, weight: 1 }] })),
    clusters: o.routes.map((r) => ({
      service: r.authority,
      // Standalone endpoints have no instance names; their address stands in.
      endpoints: r.endpoints.map((e) => ({ instance: `${e.host}:${e.port}`, addr: e.host, port: e.port })),
      lb: 'round_robin',
      connect_timeout_ms: o.connectTimeoutMs,
      request_timeout_ms: o.requestTimeoutMs,
    })),
    taps: { query_allow: o.queryAllow, header_allow: o.headerAllow },
    policy_digest: '',
  };
}
