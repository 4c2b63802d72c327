// Tap schema, version 1: the one definition of what a sidecar records.
//
// Events are flat records (no nesting) so that one event is one ClickHouse row
// and the validator below is the whole contract. Fields that do not apply to a
// kind are absent from the JSON and take column defaults in the store.
//
// Secrets never enter a tap: the sidecar strips query strings (except
// allow-listed keys) and captures only allow-listed headers; `FORBIDDEN_HEADERS`
// are refused here as well, so a misconfigured sidecar cannot leak them.

export const TAP_SCHEMA_VERSION = 1 as const;

export const TAP_KINDS = ['l4.open', 'l4.close', 'l7.request'] as const;
export type TapKind = (typeof TAP_KINDS)[number];

export const DIRECTIONS = ['inbound', 'outbound'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** A policy decision on an l7.request ('none': no policy was configured, or it failed open). */
export const DECISIONS = ['allow', 'deny', 'none'] as const;
export type Decision = (typeof DECISIONS)[number];

/** How an L4 connection ended. */
export const L4_ENDS = ['local_close', 'remote_close', 'error', 'timeout'] as const;
export type L4End = (typeof L4_ENDS)[number];

/**
 * Decisions the data plane took on an l7.request beyond its status and
 * error (mesh/proxy/stages/retry.ts, balance.ts, …); a tap's `flags` names
 * those taken, comma-separated in this order:
 *   retried                 it was sent again at least once (`retries` says how often)
 *   retry_budget_exhausted  a failed try qualified for a retry, but the cluster's retry budget was spent
 *   retry_not_allowed       a failed try matched the retry policy, but this request may not be sent again
 *                           (a method that is not idempotent and not marked retryable where allowed, or a body not kept)
 *   per_try_timeout         a try outlived the retry policy's per_try_timeout_ms
 *   timed_out               the request outlived the cluster's (or --timeout-ms's) request timeout
 *   ejected_skip            the balancer passed over endpoints this sidecar had ejected as outliers
 *   health_excluded         the balancer passed over endpoints failing their active health check
 *   panic                   every endpoint was ejected or failing, so the balancer ignored both
 *   ejected                 this request's failure ejected its endpoint
 *   breaker_open            the cluster's circuit breaker (max_concurrent and max_pending) refused it
 * In SQL: has(splitByChar(',', flags), 'retried'), on every server version.
 */
export const TAP_FLAGS = [
  'retried', 'retry_budget_exhausted', 'retry_not_allowed', 'per_try_timeout', 'timed_out',
  'ejected_skip', 'health_excluded', 'panic', 'ejected', 'breaker_open',
] as const;
export type TapFlag = (typeof TAP_FLAGS)[number];

/** An l7.request's protocol toward the sidecar that recorded it ('' unknown). */
export const TAP_PROTOCOLS = ['', 'http/1.0', 'http/1.1', 'h2', 'h2c', 'grpc', 'ws', 'connect', 'tcp'] as const;
export type TapProtocol = (typeof TAP_PROTOCOLS)[number];

/** Source service recorded on inbound taps when the client has no sidecar. */
export const EXTERNAL_SERVICE = 'external';

/** Header values that must never leave a sidecar, whatever the allow-list says. */
export const FORBIDDEN_HEADERS: ReadonlySet<string> = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key',
]);

interface TapCommon {
  v: 1;
  kind: TapKind;
  /** Emitting sidecar id, e.g. "cart-1". */
  proxy: string;
  /** Per-proxy sequence number, 0-based, no gaps. */
  seq: number;
  /** Start of the connection or request, epoch milliseconds. */
  ts: number;
  direction: Direction;
  /** Connection id, unique within the proxy; joins l4 and l7 events. */
  conn_id: string;
  src_service: string;
  src_instance: string;
  src_addr: string;
  src_port: number;
  dst_service: string;
  dst_instance: string;
  dst_addr: string;
  dst_port: number;
  /** SPIFFE ids and TLS version, once mTLS exists. */
  src_identity?: string;
  dst_identity?: string;
  tls_version?: string;
  /**
   * The `version` label of the instance on each side ('' or absent:
   * unknown). A sidecar knows its own (`--label version=…`) and, outbound,
   * the label of the endpoint it picked; never the caller's on an inbound
   * tap, which nothing proves. Last on event lines (APPENDED_FIELDS).
   */
  src_version?: string;
  dst_version?: string;
}

export interface L4OpenTap extends TapCommon {
  kind: 'l4.open';
}

export interface L4CloseTap extends TapCommon {
  kind: 'l4.close';
  /** Bytes received from the downstream (client) side. */
  bytes_in: number;
  /** Bytes sent to the downstream (client) side. */
  bytes_out: number;
  duration_ms: number;
  end: L4End;
  error?: string;
}

