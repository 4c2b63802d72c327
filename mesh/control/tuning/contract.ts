// The tuning policy's contract: the input document the engine builds every
// tick and the actions the policy (entrypoint meshlens/tuning/actions)
// answers with. docs/tuning.md is the user's copy of this; keep both true.
//
// Figures are over complete 10 s rollup buckets only (a bucket younger than
// the collector's lag is still filling), from taps whose batches the
// collector verified: a forged tap never reaches the store, so it never
// reaches this document.

import { ACTION_KINDS, type ActionKind } from '../../../ingest/index.ts';
import type { RateLimitRule } from '../snapshot.ts';

export type { RateLimitRule };

export const TUNING_ENTRYPOINT = 'meshlens/tuning/actions';

/** The action kinds: the action record's own list (ingest), so engine and store cannot disagree. */
export const TUNING_KINDS = ACTION_KINDS;
export type TuningKind = ActionKind;

/** Golden signals over one window. Rates per second; latencies request-weighted means of bucket quantiles. */
export interface Signals {
  requests: number;
  errors: number;
  /** errors / requests (0 without requests). Errors are 5xx and gateway failures, not denials. */
  error_rate: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  denies: number;
  /**
   * Seconds the figures cover. The recent window always; a baseline only
   * from its subject's first bucket with traffic on, so a mesh minutes old
   * does not read as quiet (rps is requests / window_s).
   */
  window_s: number;
}

export interface ServiceInput {
  /** Instances registered now (ejected ones included). */
  replicas: number;
  instances: { instance: string; version: string; ejected_until: number | null }[];
  /** The last `recent_s` seconds, and the `baseline_s` seconds before them. */
  recent: Signals;
  baseline: Signals;
  /** recent.rps / replicas not ejected. */
  rps_per_replica: number;
}

export interface EdgeInput { src: string; dst: string; recent: Signals; baseline: Signals }

export interface VersionInput { service: string; version: string; recent: Signals }

/** One instance as its callers' sidecars saw it over the recent window, beside the rest of its service. */
export interface InstanceInput {
  service: string;
  instance: string;
  version: string;
  recent: Signals;
  /** The same figures over the other instances of its service and version. */
  peers: Signals;
  /** Times this instance was ejected in the ejection memory (engine setting), and whether it is now. */
  ejections: number;
  ejected: boolean;
}

export interface AlertInput {
  id: string;
  scope: 'service' | 'edge';
  subject: string;
  opened_at: number;
  score: number;
  threshold: number;
  explanation: string;
  features: { name: string; share: number }[];
}

export interface RolloutInput {
  service: string;
  from: string;
  to: string;
  steps: number[];
  /** Index into steps of the weight `to` has now; -1 before the first. */
  step: number;
  weight: number;
  interval_s: number;
  started_at: number;
  step_started_at: number;
  /** The judge's verdict on `to` against `from` over the same windows since step_started_at. */
  judge: JudgeVerdict;
  state: 'progressing' | 'halted' | 'done' | 'rolled_back';
}

export interface JudgeVerdict {
  verdict: 'healthy' | 'unhealthy' | 'inconclusive';
  /** One sentence per check, with its figures. */
  reasons: string[];
  /** Requests and errors of each side over the windows compared. */
  baseline: { version: string; requests: number; errors: number; p50_ms: number; p99_ms: number };
  canary: { version: string; requests: number; errors: number; p50_ms: number; p99_ms: number };
  /** Buckets in which both versions had traffic. */
  windows: number;
}

export interface RecentAction { id: string; kind: TuningKind; subject: string; state: string; at: number; params: unknown }

export interface TuningInput {
  now: number;
  /** Windows, seconds. */
  recent_s: number;
  baseline_s: number;
  alerts: AlertInput[];
  services: Record<string, ServiceInput>;
  /** Keyed "src→dst". */
  edges: Record<string, EdgeInput>;
  /** Keyed "service@version". */
  versions: Record<string, VersionInput>;
  /** Keyed by instance name. */
  instances: Record<string, InstanceInput>;
  state: {
    routes: Record<string, { weight: number; [label: string]: string | number }[]>;
    replicas: Record<string, number>;
    ejected: { service: string; instance: string; until: number; reason: string }[];
    rate_limits: Record<string, RateLimitRule[]>;
    rollouts: RolloutInput[];
  };
  recent_actions: RecentAction[];
}

/** What the policy may ask for; `reason` and `signal` are required on each. */
export type ProposedAction =
  | ActionBase & { kind: 'shift'; service: string; subsets: { version: string; weight: number }[]; rollback?: boolean }
  | ActionBase & { kind: 'eject'; service: string; instance: string }
  | ActionBase & { kind: 'scale'; service: string; replicas: number }
  | ActionBase & { kind: 'ratelimit'; service: string; caller: string; rps: number; burst?: number; lift?: boolean };

export interface ActionBase {
  reason: string;
  /** Alert ids behind it; [] when none. */
  alerts: string[];
  /**
   * The signal the policy reacted to: the engine reads it again after the
   * watch window, and reverts the action if it got worse or did not improve.
   */
  signal: ActionSignal;
}

export interface ActionSignal {
  /** What the figure is of: "service", "edge" (subject "src→dst"), "version" ("svc@v"), "instance". */
  scope: 'service' | 'edge' | 'version' | 'instance';
  subject: string;
  metric: 'error_rate' | 'p50_ms' | 'p99_ms' | 'rps' | 'rps_per_replica';
  value: number;
  /** The level the policy considers healthy: verified when the figure is back at or under it. */
  threshold: number;
}

export const SIGNAL_SCOPES = ['service', 'edge', 'version', 'instance'] as const;
export const SIGNAL_METRICS = ['error_rate', 'p50_ms', 'p99_ms', 'rps', 'rps_per_replica'] as const;
