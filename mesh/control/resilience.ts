// What a cluster says about failing upstreams, pushed in each snapshot and
// carried out by the sidecar (mesh/proxy/stages/retry.ts, balance.ts,
// endpoint-outcome.ts, ../proxy/health-checks.ts): retries with a budget,
// the sidecar's own outlier ejection and active health checks, beside the
// circuit-breaking bounds of the Cluster itself (max_concurrent,
// max_pending, max_connections). One set of rules for the control plane's
// settings and the sidecar's snapshot check (mesh/proxy/config-validate.ts),
// so what the control plane pushes is never NACKed for it.
//
// The defaults (DEFAULT_RESILIENCE) are what the control plane pushes to
// every cluster, chosen as a production mesh would:
// - retries as Istio's default (2 retries of connect failures, resets and
//   503s) with Linkerd's budget (retries at most 20% of the requests of the
//   last 10 s, plus 10 a second) and Envoy's backoff (25 ms doubling to
//   250 ms), idempotent methods only;
// - outlier ejection on gateway errors only (5 in a row: 502/503/504 or no
//   answer at all). A 500 is often about the request, not the instance, so
//   consecutive_5xx is off; 30 s growing by 30 s per ejection up to 300 s
//   and 10% of a cluster (always one endpoint while another is left), as
//   Envoy's defaults;
// - no active health check: a mesh does not know its workloads' health paths.

/** Failures a retry may follow (see stages/retry.ts for what each covers). */
export const RETRY_ON = ['connect-failure', 'reset', 'timeout', 'unavailable', 'gateway-error', '5xx', 'rate-limited'] as const;
export type RetryOn = (typeof RETRY_ON)[number];

/** Methods RFC 9110 §9.2.2 calls idempotent: sent twice, they do what sending once does. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/**
 * The header by which a workload marks its own non-idempotent request as
 * safe to send again (value "1"); honoured only where the cluster's
 * retry.non_idempotent is 'when_marked', and never forwarded (every
 * x-meshlens-* header is stripped).
 */
export const RETRYABLE_HEADER = 'x-meshlens-retryable';

export interface RetryBudget {
  /** Retries at most this share of the cluster's requests of the last 10 s (Linkerd's retryRatio), 0..1. */
  ratio: number;
  /** ... plus this many a second whatever the traffic (Linkerd's minRetriesPerSecond), so a quiet cluster may retry. */
  min_per_s: number;
}

export interface RetryPolicy {
  /** Retries after the first try (Istio's meaning), 1..5. */
  attempts: number;
  /** Bound of each try until the response head; absent: only the cluster's request_timeout_ms, which bounds all tries together. */
  per_try_timeout_ms?: number;
  /** Wait before retry n: between half and all of min(backoff_max_ms, backoff_base_ms * 2^(n-1)). */
  backoff_base_ms: number;
  backoff_max_ms: number;
  on: RetryOn[];
  budget: RetryBudget;
  /** 'when_marked': requests of other methods are retried too when they carry `x-meshlens-retryable: 1`. Absent: 'never'. */
  non_idempotent?: 'never' | 'when_marked';
  /** Largest request body (by Content-Length) the sidecar keeps to send again; absent: 65536. A chunked body is never retried. */
  max_body_bytes?: number;
}

export interface OutlierDetection {
  /** Eject after this many 5xx answers (or no answer) in a row; 0: off. */
  consecutive_5xx: number;
  /** Eject after this many gateway errors (502, 503, 504, or no answer) in a row; 0: off. */
  consecutive_gateway_errors: number;
  /** An endpoint's n-th ejection lasts n × this, at most max_ejection_ms. */
  base_ejection_ms: number;
  max_ejection_ms: number;
  /** Most of a cluster's endpoints ejected at once, in percent; one may always be, while another is left. */
  max_ejection_percent: number;
}

export interface HealthCheck {
  /** GET this path on every endpoint, over the same pools (mTLS in a mesh); a 2xx is healthy. */
  path: string;
  interval_ms: number;
  /** At most interval_ms. */
  timeout_ms: number;
  /** Failed checks in a row before an endpoint is left out. */
  unhealthy_threshold: number;
  /** Passed checks in a row before it is taken back. */
  healthy_threshold: number;
}

/** What the control plane pushes to every cluster (see the header for why). */
export interface ClusterResilience {
  lb: 'round_robin' | 'least_request';
  max_connections: number;
  retry?: RetryPolicy;
  outlier?: OutlierDetection;
  health_check?: HealthCheck;
}

