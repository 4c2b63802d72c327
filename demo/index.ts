// Public surface of the demo application.
export { DEMO_TOPOLOGY, quietTopology, type DemoService } from './topology.ts';
export { startDemoMesh, type DemoControl, type DemoControlStatus, type DemoMesh, type DemoMeshOptions } from './mesh.ts';
export { runDemoApps } from './apps.ts';
export { startLoad, sendExactly, type LoadGenerator, type LoadStats } from './load.ts';
export { startWorkload } from './workload.ts';
export { Child, freePorts } from './child.ts';
export { DEFAULT_FAULT_PLAN, faultEffect, faultSchedule, type Fault, type FaultEffect, type FaultKind, type FaultPlan } from './faults.ts';
