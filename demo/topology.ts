// The demo application: a shop, and a background job beside it.
//
//   external ─► web ─┬─► catalog (2 instances)
//                    └─► cart ─┬─► payments (v1, and v2 with no traffic until a rollout)
//                              └─► inventory
//   indexer (a timer, no inbound traffic) ─► catalog
//
// Each call does a little work (log-normal service time), a small share of
// requests fail or are slow, so the graph and later the anomaly models have
// something realistic to look at. Every instance carries a `version` label;
// a service with several versions starts with all its traffic on the first
// (./mesh.ts sets its route weights), so a rollout has somewhere to go.

export interface DemoService {
  name: string;
  /** Services called for each request (or, for a background job, on each tick), in order. */
  calls: string[];
  /** Median service time, ms (log-normal around it). */
  work_ms: number;
  /** Share of requests answered 500 by this service itself. */
  error_rate: number;
  /** Share of requests that take `slow_ms` extra. */
  slow_rate: number;
  slow_ms: number;
  /** One entry per instance at start (`<name>-1`, `<name>-2`, …): its `version` label. Absent: one instance, v1. */
  versions?: string[];
  /**
   * A background job: its sidecar has no inbound listener (nothing calls it),
   * and its workload calls `calls` on a timer, this many times a second.
   */
  background_rps?: number;
}

export const DEMO_TOPOLOGY: DemoService[] = [
  { name: 'web', calls: ['catalog', 'cart'], work_ms: 2, error_rate: 0, slow_rate: 0, slow_ms: 0 },
  { name: 'catalog', calls: [], work_ms: 4, error_rate: 0.002, slow_rate: 0.01, slow_ms: 120, versions: ['v1', 'v1'] },
  { name: 'cart', calls: ['payments', 'inventory'], work_ms: 3, error_rate: 0, slow_rate: 0, slow_ms: 0 },
  { name: 'payments', calls: [], work_ms: 8, error_rate: 0.02, slow_rate: 0.005, slow_ms: 300, versions: ['v1', 'v2'] },
  { name: 'inventory', calls: [], work_ms: 3, error_rate: 0.005, slow_rate: 0.03, slow_ms: 200 },
  { name: 'indexer', calls: ['catalog'], work_ms: 0, error_rate: 0, slow_rate: 0, slow_ms: 0, background_rps: 2 },
];

/** Most instances a service may run (DemoMesh.scale). */
export const MAX_REPLICAS = 8;

/** Each instance's version label at start, in instance order. */
export function versionsOf(service: DemoService): string[] {
  return service.versions?.length ? service.versions : ['v1'];
}

/**
 * The shop alone, one v1 instance per service, with no injected errors or
 * slowness and no background job: every request's taps are known exactly
 * (test/stack.ts's DEMO_HOPS), for exact-count tests.
 */
export function quietTopology(): DemoService[] {
  return DEMO_TOPOLOGY.filter((s) => !s.background_rps).map((s) => ({ ...s, versions: ['v1'], error_rate: 0, slow_rate: 0, work_ms: 0 }));
}
