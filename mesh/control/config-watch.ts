// What the change log (./config-log.ts) records: every change to what
// sidecars enforce, with the snapshot version that carried it, when, and
// who made it.
//
// Changes are found by comparison, on every push: each time the config
// streams push a new version (./config-stream.ts onPush), the state of each
// kind (authorization policy, route weights, ejections, rate limits, route
// resilience rules, the registry) is compared with what was last recorded, and each subject that
// differs becomes one ConfigChange at that version. So a change is
// recorded with the version that carried it to the sidecars even when a
// push carries several (a registry change waits COALESCE_MS for its push,
// and any other change pushes it along), and setting what is already set
// records nothing. The tuning policy is the control plane's own (sidecars
// never see it): its changes are recorded as they happen, at the version in
// force.
//
// Who: 'tuning' for what the tuning engine does through actingAs(), else
// 'operator' (the operator API, or in-process ControlPlane calls);
// 'sidecar' for the registry (a sidecar's config stream opened or closed),
// 'expiry' for an ejection that ran out. At start, and every checkpointMs,
// each kind's whole state is recorded under subject '*' (actor 'startup',
// 'checkpoint'), so the state in force before any period is in the log
// even once older records have passed the store's retention.

import { createHash } from 'node:crypto';
import { WHOLE_KIND, type ConfigChange, type ConfigChangeKind } from '../../ingest/index.ts';
import { ConfigLog, type ConfigChangeSink, type ConfigLogCounters } from './config-log.ts';
import type { ConfigStreams } from './config-stream.ts';
import type { Ejections } from './ejections.ts';
import type { PolicyBundles } from './policy-bundles.ts';
import type { RateLimits } from './rate-limits.ts';
import type { ServiceRegistry } from './registry.ts';
import type { RouteResilience } from './route-resilience.ts';
import type { RouteWeights } from './route-weights.ts';
import type { MeshControl, TuningPolicy } from './tuning/index.ts';

export interface WatchedConfig {
  registry: ServiceRegistry;
  policy: PolicyBundles;
  weights: RouteWeights;
  ejections: Ejections;
  limits: RateLimits;
  resilience: RouteResilience;
  streams: ConfigStreams;
}

export interface ConfigWatchOptions {
  /** How often each kind's whole state is recorded again (default a day). */
  checkpointMs?: number;
  now?: () => number;
  log?: (m: string) => void;
}

/** What GET /v1/status shows as `config_log`. */
export type ConfigLogStatus = ConfigLogCounters & { watch_errors: number };

/** Longest detail recorded (bytes of JSON); a larger state is recorded as its size and digest. */
export const MAX_DETAIL_BYTES = 32 * 1024;
export const DEFAULT_CHECKPOINT_MS = 24 * 3600 * 1000;

type KeyedKind = 'route' | 'ejection' | 'ratelimit' | 'resilience' | 'registry';
const KEYED: readonly KeyedKind[] = ['route', 'ejection', 'ratelimit', 'resilience', 'registry'];

export class ConfigWatch {
  readonly #log: ConfigLog;
  readonly #parts: WatchedConfig;
  readonly #now: () => number;
  readonly #say: (m: string) => void;
  readonly #checkpointMs: number;
  #tuning: TuningPolicy | null = null;
  /** Who makes the changes under way, while as() runs. */
  #actor: string | null = null;
  /** Per keyed kind, each subject's state as last recorded (JSON). */
  readonly #last = new Map<KeyedKind, Map<string, string>>();
  #authzDigest = '';
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #errors = 0;

  /** `changes`: the store to write to, or a ConfigLog over one (with its own retry settings). */
  constructor(changes: ConfigChangeSink | ConfigLog, parts: WatchedConfig, opts: ConfigWatchOptions = {}) {
    this.#say = opts.log ?? (() => {});
    this.#log = changes instanceof ConfigLog ? changes : new ConfigLog(changes, { log: this.#say });
    this.#parts = parts;
    this.#now = opts.now ?? Date.now;
    this.#checkpointMs = opts.checkpointMs ?? DEFAULT_CHECKPOINT_MS;
  }

