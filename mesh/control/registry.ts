// Service registry: which instances of which service are up, and where.
//
// An instance is registered while its sidecar holds the config stream open
// (the stream doubles as the health signal, as an xDS stream does) and is
// removed when the stream closes. Listeners hear every change. A
// registration carries the sidecar's labels (./labels.ts), shown on its
// Endpoint in snapshots and status.
//
// A service stays *known* after its last instance is gone (a crashed
// sidecar, before its supervisor restarts it): snapshots keep its route
// with no endpoints, so callers get 503 MESH_ERR_NO_ENDPOINT, which says
// "it exists, try again", rather than 404 MESH_ERR_NO_ROUTE, which says it
// never did. Known names live as long as the control plane process (a
// restarted one learns them again as sidecars reconnect).

import type { Endpoint } from './snapshot.ts';

export interface Registration extends Endpoint {
  service: string;
  proxy: string;
  since: number;
}

export class ServiceRegistry {
  readonly #byProxy = new Map<string, Registration>();
  readonly #known = new Set<string>();
  readonly #listeners = new Set<() => void>();

  register(r: Registration): void {
    this.#byProxy.set(r.proxy, r);
    this.#known.add(r.service);
    this.#changed();
  }

  deregister(proxy: string): void {
    if (this.#byProxy.delete(proxy)) this.#changed();
  }

  /** Endpoints per service, instances in name order so snapshots are stable. */
  services(): Map<string, Endpoint[]> {
    const out = new Map<string, Endpoint[]>();
    for (const r of this.#byProxy.values()) {
      if (!out.has(r.service)) out.set(r.service, []);
      // A sidecar that registers with no inbound address (an outbound-only client) is not an endpoint.
      if (r.port > 0) out.get(r.service)!.push(endpointOf(r));
    }
    for (const eps of out.values()) eps.sort((a, b) => a.instance.localeCompare(b.instance));
    return new Map([...out.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Every service ever registered, with its endpoints now (none when all its instances are gone); name order. */
  routable(): Map<string, Endpoint[]> {
    const live = this.services();
    return new Map([...this.#known].sort((a, b) => a.localeCompare(b)).map((s) => [s, live.get(s) ?? []]));
  }

  registrations(): Registration[] {
    return [...this.#byProxy.values()];
  }

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(): void {
    for (const fn of this.#listeners) fn();
  }
}

/** The Endpoint a registration advertises; labels only when it has some, so an unlabelled mesh's snapshots stay as they were. */
function endpointOf(r: Registration): Endpoint {
  const e: Endpoint = { instance: r.instance, addr: r.addr, port: r.port };
  if (r.labels && Object.keys(r.labels).length > 0) e.labels = { ...r.labels };
  return e;
}
