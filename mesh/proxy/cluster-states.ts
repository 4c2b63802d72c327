// What a sidecar remembers about each outbound cluster across config
// snapshots (a new snapshot replaces the routing state, not this): the
// cluster's retry budget and resilience counters, and per endpoint, keyed
// by cluster and address:
//   outstanding  requests in flight to it (least_request, draining)
//   outlier      failed tries in a row and its local ejection (stages/endpoint-outcome.ts)
//   health       the active health checks' verdict (./health-checks.ts)
//   removed      gone from the snapshot: its pool is closed once its last request has ended
//
// Two kinds of ejection, both honoured. The control plane's
// (mesh/control/ejections.ts, an operator or the tuning engine) leaves the
// endpoint out of the snapshot, so the sidecar never sees it; the sidecar's
// own (outlier detection here) keeps it in the snapshot and the balancer
// passes over it until its time ends. Stats say which: an endpoint this
// sidecar ejected is listed with `ejected_by: "sidecar"`; the control
// plane's are in `meshlens status`.
//
// Outlier ejection follows Envoy's: an endpoint is ejected after
// consecutive_5xx answers of 5xx or none, or consecutive_gateway_errors of
// 502/503/504 or none; its n-th ejection lasts n × base_ejection_ms (at
// most max_ejection_ms), and n falls back to 0 once it has gone
// max_ejection_ms since its last one ended. At most max_ejection_percent of
// a cluster's endpoints are out at once, but one may always be, and never
// the last one left.

import type { OutlierDetection } from '../control/resilience.ts';
import type { Cluster, Endpoint } from '../control/snapshot.ts';
import { RetryBudget } from './retry-budget.ts';
import type { RoutingState } from './routing-table.ts';

/** unchecked: no health check configured; pending: configured, no verdict yet. */
export type Health = 'unchecked' | 'pending' | 'healthy' | 'unhealthy';

/** How one try went, for outlier detection: a 5xx, a gateway error (502/503/504 or no answer), fine, or nothing to say (the client left). */
export type Outcome = 'success' | 'error_5xx' | 'gateway_error' | 'neutral';

/** Why the balancer passes over an endpoint now. */
export type Exclusion = 'ejected' | 'unhealthy' | 'pending';

export interface EndpointState {
  readonly cluster: string;
  instance: string;
  readonly addr: string;
  readonly port: number;
  outstanding: number;
  consecutive5xx: number;
  consecutiveGateway: number;
  /** Epoch ms this sidecar's ejection ends; 0: never ejected. */
  ejectedUntil: number;
  /** Ejections so far: the next lasts one more base_ejection_ms. */
  ejections: number;
  /** How long the latest ejection lasts (ms). */
  ejectionMs: number;
  health: Health;
  /** Health check results in a row: passed (> 0) or failed (< 0). */
  healthRun: number;
  removed: boolean;
}

export interface ResilienceCounters {
  /** Tries sent again (stages/retry.ts). */
  retries: number;
  retry_budget_exhausted: number;
  retry_not_allowed: number;
  /** Tries not retried because the upstream's retry-after asked for a longer wait than backoff_max_ms or the request's time left. */
  retry_after_too_long: number;
  per_try_timeouts: number;
  /** Endpoints this sidecar ejected, and ejections the cap (max_ejection_percent) refused. */
  ejections: number;
  ejections_capped: number;
  /** Tries whose balancer passed over ejected endpoints, or over endpoints failing (or not yet through) their health check. */
  ejected_skips: number;
  health_exclusions: number;
  /** Tries sent while every endpoint was ejected or failing its health check. */
  panics: number;
  health_checks: number;
  health_check_failures: number;
  /** Endpoints gone from the snapshot whose last request ended and whose pool was closed. */
  drained: number;
  /** Requests that ran with a route's resilience rule instead of the cluster's timeouts and retries (../route-resilience.ts). */
  route_overrides: number;
}

export interface EndpointStats {
  instance: string;
  addr: string;
  outstanding: number;
  health: Health;
  /** Ejections so far; while one lasts, who ejected it, until when (epoch ms) and for how long. */
  ejections: number;
  ejected_by?: 'sidecar';
  ejected_until?: number;
  ejection_ms?: number;
  removed?: true;
}

