// The config in force: routes and clusters from the current snapshot, with the
// balancing state that goes with them. apply() swaps in a whole new
// RoutingState at once, so a request sees either the old or the new config
// (and a new snapshot starts the weighted round robin afresh).
//
// Two choices per request, as linkerd's logical → concrete → endpoint:
//   pickBackend   which backend of the route: a cluster, or the subset of its
//                 endpoints whose labels match (payments{version=v2}), by
//                 smooth weighted round robin (nginx's algorithm: deterministic
//                 and evenly spread, so weights 90/10 send exactly 90 and 10 of
//                 every 100 requests, interleaved). A backend of weight 0, or
//                 with no matching endpoint right now, is passed over: its
//                 share goes to the others while it has none.
//   pickEndpoint  round robin over that backend's endpoints (or those of them
//                 the balancer may use now: stages/balance.ts).

import { describeBackend, matchesSubset, type Labels } from '../control/labels.ts';
import type { Cluster, ConfigSnapshot, Endpoint, Route, TapCapture } from '../control/snapshot.ts';
import type { ResolvedOptions } from './options.ts';

/** One backend of a route, resolved against its cluster in this snapshot. */
export interface BackendSet {
  /** How errors name it: "payments", or "payments{version=v2}". */
  readonly name: string;
  readonly cluster: Cluster;
  readonly subset?: Labels;
  readonly weight: number;
  /** The cluster's endpoints the subset matches (all of them without one). */
  readonly endpoints: readonly Endpoint[];
}

export class RoutingState {
  readonly snapshot: ConfigSnapshot;
  readonly #routes = new Map<string, Route>();
  readonly #clusters = new Map<string, Cluster>();
  readonly #backends = new Map<Route, BackendSet[]>();
  /** Smooth weighted round-robin state per route: each backend's current weight. */
  readonly #current = new Map<Route, number[]>();
  readonly #rr = new Map<BackendSet, number>();

  constructor(snapshot: ConfigSnapshot) {
    this.snapshot = snapshot;
    for (const c of snapshot.clusters) this.#clusters.set(c.service, c);
    for (const r of snapshot.routes) {
      this.#routes.set(r.authority.toLowerCase(), r);
      const sets: BackendSet[] = [];
      for (const b of r.backends) {
        const cluster = this.#clusters.get(b.cluster);
        if (!cluster) continue; // validated snapshots name only their own clusters
        const endpoints = cluster.endpoints.filter((e) => matchesSubset(e.labels, b.subset));
        sets.push({ name: describeBackend(cluster.service, b.subset), cluster, subset: b.subset, weight: b.weight, endpoints });
      }
      this.#backends.set(r, sets);
    }
  }

  get version(): number { return this.snapshot.version; }
  get capture(): TapCapture { return this.snapshot.taps; }

  route(authority: string): Route | undefined {
    return this.#routes.get(authority);
  }

  cluster(name: string): Cluster | undefined {
    return this.#clusters.get(name);
  }

  /** The route's backends, in snapshot order. */
  backends(route: Route): readonly BackendSet[] {
    return this.#backends.get(route) ?? [];
  }

  /** Picks a backend by weight among those with weight > 0 and an endpoint; undefined when none has one. */
  pickBackend(route: Route): BackendSet | undefined {
    const sets = this.backends(route);
    let current = this.#current.get(route);
    if (!current) this.#current.set(route, current = sets.map(() => 0));
    let total = 0;
    let best = -1;
    for (let i = 0; i < sets.length; i++) {
      const w = sets[i].weight;
      if (w <= 0 || sets[i].endpoints.length === 0) continue;
      current[i] += w;
      total += w;
      if (best < 0 || current[i] > current[best]) best = i;
    }
    if (best < 0) return undefined;
    current[best] -= total;
    return sets[best];
  }

  /** Round-robin over the backend's endpoints, or over `among` (those of them the balancer may use now); undefined when none. */
  pickEndpoint(set: BackendSet, among: readonly Endpoint[] = set.endpoints): Endpoint | undefined {
    if (among.length === 0) return undefined;
    const i = this.#rr.get(set) ?? 0;
    this.#rr.set(set, i + 1);
    return among[i % among.length];
  }
}

export class RoutingTable {
  #current: RoutingState;
  readonly #listeners = new Set<(state: RoutingState) => void>();

  constructor(initial: ConfigSnapshot) {
    this.#current = new RoutingState(initial);
  }

  get current(): RoutingState { return this.#current; }

  apply(snapshot: ConfigSnapshot): void {
    this.#current = new RoutingState(snapshot);
    for (const fn of this.#listeners) fn(this.#current);
  }

  /** Calls `fn` with each config applied from now on (endpoint state, health checks); returns the unsubscribe. */
  onApply(fn: (state: RoutingState) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
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
