// Builds the tuning policy's input document (contract.ts) from what the
// store recorded (rollups, per-version rollups, per-instance figures, open
// alerts) and what the control plane holds now (registry, route weights,
// ejections, rate limits), at a given moment: the live engine asks for
// "now", `meshlens replay` for moments in stored history.

import type {
  AlertInput, EdgeInput, InstanceInput, RateLimitRule, RecentAction, RolloutInput, ServiceInput, Signals, TuningInput, VersionInput,
} from './contract.ts';

/** Rollup bucket width, ms (ingest's 10 s rollups). */
export const BUCKET_MS = 10_000;

/** One rollup bucket's figures, as the store's rollup rows carry them. */
export interface BucketFigures { bucket: number; requests: number; errors: number; p50_ms: number; p99_ms: number; denies: number }

export interface InstanceFigures { service: string; instance: string; version: string; requests: number; errors: number; p50_ms: number; p99_ms: number }

/** What the engine reads from the store; every figure comes from verified taps. */
export interface TuningSources {
  openAlerts(): Promise<AlertInput[]>;
  serviceRollups(fromMs: number, untilMs: number): Promise<(BucketFigures & { service: string })[]>;
  edgeRollups(fromMs: number, untilMs: number): Promise<(BucketFigures & { src: string; dst: string })[]>;
  versionRollups(fromMs: number, untilMs: number): Promise<(BucketFigures & { service: string; version: string })[]>;
  /** Requests to each instance as its callers' sidecars recorded them, fromMs <= ts < untilMs. */
  instanceFigures(fromMs: number, untilMs: number): Promise<InstanceFigures[]>;
}

/** What the engine reads from the control plane. */
export interface MeshView {
  instances(): { service: string; instance: string; version: string }[];
  routes(): { service: string; subsets: { weight: number; [label: string]: string | number }[] }[];
  ejections(): { service: string; instance: string; until: number; reason: string }[];
  rateLimits(): { service: string; rules: RateLimitRule[] }[];
}

export interface InputWindows { recentS: number; baselineS: number; lagMs: number; instanceWindowS: number; instanceLagMs: number }

export async function buildInput(
  now: number, w: InputWindows, sources: TuningSources, mesh: MeshView,
  extra: { alerts: AlertInput[]; rollouts: RolloutInput[]; recentActions: RecentAction[]; ejectionCount: (instance: string) => number },
): Promise<TuningInput> {
  // Complete buckets only: the newest one ending at least lagMs ago.
  const until = Math.floor((now - w.lagMs) / BUCKET_MS) * BUCKET_MS;
  const recentFrom = until - w.recentS * 1000;
  const baseFrom = recentFrom - w.baselineS * 1000;
  const instUntil = now - w.instanceLagMs;
  const alerts = extra.alerts;
  const [svc, edges, versions, inst] = await Promise.all([
    sources.serviceRollups(baseFrom, until),
    sources.edgeRollups(baseFrom, until),
    sources.versionRollups(recentFrom, until),
    sources.instanceFigures(instUntil - w.instanceWindowS * 1000, instUntil),
  ]);
  const registered = mesh.instances();
  const ejected = mesh.ejections().filter((e) => e.until > now);
  const ejectedUntil = new Map(ejected.map((e) => [e.instance, e.until]));
  const split = <T extends BucketFigures>(rows: T[], key: (r: T) => string) => {
    const out = new Map<string, { recent: T[]; base: T[] }>();
    for (const r of rows) {
      const e = out.get(key(r)) ?? { recent: [], base: [] };
      (r.bucket >= recentFrom ? e.recent : e.base).push(r);
      out.set(key(r), e);
    }
    return out;
  };

  const services: Record<string, ServiceInput> = {};
  const names = new Set([...registered.map((r) => r.service), ...svc.map((r) => r.service)]);
  const svcRows = split(svc, (r) => r.service);
  for (const name of [...names].sort()) {
    const instances = registered.filter((r) => r.service === name).sort((a, b) => a.instance.localeCompare(b.instance))
      .map((r) => ({ instance: r.instance, version: r.version, ejected_until: ejectedUntil.get(r.instance) ?? null }));
    const rows = svcRows.get(name) ?? { recent: [], base: [] };
    const recent = signals(rows.recent, w.recentS);
    const baseline = baselineOf(rows.base, recentFrom, w.baselineS);
    const serving = instances.filter((i) => i.ejected_until === null).length;
    services[name] = {
      replicas: instances.length, instances, recent, baseline,
      rps_per_replica: serving > 0 ? recent.rps / serving : recent.rps,
    };
  }
  const edgeInput: Record<string, EdgeInput> = {};
  for (const [key, rows] of split(edges, (r) => `${r.src}→${r.dst}`)) {
    const [src, dst] = key.split('→');
    edgeInput[key] = { src, dst, recent: signals(rows.recent, w.recentS), baseline: baselineOf(rows.base, recentFrom, w.baselineS) };
  }
  const versionInput: Record<string, VersionInput> = {};
  for (const [key, rows] of split(versions, (r) => `${r.service}@${r.version}`)) {
    const at = key.lastIndexOf('@');
    versionInput[key] = { service: key.slice(0, at), version: key.slice(at + 1), recent: signals(rows.recent, w.recentS) };
  }
  const instances: Record<string, InstanceInput> = {};
  for (const r of inst) {
    // Peers run the same version: a new version differing from the old is the canary judge's business, not an outlier.
    const peers = inst.filter((p) => p.service === r.service && p.version === r.version && p.instance !== r.instance);
    instances[r.instance] = {
      service: r.service, instance: r.instance, version: r.version,
      recent: signals([{ bucket: 0, denies: 0, ...r }], w.instanceWindowS),
      peers: signals(peers.map((p) => ({ bucket: 0, denies: 0, ...p })), w.instanceWindowS),
      ejections: extra.ejectionCount(r.instance), ejected: ejectedUntil.has(r.instance),
    };
  }
  const replicas: Record<string, number> = {};
  for (const [n, s] of Object.entries(services)) replicas[n] = s.replicas;
  return {
    now, recent_s: w.recentS, baseline_s: w.baselineS,
    alerts, services, edges: edgeInput, versions: versionInput, instances,
    state: {
      routes: Object.fromEntries(mesh.routes().map((r) => [r.service, r.subsets])),
      replicas,
      ejected,
      rate_limits: Object.fromEntries(mesh.rateLimits().filter((r) => r.rules.length > 0).map((r) => [r.service, r.rules])),
      rollouts: extra.rollouts,
    },
    recent_actions: extra.recentActions,
  };
}