  /** Watches the tuning engine's policy too; call before start(). */
  watchTuningPolicy(p: TuningPolicy): void { this.#tuning = p; }

  /** Records each kind's state in force (actor 'startup') and from then on every change. */
  start(): void {
    this.#recordWhole('startup');
    this.#parts.streams.onPush((version) => this.#guard(() => this.#pushed(version)));
    this.#tuning?.onChange(() => this.#guard(() => this.#record('tuning_policy', WHOLE_KIND, this.#tuningState(), this.#parts.streams.version, this.#actor ?? 'operator')));
    this.#timer = setInterval(() => this.#guard(() => this.#recordWhole('checkpoint')), this.#checkpointMs);
    this.#timer.unref();
  }

  /** Runs `fn` with `actor` as who makes the (synchronous) changes it causes. */
  as<T>(actor: string, fn: () => T): T {
    const before = this.#actor;
    this.#actor = actor;
    try {
      return fn();
    } finally {
      this.#actor = before;
    }
  }

  /** `mesh` whose changes are recorded as made by `actor` (the tuning engine's hands). */
  actingAs(actor: string, mesh: MeshControl): MeshControl {
    return {
      ...mesh,
      setRoute: (service, subsets) => this.as(actor, () => mesh.setRoute(service, subsets)),
      eject: (instance, untilMs, reason) => this.as(actor, () => mesh.eject(instance, untilMs, reason)),
      lift: (instance) => this.as(actor, () => mesh.lift(instance)),
      setRateLimits: (service, rules) => this.as(actor, () => mesh.setRateLimits(service, rules)),
    };
  }

  status(): ConfigLogStatus { return { ...this.#log.counters(), watch_errors: this.#errors }; }

  /** Everything recorded so far written (or given up on). */
  flush(): Promise<void> { return this.#log.flush(); }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#log.close();
  }

  /** A failure to find or record a change is counted and logged; it never reaches the push. */
  #guard(fn: () => void): void {
    if (this.#closed) return;
    try {
      fn();
    } catch (e) {
      this.#errors++;
      this.#say(`recording a config change failed (${this.#errors} so far): ${(e as Error).stack ?? e}`);
    }
  }

  #pushed(version: number): void {
    const actor = this.#actor ?? 'operator';
    const authz = this.#parts.policy.digest;
    if (authz !== this.#authzDigest) {
      this.#authzDigest = authz;
      this.#record('authz_policy', WHOLE_KIND, this.#authzState(), version, actor);
    }
    const now = this.#now();
    for (const kind of KEYED) {
      const before = this.#last.get(kind) ?? new Map<string, string>();
      const after = this.#keyedState(kind);
      for (const [subject, state] of after) {
        if (before.get(subject) === state) continue;
        this.#record(kind, subject, { digest: '', detail: state }, version, kind === 'registry' ? 'sidecar' : actor);
      }
      for (const [subject, state] of before) {
        if (after.has(subject)) continue;
        const ranOut = kind === 'ejection' && (JSON.parse(state) as { until: number }).until <= now;
        this.#record(kind, subject, { digest: '', detail: 'null' }, version, ranOut ? 'expiry' : actor);
      }
      this.#last.set(kind, after);
    }
  }

  #recordWhole(actor: string): void {
    const version = this.#parts.streams.version;
    this.#authzDigest = this.#parts.policy.digest;
    this.#record('authz_policy', WHOLE_KIND, this.#authzState(), version, actor);
    this.#record('tuning_policy', WHOLE_KIND, this.#tuningState(), version, actor);
    for (const kind of KEYED) {
      const state = this.#keyedState(kind);
      this.#last.set(kind, state);
      this.#record(kind, WHOLE_KIND, { digest: '', detail: `{${[...state].map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}` }, version, actor);
    }
  }

  #record(kind: ConfigChangeKind, subject: string, s: { digest: string; detail: string }, version: number, actor: string): void {
    const c: ConfigChange = { ts: this.#now(), version, kind, subject, digest: s.digest, actor, detail: bounded(s.detail) };
    this.#log.record(c);
  }

  #authzState(): { digest: string; detail: string } {
    const p = this.#parts.policy.status();
    return { digest: p.digest, detail: p.digest ? JSON.stringify({ source: p.source, bytes: p.bytes }) : 'null' };
  }

  #tuningState(): { digest: string; detail: string } {
    const p = this.#tuning?.status();
    return p?.digest ? { digest: p.digest, detail: JSON.stringify({ source: p.source }) } : { digest: '', detail: 'null' };
  }

  /** Each subject of a kind with its state as JSON: what its record's detail says. */
  #keyedState(kind: KeyedKind): Map<string, string> {
    const { weights, ejections, limits, resilience, registry } = this.#parts;
    switch (kind) {
      case 'route': return new Map(weights.status().routes.map((r) => [r.service, JSON.stringify({ subsets: r.subsets })]));
      case 'ejection': return new Map(ejections.active().map((e) => [e.instance, JSON.stringify({ service: e.service, until: e.until, reason: e.reason })]));
      case 'ratelimit': return new Map(limits.status().map((l) => [l.service, JSON.stringify({ rules: l.rules })]));
      case 'resilience': return new Map(resilience.status().map((r) => [r.service, JSON.stringify({ rules: r.rules })]));
      case 'registry': return new Map([...registry.routable()].map(([service, endpoints]) => [service, JSON.stringify({ endpoints })]));
    }
  }
}

/** A detail within MAX_DETAIL_BYTES: itself, or its size and SHA-256. */
function bounded(detail: string): string {
  const bytes = Buffer.byteLength(detail);
  if (bytes <= MAX_DETAIL_BYTES) return detail;
  return JSON.stringify({ truncated: true, bytes, sha256: createHash('sha256').update(detail).digest('hex') });
}