export interface L7RequestTap extends TapCommon {
  kind: 'l7.request';
  method: string;
  authority: string;
  /** Path without query string; allow-listed query keys are kept as `?k=v`. */
  path: string;
  /** 0 when no response was obtained (upstream unreachable, reset). */
  status: number;
  latency_ms: number;
  /** Request and response body sizes in bytes. */
  req_bytes: number;
  resp_bytes: number;
  /** Upstream endpoint that served the request, "addr:port", "" if none. */
  upstream: string;
  retries: number;
  /** W3C trace id from `traceparent`, "" when absent. */
  trace_id: string;
  /** Allow-listed request headers, lower-case names. */
  headers?: Record<string, string>;
  decision?: Decision;
  decision_reason?: string;
  /** Proxy-side error code (MESH_ERR_*), "" when none. */
  error?: string;
  /** TAP_FLAGS taken, comma-separated in TAP_FLAGS order; absent when none. Last on event lines, with the four below. */
  flags?: string;
  protocol?: TapProtocol;
  /** gRPC only: the service and method of the path /<service>/<method>, and the grpc-status answered (absent or -1: none). */
  grpc_service?: string;
  grpc_method?: string;
  grpc_status?: number;
}

export type TapEvent = L4OpenTap | L4CloseTap | L7RequestTap;

// ---------------------------------------------------------------------------
// Runtime validation. Returns every problem found, each naming the field, so
// a rejected batch says exactly what was wrong and where.

/**
 * What the common checks accept, said as data, so the collector's event
 * line reader (../tap-line-rows.ts) can check a value on the line's bytes
 * without making it a JavaScript value first. A check without one is
 * called on the value.
 */
export type CheckSpec =
  | { type: 'str'; max: number } | { type: 'uint'; max: number } | { type: 'int'; min: number; max: number }
  | { type: 'nonneg' } | { type: 'enum'; values: readonly string[] };
type Check = ((v: unknown) => string | null) & { spec?: CheckSpec };
const specified = (check: Check, spec: CheckSpec): Check => Object.assign(check, { spec });

const str = (max = 1024): Check => specified((v) =>
  typeof v !== 'string' ? 'must be a string' : v.length > max ? `longer than ${max} characters` : null, { type: 'str', max });
const uint = (max = Number.MAX_SAFE_INTEGER): Check => specified((v) =>
  typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max ? `must be an integer in 0..${max}` : null, { type: 'uint', max });
const nonNeg: Check = specified((v) =>
  typeof v !== 'number' || !Number.isFinite(v) || v < 0 ? 'must be a finite number >= 0' : null, { type: 'nonneg' });
const oneOf = (values: readonly string[]): Check => specified((v) =>
  typeof v !== 'string' || !values.includes(v) ? `must be one of ${values.join(', ')}` : null, { type: 'enum', values });
const int = (min: number, max: number): Check => specified((v) =>
  typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max ? `must be an integer in ${min}..${max}` : null, { type: 'int', min, max });
const flagList: Check = (v) => {
  if (typeof v !== 'string') return 'must be a string';
  if (v === '') return null;
  const names = v.split(',');
  let last = -1;
  for (const n of names) {
    const i = (TAP_FLAGS as readonly string[]).indexOf(n);
    if (i < 0) return `"${n.slice(0, 32)}" is not one of ${TAP_FLAGS.join(', ')}`;
    if (i <= last) return 'must name each flag once, in the order of TAP_FLAGS';
    last = i;
  }
  return null;
};
const headerMap: Check = (v) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'must be an object of strings';
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string') return `header ${k} must be a string`;
    if (FORBIDDEN_HEADERS.has(k.toLowerCase())) return `header ${k} must never be captured`;
  }
  return null;
};

const COMMON: Record<string, [Check, boolean]> = {
  v: [(v) => (v === TAP_SCHEMA_VERSION ? null : `must be ${TAP_SCHEMA_VERSION}`), true],
  kind: [oneOf(TAP_KINDS), true],
  proxy: [str(128), true],
  seq: [uint(), true],
  ts: [uint(), true],
  direction: [oneOf(DIRECTIONS), true],
  conn_id: [str(128), true],
  src_service: [str(128), true],
  src_instance: [str(128), true],
  src_addr: [str(64), true],
  src_port: [uint(65535), true],
  dst_service: [str(128), true],
  dst_instance: [str(128), true],
  dst_addr: [str(64), true],
  dst_port: [uint(65535), true],
  src_identity: [str(512), false],
  dst_identity: [str(512), false],
  tls_version: [str(32), false],
};

/**
 * Fields added after event lines became positional (batch frame schema 3,
 * ../tap-lines.ts): optional, and after every kind's own fields, so a line
 * written before them is the same line with them left off.
 */