export interface ClusterResilienceStats extends ResilienceCounters { endpoints: EndpointStats[] }

const newCounters = (): ResilienceCounters => ({
  retries: 0, retry_budget_exhausted: 0, retry_not_allowed: 0, retry_after_too_long: 0, per_try_timeouts: 0, ejections: 0, ejections_capped: 0,
  ejected_skips: 0, health_exclusions: 0, panics: 0, health_checks: 0, health_check_failures: 0, drained: 0, route_overrides: 0,
});

const keyOf = (cluster: string, e: { addr: string; port: number }) => `${cluster}\n${e.addr}:${e.port}`;

export class ClusterStates {
  readonly #endpoints = new Map<string, EndpointState>();
  readonly #clusters = new Map<string, { budget: RetryBudget; counters: ResilienceCounters }>();
  /** Endpoint keys of the config in force. */
  #live = new Set<string>();

  constructor(private readonly o: { now: () => number; retire: (addr: string, port: number) => void; log: (m: string) => void }) {}

  /** The cluster's retry budget and counters. */
  cluster(service: string): { budget: RetryBudget; counters: ResilienceCounters } {
    let c = this.#clusters.get(service);
    if (!c) this.#clusters.set(service, c = { budget: new RetryBudget(), counters: newCounters() });
    return c;
  }

  endpoint(cluster: Cluster, e: Endpoint): EndpointState {
    const key = keyOf(cluster.service, e);
    let s = this.#endpoints.get(key);
    if (!s) {
      s = {
        cluster: cluster.service, instance: e.instance, addr: e.addr, port: e.port, outstanding: 0,
        consecutive5xx: 0, consecutiveGateway: 0, ejectedUntil: 0, ejections: 0, ejectionMs: 0,
        health: cluster.health_check ? 'pending' : 'unchecked', healthRun: 0,
        // A request still on an older config may reach an endpoint the current one dropped.
        removed: this.#live.size > 0 && !this.#live.has(key),
      };
      this.#endpoints.set(key, s);
    }
    return s;
  }

  /** Why the balancer should pass over `e` now, or null. */
  exclusion(cluster: Cluster, e: Endpoint, now: number): Exclusion | null {
    if (!cluster.outlier && !cluster.health_check) return null;
    const s = this.#endpoints.get(keyOf(cluster.service, e));
    if (!s) return cluster.health_check ? 'pending' : null;
    if (cluster.outlier && s.ejectedUntil > now) return 'ejected';
    if (cluster.health_check && (s.health === 'unhealthy' || s.health === 'pending')) return s.health;
    return null;
  }

  /** A try to `s` ends: one fewer in flight, and a removed endpoint's pool closes after its last. */
  finished(s: EndpointState): void {
    s.outstanding--;
    if (s.removed && s.outstanding === 0) this.#retire(keyOf(s.cluster, s), s);
  }

  /** Counts a try's outcome against its endpoint; true when it ejected the endpoint just now. */
  outcome(cluster: Cluster, s: EndpointState, outcome: Outcome, now: number): boolean {
    const od = cluster.outlier;
    if (!od || outcome === 'neutral') return false;
    if (outcome === 'success') {
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      return false;
    }
    s.consecutive5xx++;
    s.consecutiveGateway = outcome === 'gateway_error' ? s.consecutiveGateway + 1 : 0;
    const hit = (od.consecutive_5xx > 0 && s.consecutive5xx >= od.consecutive_5xx)
      || (od.consecutive_gateway_errors > 0 && s.consecutiveGateway >= od.consecutive_gateway_errors);
    if (!hit || s.ejectedUntil > now) return false;
    return this.#eject(cluster, od, s, now);
  }