export const DEFAULT_MAX_CONNECTIONS = 256;
export const DEFAULT_MAX_BODY_BYTES = 65_536;
export const MAX_RETRY_ATTEMPTS = 5;

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 2, backoff_base_ms: 25, backoff_max_ms: 250, on: ['connect-failure', 'reset', 'timeout', 'unavailable'],
  budget: { ratio: 0.2, min_per_s: 10 }, non_idempotent: 'never', max_body_bytes: DEFAULT_MAX_BODY_BYTES,
};

export const DEFAULT_OUTLIER: OutlierDetection = {
  consecutive_5xx: 0, consecutive_gateway_errors: 5, base_ejection_ms: 30_000, max_ejection_ms: 300_000, max_ejection_percent: 10,
};

export const DEFAULT_RESILIENCE: ClusterResilience = {
  lb: 'least_request', max_connections: DEFAULT_MAX_CONNECTIONS, retry: DEFAULT_RETRY, outlier: DEFAULT_OUTLIER,
};

/** Requests that may wait for a cluster slot: max_pending, or its older name max_queue. */
export const clusterMaxPending = (c: { max_pending?: number; max_queue?: number }): number => c.max_pending ?? c.max_queue ?? 0;

// ---------------------------------------------------------------------------
// Checks. Each returns every problem, naming the field under `at`.

const DAY_MS = 24 * 3600 * 1000;
const shown = (v: unknown) => JSON.stringify(typeof v === 'string' ? v.slice(0, 80) : v) ?? 'nothing';
const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;

function intIn(problems: string[], o: Record<string, unknown>, at: string, field: string, min: number, max: number, optional = false): void {
  const v = o[field];
  if (optional && v === undefined) return;
  if (!isInt(v, min, max)) problems.push(`${at}.${field}: must be an integer in ${min}..${max}, got ${shown(v)}`);
}

function numberIn(problems: string[], o: Record<string, unknown>, at: string, field: string, min: number, max: number): void {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) problems.push(`${at}.${field}: must be a number in ${min}..${max}, got ${shown(v)}`);
}

/** A misspelt field would otherwise be a setting silently not applied. */
function onlyFields(problems: string[], o: Record<string, unknown>, at: string, fields: readonly string[]): void {
  for (const k of Object.keys(o)) if (!fields.includes(k)) problems.push(`${at}: unknown field ${shown(k)} (only ${fields.join(', ')})`);
}

export function retryProblems(r: unknown, at: string, requestTimeoutMs?: number): string[] {
  if (!isObj(r)) return [`${at}: must be an object {attempts, backoff_base_ms, backoff_max_ms, on, budget, …}`];
  const p: string[] = [];
  onlyFields(p, r, at, ['attempts', 'per_try_timeout_ms', 'backoff_base_ms', 'backoff_max_ms', 'on', 'budget', 'non_idempotent', 'max_body_bytes']);
  intIn(p, r, at, 'attempts', 1, MAX_RETRY_ATTEMPTS);
  intIn(p, r, at, 'per_try_timeout_ms', 1, DAY_MS, true);
  if (isInt(r.per_try_timeout_ms, 1, DAY_MS) && requestTimeoutMs !== undefined && r.per_try_timeout_ms > requestTimeoutMs) {
    p.push(`${at}.per_try_timeout_ms: ${r.per_try_timeout_ms} is more than the cluster's request_timeout_ms (${requestTimeoutMs}), which bounds every try together`);
  }
  intIn(p, r, at, 'backoff_base_ms', 1, 60_000);
  intIn(p, r, at, 'backoff_max_ms', 1, 600_000);
  if (isInt(r.backoff_base_ms, 1, 60_000) && isInt(r.backoff_max_ms, 1, 600_000) && r.backoff_max_ms < r.backoff_base_ms) {
    p.push(`${at}.backoff_max_ms: must be at least backoff_base_ms (${r.backoff_base_ms}), got ${r.backoff_max_ms}`);
  }
  if (!Array.isArray(r.on) || r.on.length === 0) p.push(`${at}.on: must be a non-empty array of ${RETRY_ON.join(', ')}`);
  else {
    for (const [i, v] of r.on.entries()) {
      if (!(RETRY_ON as readonly unknown[]).includes(v)) p.push(`${at}.on[${i}]: ${shown(v)} is not one of ${RETRY_ON.join(', ')}`);
      else if (r.on.indexOf(v) !== i) p.push(`${at}.on[${i}]: ${shown(v)} is named twice`);
    }
  }
  if (!isObj(r.budget)) p.push(`${at}.budget: must be an object {ratio, min_per_s}`);
  else {
    onlyFields(p, r.budget, `${at}.budget`, ['ratio', 'min_per_s']);
    numberIn(p, r.budget, `${at}.budget`, 'ratio', 0, 1);
    numberIn(p, r.budget, `${at}.budget`, 'min_per_s', 0, 10_000);
  }
  if (r.non_idempotent !== undefined && r.non_idempotent !== 'never' && r.non_idempotent !== 'when_marked') {
    p.push(`${at}.non_idempotent: must be "never" or "when_marked", got ${shown(r.non_idempotent)}`);
  }
  intIn(p, r, at, 'max_body_bytes', 0, 1 << 20, true);
  return p;
}