const APPENDED: Record<string, [Check, boolean]> = {
  src_version: [str(64), false],
  dst_version: [str(64), false],
};
export const APPENDED_FIELDS: readonly string[] = Object.keys(APPENDED);

/** l7.request fields appended after APPENDED (issue 15), in the same way: optional, last, left off while absent. */
const APPENDED_L7: Record<string, [Check, boolean]> = {
  flags: [flagList, false],
  protocol: [oneOf(TAP_PROTOCOLS), false],
  grpc_service: [str(256), false],
  grpc_method: [str(256), false],
  grpc_status: [int(-1, 999), false],
};
const appendedOf = (k: TapKind): Record<string, [Check, boolean]> => (k === 'l7.request' ? { ...APPENDED, ...APPENDED_L7 } : APPENDED);
/** Each kind's appended fields, in line order: APPENDED_FIELDS, then its own. */
export const APPENDED_FIELDS_OF: Readonly<Record<TapKind, readonly string[]>> =
  Object.fromEntries(TAP_KINDS.map((k) => [k, Object.keys(appendedOf(k))])) as Record<TapKind, string[]>;

const BY_KIND: Record<TapKind, Record<string, [Check, boolean]>> = {
  'l4.open': {},
  'l4.close': {
    bytes_in: [uint(), true],
    bytes_out: [uint(), true],
    duration_ms: [nonNeg, true],
    end: [oneOf(L4_ENDS), true],
    error: [str(256), false],
  },
  'l7.request': {
    method: [str(32), true],
    authority: [str(256), true],
    path: [str(2048), true],
    status: [uint(999), true],
    latency_ms: [nonNeg, true],
    req_bytes: [uint(), true],
    resp_bytes: [uint(), true],
    upstream: [str(128), true],
    retries: [uint(1000), true],
    trace_id: [str(64), true],
    headers: [headerMap, false],
    decision: [oneOf(DECISIONS), false],
    decision_reason: [str(256), false],
    error: [str(64), false],
  },
};

// Each kind's checks merged once, not per event: the collector validates
// every tap it receives (~100k/s), and building these per call was most of
// its cost (profiled: ~20 µs of ~35 µs per event, much of it GC).
type Spec = { checks: [string, Check, boolean][]; fields: Record<string, unknown> };
const specOf = (fields: Record<string, [Check, boolean]>): Spec => ({
  checks: Object.entries(fields).map(([f, [check, required]]) => [f, check, required]), fields,
});
const COMMON_SPEC = specOf({ ...COMMON, ...APPENDED });
const KIND_SPECS = Object.fromEntries(TAP_KINDS.map((k) => [k, specOf({ ...COMMON, ...BY_KIND[k], ...appendedOf(k) })])) as Record<TapKind, Spec>;
const isKind = oneOf(TAP_KINDS);

/** One field of a kind, in schema order: its check (null when the value is fine) and whether it is required. */
export interface TapField { name: string; check: (v: unknown) => string | null; required: boolean; /** The check as data, when it has one. */ spec?: CheckSpec }

/** Every field of each kind in schema order (common ones first, `v` and `kind` leading, APPENDED_FIELDS_OF last), for codecs that write fields by position. */
export const TAP_FIELDS: Readonly<Record<TapKind, readonly TapField[]>> = Object.fromEntries(TAP_KINDS.map((k) => [
  k, KIND_SPECS[k].checks.map(([name, check, required]) => ({ name, check, required, ...(check.spec ? { spec: check.spec } : {}) })),
])) as Record<TapKind, TapField[]>;

const NO_PROBLEMS: readonly string[] = Object.freeze([]);

/** Every problem with `e` as a tap ("field: what is wrong"); an empty (shared, frozen) array when there are none. */
export function validateTap(e: unknown): readonly string[] {
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return ['event must be an object'];
  const o = e as Record<string, unknown>;
  // NO_PROBLEMS is shared: the collector validates every tap it receives, and
  // a fresh empty array per valid tap was garbage for nothing.
  let problems: string[] | null = null;
  const spec = isKind(o.kind) ? COMMON_SPEC : KIND_SPECS[o.kind as TapKind];
  const checks = spec.checks;
  for (let i = 0; i < checks.length; i++) {
    const [field, check, required] = checks[i];
    const v = o[field];
    if (v === undefined) {
      if (required) (problems ??= []).push(`${field}: missing`);
      continue;
    }
    const p = check(v);
    if (p) (problems ??= []).push(`${field}: ${p}`);
  }
  for (const field in o) {
    if (!Object.hasOwn(spec.fields, field)) (problems ??= []).push(`${field}: unknown field`);
  }
  return problems ?? NO_PROBLEMS;
}

export function isTap(e: unknown): e is TapEvent {
  return validateTap(e).length === 0;
}
