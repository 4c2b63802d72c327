// Public surface of the demo application.
export { DEMO_TOPOLOGY, MAX_REPLICAS, quietTopology, versionsOf, type DemoService } from './topology.ts';
export { DEMO_SIDECAR_LIMITS, ScaleError, startDemoMesh, type DemoControl, type DemoControlStatus, type DemoMesh, type DemoMeshOptions } from './mesh.ts';
export type { WorkloadListeners } from './instance.ts';
export { ip, IP_BIN, NetnsError, openDemoNetwork, removeStaleNetworks, type DemoNetwork, type NamespaceHost } from './netns.ts';
export { isolateDemo, ISOLATE_MODES, SHARED_NETWORK_WARNING, type IsolateMode, type WorkloadIsolation } from './isolation.ts';
export { relayTcp, type TcpRelay } from './tcp-relay.ts';
export { runDemoApps } from './apps.ts';
export { requestPath, startLoad, sendExactly, type LoadGenerator, type LoadOptions, type LoadStats } from './load.ts';
export { startWorkload } from './workload.ts';
export { startBackgroundJob, type BackgroundJob } from './background-job.ts';
export { Child, freePorts } from './child.ts';
export {
  ANOMALY_FAULTS, DEFAULT_FAULT_PLAN, SCENARIOS, UP_CYCLE, activeFault, faultEffect, faultSchedule, isScenario, loadRateMultiplier, scenarioSchedule,
  type AnomalyFault, type Fault, type FaultEffect, type FaultKind, type FaultPlan, type FaultTarget, type Scenario,
} from './faults.ts';