/** Golden signals over buckets covering `windowS` seconds (latencies request-weighted). */
export function signals(rows: BucketFigures[], windowS: number): Signals {
  const requests = rows.reduce((n, r) => n + r.requests, 0);
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  const w = (f: (r: BucketFigures) => number) => (requests ? rows.reduce((n, r) => n + f(r) * r.requests, 0) / requests : 0);
  return {
    requests, errors, error_rate: requests ? errors / requests : 0, rps: windowS > 0 ? requests / windowS : 0, window_s: windowS,
    p50_ms: round(w((r) => r.p50_ms)), p99_ms: round(w((r) => r.p99_ms)), denies: rows.reduce((n, r) => n + r.denies, 0),
  };
}

const round = (x: number) => Math.round(x * 10) / 10;

/**
 * A subject's baseline over the buckets after its first with traffic (that
 * one may hold only the last seconds of a start), up to `end`; window_s is
 * the time they cover, so a young subject does not read as quiet.
 */
function baselineOf(rows: BucketFigures[], end: number, maxS: number): Signals {
  const first = rows.reduce((m, r) => (r.requests > 0 ? Math.min(m, r.bucket) : m), Infinity);
  if (!Number.isFinite(first)) return signals([], 0);
  const from = Math.max(first + BUCKET_MS, end - maxS * 1000);
  return signals(rows.filter((r) => r.bucket >= from), Math.max(0, (end - from) / 1000));
}

/** The figure an action's signal names, read from an input document; null when the subject has no figures. */
export function readSignal(input: TuningInput, s: { scope: string; subject: string; metric: string }): number | null {
  const figures = (): (Signals & { rps_per_replica?: number }) | undefined => {
    switch (s.scope) {
      case 'service': { const x = input.services[s.subject]; return x && { ...x.recent, rps_per_replica: x.rps_per_replica }; }
      case 'edge': return input.edges[s.subject]?.recent;
      case 'version': return input.versions[s.subject]?.recent;
      case 'instance': return input.instances[s.subject]?.recent;
    }
    return undefined;
  };
  const f = figures();
  if (!f) return s.metric === 'rps' || s.metric === 'error_rate' ? 0 : null;
  const v = (f as unknown as Record<string, number | undefined>)[s.metric];
  return v === undefined ? null : v;
}
