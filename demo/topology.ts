// The demo application: five services with a shop's shape.
//
//   external ─► web ─┬─► catalog
//                    └─► cart ─┬─► payments
//                              └─► inventory
//
// Each call does a little work (log-normal service time), a small share of
// requests fail or are slow, so the graph and later the anomaly models have
// something realistic to look at.

export interface DemoService {
  name: string;
  /** Services called for each request, in order. */
  calls: string[];
  /** Median service time, ms (log-normal around it). */
  work_ms: number;
  /** Share of requests answered 500 by this service itself. */
  error_rate: number;
  /** Share of requests that take `slow_ms` extra. */
  slow_rate: number;
  slow_ms: number;
}

export const DEMO_TOPOLOGY: DemoService[] = [
  { name: 'web', calls: ['catalog', 'cart'], work_ms: 2, error_rate: 0, slow_rate: 0, slow_ms: 0 },
  { name: 'catalog', calls: [], work_ms: 4, error_rate: 0.002, slow_rate: 0.01, slow_ms: 120 },
  { name: 'cart', calls: ['payments', 'inventory'], work_ms: 3, error_rate: 0, slow_rate: 0, slow_ms: 0 },
  { name: 'payments', calls: [], work_ms: 8, error_rate: 0.02, slow_rate: 0.005, slow_ms: 300 },
  { name: 'inventory', calls: [], work_ms: 3, error_rate: 0.005, slow_rate: 0.03, slow_ms: 200 },
];

/** The same topology with no injected errors or slowness: for exact-count tests. */
export function quietTopology(): DemoService[] {
  return DEMO_TOPOLOGY.map((s) => ({ ...s, error_rate: 0, slow_rate: 0, work_ms: 0 }));
}
