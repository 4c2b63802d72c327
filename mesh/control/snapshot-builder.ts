// Builds each sidecar's ConfigSnapshot from the registry. Every service gets
// a route whose authority is its name and one cluster of its endpoints, so a
// workload reaches `http://cart/...` through its outbound sidecar. A
// service whose instances are all gone keeps its route and an empty
// cluster (registry.routable()): callers get 503, not 404. A service with
// route weights set (./route-weights.ts) gets one backend per subset of its
// one cluster instead, chosen by the endpoints' labels in each sidecar.
// An ejected instance (./ejections.ts) is left out of its cluster in every
// other sidecar's snapshot, with a floor: ejections never empty a cluster
// (endpointsKept keeps the one ejected last). A service with rate limits
// (./rate-limits.ts) gets them as `rate_limits` in its own sidecars' snapshots.
// Every cluster carries the mesh's resilience settings (./resilience.ts:
// lb, connections, retries, outlier ejection, health check), replaced field
// by field for services named in resilience_by_service. A service with route
// resilience overrides (./route-resilience.ts) gets them as its route's
// `resilience` in every sidecar's snapshot (its callers apply them), and one
// named in connect_by_service its CONNECT ports (./connect-tunnels.ts).

import { connectTunnelProblems, type ConnectTunnels } from './connect-tunnels.ts';
import { endpointsKept, type EjectedInstances } from './ejections.ts';
import type { ServiceRegistry } from './registry.ts';
import { clusterResilienceProblems, DEFAULT_RESILIENCE, type ClusterResilience } from './resilience.ts';
import type { OverriddenCluster } from './route-resilience-rules.ts';
import { DEFAULT_TAP_CAPTURE, type Backend, type Cluster, type ConfigSnapshot, type RateLimitRule, type Route, type RouteResilienceRule, type TapCapture } from './snapshot.ts';

export interface MeshSettings {
  connect_timeout_ms: number;
  request_timeout_ms: number;
  /** Every cluster's concurrency bound in each sidecar (Cluster.max_concurrent, max_pending). */
  max_concurrent: number;
  max_pending: number;
  /** Every cluster's lb, connections per endpoint, retries, outlier ejection and health check (./resilience.ts). */
  resilience: ClusterResilience;
  /** Per service, fields that replace `resilience`'s for that service's cluster (a retry policy, a health check, …). */
  resilience_by_service?: Record<string, Partial<ClusterResilience>>;
  /** Per service, the ports a CONNECT may tunnel to (./connect-tunnels.ts); a service not named refuses every CONNECT. */
  connect_by_service?: Record<string, ConnectTunnels>;
  taps: TapCapture;
}

export const DEFAULT_MESH_SETTINGS: MeshSettings = {
  connect_timeout_ms: 1_000,
  request_timeout_ms: 15_000,
  // As generous as Envoy's circuit-breaker default (1024 requests per cluster):
  // a guard against runaway fan-out; a latency bound needs a per-mesh figure near capacity.
  max_concurrent: 1024,
  max_pending: 0,
  resilience: DEFAULT_RESILIENCE,
  taps: DEFAULT_TAP_CAPTURE,
};

/** Every problem with the resilience settings, as each cluster built from them would be NACKed for it; [] when none. */
export function meshSettingsProblems(settings: MeshSettings): string[] {
  const cluster = (r: Partial<ClusterResilience>) => ({ ...settings.resilience, ...r, request_timeout_ms: settings.request_timeout_ms });
  return [
    ...clusterResilienceProblems(cluster({}), 'settings.resilience'),
    ...Object.entries(settings.resilience_by_service ?? {}).flatMap(([service, r]) => clusterResilienceProblems(cluster(r), `settings.resilience_by_service.${service}`)),
    ...Object.entries(settings.connect_by_service ?? {}).flatMap(([service, c]) => connectTunnelProblems(c, `settings.connect_by_service.${service}`)),
  ];
}

/** The request timeout and retry policy a service's cluster is built with: what its route resilience rules are judged against. */
export function overriddenCluster(settings: MeshSettings, service: string): OverriddenCluster {
  const { retry } = { ...settings.resilience, ...settings.resilience_by_service?.[service] };
  return { request_timeout_ms: settings.request_timeout_ms, ...(retry ? { retry } : {}) };
}

/** A service's weighted backends (./route-weights.ts), or undefined for the default route. */
export type RouteBackends = (service: string) => Backend[] | undefined;

/** Mesh state beyond the registry that shapes snapshots. */
export interface SnapshotExtras {
  /** Instances ejected now (./ejections.ts). */
  ejected?: EjectedInstances;
  /** The rules a service's own sidecars enforce (./rate-limits.ts), or undefined for none. */
  rateLimits?: (service: string) => RateLimitRule[] | undefined;
  /** The per-request overrides on a service's route (./route-resilience.ts), or undefined for none. */
  routeResilience?: (service: string) => RouteResilienceRule[] | undefined;
}

export function buildSnapshot(
  registry: ServiceRegistry, proxy: string, service: string, version: number, settings: MeshSettings, policyDigest = '',
  weighted: RouteBackends = () => undefined, extras: SnapshotExtras = {},
): ConfigSnapshot {
  const clusters: Cluster[] = [];
  const routes: Route[] = [];
  for (const [name, endpoints] of registry.routable()) {
    const { lb, max_connections, retry, outlier, health_check } = { ...settings.resilience, ...settings.resilience_by_service?.[name] };
    clusters.push({
      service: name, endpoints: extras.ejected ? endpointsKept(endpoints, extras.ejected, proxy) : endpoints, lb,
      connect_timeout_ms: settings.connect_timeout_ms, request_timeout_ms: settings.request_timeout_ms,
      max_concurrent: settings.max_concurrent, max_pending: settings.max_pending, max_connections,
      ...(retry ? { retry } : {}), ...(outlier ? { outlier } : {}), ...(health_check ? { health_check } : {}),
      ...(settings.connect_by_service?.[name] ? { connect: settings.connect_by_service[name] } : {}),
    });
    const overrides = extras.routeResilience?.(name);
    routes.push({ authority: name, backends: weighted(name) ?? [{ cluster: name, weight: 1 }], ...(overrides ? { resilience: overrides } : {}) });
  }
  const snapshot: ConfigSnapshot = { version, proxy, service, routes, clusters, taps: settings.taps, policy_digest: policyDigest };
  const limits = extras.rateLimits?.(service);
  if (limits && limits.length > 0) snapshot.rate_limits = limits;
  return snapshot;
}
