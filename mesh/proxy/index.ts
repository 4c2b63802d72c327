// The sidecar's public surface. `meshlens sidecar …` is
// `startSidecar(parseSidecarArgs(argv))`.

export { startSidecar, type Sidecar, type SidecarStats } from './sidecar.ts';
export { parseSidecarArgs, SidecarConfigError, type SidecarOptions, type HostPort, type StandaloneRoute } from './options.ts';
export { TapEmitter, type TapEmitterCounters, type TapInput } from './taps.ts';
export { MESH_ERRORS, MeshError, ERROR_HEADER, type MeshErrorCode } from './errors.ts';
export { SRC_SERVICE_HEADER, SRC_INSTANCE_HEADER } from './stages/source-headers.ts';
export type { Stage } from './stage.ts';
export type { RequestContext } from './context.ts';
