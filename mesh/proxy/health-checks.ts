// Active health checks of outbound clusters that have a `health_check`
// (mesh/control/resilience.ts): every interval_ms, GET its path on each
// endpoint over the same pools requests use (mutual TLS to the peer's
// sidecar in a mesh, its certificate checked as for any request), within
// timeout_ms; a 2xx passes. The verdicts live in ./cluster-states.ts, where
// the balancer reads them: an endpoint is left out after
// unhealthy_threshold failures in a row and taken back after
// healthy_threshold passes, and a new endpoint waits for its first check
// (so a dead one is never tried by a request).
//
// Checks follow the config: a new snapshot starts checks of endpoints and
// clusters it adds (at once), changes the interval or path of others, and
// stops those it drops. A check in a mesh reaches the workload through its
// sidecar: it is tapped there and its policy applies (the caller is this
// sidecar's service), as any request from this service would be.

import type { Cluster, Endpoint } from '../control/snapshot.ts';
import type { Dispatched } from './h1/upstream-pool.ts';
import type { RoutingState } from './routing-table.ts';
import type { SidecarRuntime } from './runtime.ts';

/** Sent as user-agent, so a workload (and its taps) can tell checks from traffic. */
export const HEALTH_CHECK_AGENT = 'meshlens-health-check';

interface Checked {
  cluster: Cluster;
  endpoint: Endpoint;
  /** The health_check it runs under, as JSON: a changed one restarts it. */
  config: string;
  timer: NodeJS.Timeout | null;
  inFlight: Dispatched | null;
}

export class HealthChecks {
  readonly #rt: SidecarRuntime;
  readonly #checked = new Map<string, Checked>();
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(rt: SidecarRuntime) {
    this.#rt = rt;
    this.#unsubscribe = rt.table.onApply((state) => this.#reconcile(state));
    this.#reconcile(rt.table.current);
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    for (const c of this.#checked.values()) this.#stop(c);
    this.#checked.clear();
  }

  #reconcile(state: RoutingState): void {
    if (this.#closed) return;
    const wanted = new Map<string, { cluster: Cluster; endpoint: Endpoint }>();
    for (const cluster of state.snapshot.clusters) {
      if (!cluster.health_check) continue;
      for (const endpoint of cluster.endpoints) wanted.set(`${cluster.service}\n${endpoint.addr}:${endpoint.port}`, { cluster, endpoint });
    }
    for (const [key, c] of this.#checked) {
      if (!wanted.has(key)) { this.#stop(c); this.#checked.delete(key); }
    }
    for (const [key, w] of wanted) {
      const config = JSON.stringify(w.cluster.health_check);
      const c = this.#checked.get(key);
      if (c && c.config === config) { c.cluster = w.cluster; c.endpoint = w.endpoint; continue; }
      if (c) this.#stop(c);
      const fresh: Checked = { ...w, config, timer: null, inFlight: null };
      this.#checked.set(key, fresh);
      this.#check(key, fresh);
    }
  }

  #stop(c: Checked): void {
    if (c.timer) clearTimeout(c.timer);
    c.timer = null;
    c.inFlight?.abort();
    c.inFlight = null;
  }

  #check(key: string, c: Checked): void {
    const hc = c.cluster.health_check!;
    const { addr, port } = c.endpoint;
    const rt = this.#rt;
    const peer = rt.pools.mtls ? rt.identity!.peerId(c.cluster.service) : undefined;
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      c.inFlight = null;
      if (this.#closed || this.#checked.get(key) !== c) return; // stopped or replaced meanwhile
      rt.clusters.healthResult(c.cluster, c.endpoint, ok);
      // Up to 10% later each time, so many sidecars' checks do not arrive together.
      c.timer = setTimeout(() => { c.timer = null; this.#check(key, c); }, hc.interval_ms * (1 + Math.random() * 0.1));
      c.timer.unref();
    };
    const deadline = setTimeout(() => { c.inFlight?.abort(); finish(false); }, hc.timeout_ms);
    deadline.unref();
    let status = 0;
    const handle = rt.pools.poolFor(addr, port, peer, c.cluster.max_connections).dispatch({
      head: `GET ${hc.path} HTTP/1.1\r\nhost: ${c.cluster.service}\r\nuser-agent: ${HEALTH_CHECK_AGENT}\r\n\r\n`,
      body: null,
      isHead: false,
      onResponse: (h) => { status = h.status; },
      onData: () => true,
      onEnd: () => finish(status >= 200 && status < 300),
      onError: () => finish(false),
    }, Math.min(hc.timeout_ms, c.cluster.connect_timeout_ms));
    // Only while in flight: a finished exchange's connection may already carry another.
    if (!done) c.inFlight = handle;
  }
}
