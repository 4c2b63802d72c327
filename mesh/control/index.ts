// Public surface of the control plane.
export { startControlPlane, type ControlPlane, type ControlPlaneOptions, type ControlStatus } from './server.ts';
export type { ReportsApi } from './reports-api.ts';
export { ServiceRegistry, type Registration } from './registry.ts';
export { DEFAULT_MESH_SETTINGS, type MeshSettings } from './snapshot-builder.ts';
export type { ProxyState } from './config-stream.ts';
export { ConfigLog, type ConfigChangeSink, type ConfigLogCounters, type ConfigLogOptions } from './config-log.ts';
export type { ConfigLogStatus } from './config-watch.ts';
export type { PolicyStatus } from './policy-bundles.ts';
export * from './snapshot.ts';
export { RouteWeightsError, MAX_WEIGHT, type SubsetWeight, type ServiceRouteWeights, type RouteWeightsStatus } from './route-weights.ts';
export { EjectionError, MAX_EJECTION_MS, type Ejection } from './ejections.ts';
export { RateLimitsError, type ServiceRateLimits } from './rate-limits.ts';
export { rateLimitProblems, MAX_RATE_LIMIT_RULES } from './rate-limit-rules.ts';
export { RouteResilienceError, type ServiceRouteResilience } from './route-resilience.ts';
export { routeResilienceProblems, matchOrder, matchingRule, overridden, MAX_ROUTE_RESILIENCE_RULES, RULE_METHODS, type OverriddenCluster } from './route-resilience-rules.ts';
export * from './resilience.ts';
export { connectTunnelProblems, MAX_CONNECT_PORTS, type ConnectTunnels } from './connect-tunnels.ts';
export { parseLabels, formatLabels, matchesSubset, labelProblems, type Labels } from './labels.ts';
export {
  TuningEngine, TuningPolicy, TuningError, DEFAULT_TUNING_POLICY_DIR, DEFAULT_TUNING_SETTINGS, TUNING_ENTRYPOINT, TUNING_KINDS, TUNING_MODES, parseModes, storeSources,
  KubernetesScaleActuator, inClusterAccess, RolloutError,
  type ScaleActuator, type TuningSettings, type MeshView, type MeshControl,
} from './tuning/index.ts';
