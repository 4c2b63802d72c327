// What the Actions panel's "Start a rollout" form offers and reads: the
// services with more than one version (from the control plane's status,
// `services` service -> endpoints with `labels.version`), each with the
// versions it may roll out to, and the steps typed as "5,25,50,100". The
// version carrying the most traffic is left out of the choices, as the engine
// rolls out from it: the route's weights (ties: route order), or without a
// route the instance count (ties: name order), as the engine's sharesOf does.
// Pure, and bundled into /graph.js.

export interface RolloutChoice {
  service: string;
  /** Every labelled version, in name order. */
  versions: string[];
  /** The version carrying the most traffic now: the rollout's `from`. */
  from: string;
  /** What the form offers as `to`: `versions` without `from`. */
  targets: string[];
}

const obj = (v: unknown): Record<string, unknown> | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : null);
const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(obj).filter((x): x is Record<string, unknown> => x !== null) : []);
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** One choice per service with two or more versions, in service name order; [] for a status of another shape. */
export function rolloutChoices(control: unknown): RolloutChoice[] {
  const services = obj(obj(control)?.services) ?? {};
  const routes = list(obj(obj(control)?.routes)?.routes);
  const out: RolloutChoice[] = [];
  for (const service of Object.keys(services).sort(byName)) {
    const counts = new Map<string, number>();
    for (const e of list(services[service])) {
      const v = obj(e.labels)?.version;
      if (typeof v === 'string' && v !== '') counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    if (counts.size < 2) continue;
    const versions = [...counts.keys()].sort(byName);
    const route = routes.find((r) => r.service === service);
    const shares = route
      ? list(route.subsets).map((s) => ({ version: String(s.version ?? ''), weight: typeof s.weight === 'number' ? s.weight : 0 }))
      : versions.map((version) => ({ version, weight: counts.get(version)! }));
    // A stable sort: equal weights keep route (or name) order.
    const from = [...shares].sort((a, b) => b.weight - a.weight)[0]?.version ?? '';
    out.push({ service, versions, from, targets: versions.filter((v) => v !== from) });
  }
  return out;
}

/** "5, 25,50,100" -> {steps: [5, 25, 50, 100]}; anything but whole numbers -> {problem}. The engine checks range and order. */
export function parseSteps(text: string): { steps: number[] } | { problem: string } {
  const parts = text.split(',').map((s) => s.trim());
  const bad = parts.filter((s) => !/^\d{1,3}$/.test(s));
  if (text.trim() === '') return { problem: 'steps: none given; give whole percentages, comma-separated, e.g. 5,25,50,100' };
  if (bad.length) {
    return { problem: `steps: not whole percentages: ${bad.map((s) => JSON.stringify(s.slice(0, 20))).join(', ')}; give them comma-separated, e.g. 5,25,50,100` };
  }
  return { steps: parts.map(Number) };
}