  #eject(cluster: Cluster, od: OutlierDetection, s: EndpointState, now: number): boolean {
    const n = cluster.endpoints.length;
    const allowed = n <= 1 ? 0 : Math.min(n - 1, Math.max(1, Math.floor((n * od.max_ejection_percent) / 100)));
    let out = 0;
    for (const e of cluster.endpoints) if ((this.#endpoints.get(keyOf(cluster.service, e))?.ejectedUntil ?? 0) > now) out++;
    const counters = this.cluster(cluster.service).counters;
    if (out >= allowed) {
      counters.ejections_capped++;
      return false;
    }
    if (s.ejectedUntil > 0 && now - s.ejectedUntil > od.max_ejection_ms) s.ejections = 0;
    s.ejections++;
    const ms = Math.min(od.base_ejection_ms * s.ejections, od.max_ejection_ms);
    const why = s.consecutiveGateway >= od.consecutive_gateway_errors && od.consecutive_gateway_errors > 0
      ? `${s.consecutiveGateway} gateway errors in a row` : `${s.consecutive5xx} 5xx in a row`;
    s.ejectedUntil = now + ms;
    s.ejectionMs = ms;
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    counters.ejections++;
    this.o.log(`cluster ${cluster.service}: ejected ${s.instance} (${s.addr}:${s.port}) for ${ms} ms after ${why} (ejection ${s.ejections}; ${out + 1} of ${n} out)`);
    return true;
  }

  /** One health check's result for `e` (./health-checks.ts). */
  healthResult(cluster: Cluster, e: Endpoint, ok: boolean): void {
    const hc = cluster.health_check;
    if (!hc) return;
    const s = this.endpoint(cluster, e);
    const counters = this.cluster(cluster.service).counters;
    counters.health_checks++;
    if (!ok) counters.health_check_failures++;
    s.healthRun = ok ? Math.max(s.healthRun, 0) + 1 : Math.min(s.healthRun, 0) - 1;
    // A new endpoint's first verdict counts at once (as Envoy's): it was left out until then anyway.
    const was = s.health;
    if (ok && was !== 'healthy' && (was === 'pending' || s.healthRun >= hc.healthy_threshold)) s.health = 'healthy';
    if (!ok && was !== 'unhealthy' && (was === 'pending' || -s.healthRun >= hc.unhealthy_threshold)) s.health = 'unhealthy';
    if (s.health !== was && was !== 'pending') {
      this.o.log(`cluster ${cluster.service}: ${s.instance} (${s.addr}:${s.port}) is ${s.health} after ${Math.abs(s.healthRun)} health checks`);
    }
  }

  /** A new config: endpoints it dropped drain, those it added are known (pending their first health check where one is set). */
  reconcile(routing: RoutingState): void {
    const live = new Map<string, Cluster>();
    for (const c of routing.snapshot.clusters) for (const e of c.endpoints) live.set(keyOf(c.service, e), c);
    this.#live = new Set(live.keys());
    for (const [key, s] of this.#endpoints) {
      const c = live.get(key);
      if (!c) {
        s.removed = true;
        if (s.outstanding === 0) this.#retire(key, s);
        continue;
      }
      s.removed = false;
      if (!c.health_check) { s.health = 'unchecked'; s.healthRun = 0; } else if (s.health === 'unchecked') s.health = 'pending';
    }
    for (const c of routing.snapshot.clusters) for (const e of c.endpoints) this.endpoint(c, e).instance = e.instance;
  }

  #retire(key: string, s: EndpointState): void {
    this.#endpoints.delete(key);
    this.cluster(s.cluster).counters.drained++;
    // Another cluster may still reach the same address through the same pool.
    for (const other of this.#endpoints.values()) if (other.addr === s.addr && other.port === s.port) return;
    this.o.retire(s.addr, s.port);
  }

  stats(): Record<string, ClusterResilienceStats> {
    const now = this.o.now();
    const out: Record<string, ClusterResilienceStats> = {};
    for (const [service, c] of [...this.#clusters].sort(([a], [b]) => a.localeCompare(b))) out[service] = { ...c.counters, endpoints: [] };
    for (const s of this.#endpoints.values()) {
      const e: EndpointStats = { instance: s.instance, addr: `${s.addr}:${s.port}`, outstanding: s.outstanding, health: s.health, ejections: s.ejections };
      if (s.ejectedUntil > now) { e.ejected_by = 'sidecar'; e.ejected_until = s.ejectedUntil; e.ejection_ms = s.ejectionMs; }
      if (s.removed) e.removed = true;
      (out[s.cluster] ??= { ...this.cluster(s.cluster).counters, endpoints: [] }).endpoints.push(e);
    }
    return out;
  }
}
