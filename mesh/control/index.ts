// Public surface of the control plane.
export { startControlPlane, type ControlPlane, type ControlPlaneOptions, type ControlStatus } from './server.ts';
export { ServiceRegistry, type Registration } from './registry.ts';
export { DEFAULT_MESH_SETTINGS, type MeshSettings } from './snapshot-builder.ts';
export type { ProxyState } from './config-stream.ts';
export type { PolicyStatus } from './policy-bundles.ts';
export * from './snapshot.ts';
export { RouteWeightsError, MAX_WEIGHT, type SubsetWeight, type ServiceRouteWeights, type RouteWeightsStatus } from './route-weights.ts';
export { parseLabels, formatLabels, matchesSubset, labelProblems, type Labels } from './labels.ts';
