// The sidecar's public surface. `meshlens sidecar …` is
// `startSidecar(parseSidecarArgs(argv))`.

export { startSidecar, type Sidecar, type SidecarStats } from './sidecar.ts';
export { parseSidecarArgs, SIDECAR_USAGE, SidecarConfigError, type SidecarOptions, type HostPort, type StandaloneRoute } from './options.ts';
export { TapEmitter, type TapEmitterCounters, type TapInput } from './taps.ts';
export { MESH_ERRORS, MeshError, ERROR_HEADER, type MeshErrorCode } from './errors.ts';
export { MESH_HEADER_PREFIX } from './stages/mesh-headers.ts';
export { WorkloadIdentity, type TlsMaterial } from './workload-identity.ts';
export type { Stage } from './stage.ts';
export type { RequestContext } from './context.ts';
