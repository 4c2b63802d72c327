// Public surface of the demo application.
export { DEMO_TOPOLOGY, quietTopology, type DemoService } from './topology.ts';
export { DEMO_SIDECAR_LIMITS, startDemoMesh, type DemoControl, type DemoControlStatus, type DemoMesh, type DemoMeshOptions, type WorkloadListeners } from './mesh.ts';
export { ip, IP_BIN, NetnsError, openDemoNetwork, removeStaleNetworks, type DemoNetwork, type NamespaceHost } from './netns.ts';
export { isolateDemo, ISOLATE_MODES, SHARED_NETWORK_WARNING, type IsolateMode, type WorkloadIsolation } from './isolation.ts';
export { relayTcp, type TcpRelay } from './tcp-relay.ts';
export { runDemoApps } from './apps.ts';
export { requestPath, startLoad, sendExactly, type LoadGenerator, type LoadStats } from './load.ts';
export { startWorkload } from './workload.ts';
export { Child, freePorts } from './child.ts';
export { DEFAULT_FAULT_PLAN, faultEffect, faultSchedule, type Fault, type FaultEffect, type FaultKind, type FaultPlan } from './faults.ts';