export function outlierProblems(o: unknown, at: string): string[] {
  if (!isObj(o)) return [`${at}: must be an object {consecutive_5xx, consecutive_gateway_errors, base_ejection_ms, max_ejection_ms, max_ejection_percent}`];
  const p: string[] = [];
  onlyFields(p, o, at, ['consecutive_5xx', 'consecutive_gateway_errors', 'base_ejection_ms', 'max_ejection_ms', 'max_ejection_percent']);
  intIn(p, o, at, 'consecutive_5xx', 0, 1000);
  intIn(p, o, at, 'consecutive_gateway_errors', 0, 1000);
  if (o.consecutive_5xx === 0 && o.consecutive_gateway_errors === 0) p.push(`${at}: consecutive_5xx and consecutive_gateway_errors are both 0, so nothing would eject (leave outlier out instead)`);
  intIn(p, o, at, 'base_ejection_ms', 1, DAY_MS);
  intIn(p, o, at, 'max_ejection_ms', 1, DAY_MS);
  if (isInt(o.base_ejection_ms, 1, DAY_MS) && isInt(o.max_ejection_ms, 1, DAY_MS) && o.max_ejection_ms < o.base_ejection_ms) {
    p.push(`${at}.max_ejection_ms: must be at least base_ejection_ms (${o.base_ejection_ms}), got ${o.max_ejection_ms}`);
  }
  intIn(p, o, at, 'max_ejection_percent', 0, 100);
  return p;
}

const HEALTH_PATH = /^\/[\x21-\x7e]{0,255}$/;

export function healthCheckProblems(h: unknown, at: string): string[] {
  if (!isObj(h)) return [`${at}: must be an object {path, interval_ms, timeout_ms, unhealthy_threshold, healthy_threshold}`];
  const p: string[] = [];
  onlyFields(p, h, at, ['path', 'interval_ms', 'timeout_ms', 'unhealthy_threshold', 'healthy_threshold']);
  if (typeof h.path !== 'string' || !HEALTH_PATH.test(h.path)) p.push(`${at}.path: must be a path starting with "/" (at most 256 visible ASCII characters), got ${shown(h.path)}`);
  intIn(p, h, at, 'interval_ms', 10, 3_600_000);
  intIn(p, h, at, 'timeout_ms', 1, 3_600_000);
  if (isInt(h.interval_ms, 10, 3_600_000) && isInt(h.timeout_ms, 1, 3_600_000) && h.timeout_ms > h.interval_ms) {
    p.push(`${at}.timeout_ms: must be at most interval_ms (${h.interval_ms}), got ${h.timeout_ms}`);
  }
  intIn(p, h, at, 'unhealthy_threshold', 1, 100);
  intIn(p, h, at, 'healthy_threshold', 1, 100);
  return p;
}

/** The resilience fields of one cluster (lb, max_pending, max_connections, retry, outlier, health_check); `at` names it ("clusters[2]"). */
export function clusterResilienceProblems(c: Record<string, unknown>, at: string): string[] {
  const p: string[] = [];
  if (!(c.lb === 'round_robin' || c.lb === 'least_request')) p.push(`${at}.lb: must be "round_robin" or "least_request", got ${shown(c.lb)}`);
  intIn(p, c, at, 'max_pending', 0, 1_000_000, true);
  intIn(p, c, at, 'max_queue', 0, 1_000_000, true);
  if (c.max_pending !== undefined && c.max_queue !== undefined) p.push(`${at}.max_queue: the older name of max_pending; name one of them`);
  intIn(p, c, at, 'max_connections', 1, 65_535, true);
  const timeout = typeof c.request_timeout_ms === 'number' ? c.request_timeout_ms : undefined;
  if (c.retry !== undefined) p.push(...retryProblems(c.retry, `${at}.retry`, timeout));
  if (c.outlier !== undefined) p.push(...outlierProblems(c.outlier, `${at}.outlier`));
  if (c.health_check !== undefined) p.push(...healthCheckProblems(c.health_check, `${at}.health_check`));
  return p;
}
