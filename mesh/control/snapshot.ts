// Config snapshot: the whole desired state for one sidecar, versioned.
//
// The control plane streams snapshots to each sidecar over a long-lived HTTP
// response (NDJSON, one snapshot per line, newest wins) and the sidecar
// answers each version with an ACK or a NACK:
//
//   (all over mTLS: the sidecar's proxy id and service come from its certificate; see server.ts)
//   GET  /v1/config/stream?inbound=<addr:port>[&labels=version=v2,zone=a]
//        -> 200, Content-Type: application/x-ndjson, one ConfigSnapshot per line;
//           the stream stays open; the registry marks the endpoint healthy while
//           it is open and removes it when it closes. The labels are the
//           sidecar's own (./labels.ts) and ride on its Endpoint.
//   POST /v1/config/ack   body ConfigAck  -> 204
//   GET  /v1/policy/bundles/<policy_digest>
//        -> 200, the inbound authorization bundle (OPA bundle .tar.gz) whose
//           sha256 is the digest; immutable, cacheable. 404 for an unknown digest.
//   PUT  /v1/policy/bundle   body: bundle bytes (operators only)
//        -> 200 {digest, version}: every sidecar gets a new snapshot with it.
//   PUT  /v1/routes/<service>  body {"subsets":[{"version":"v1","weight":90},…]} (operators only)
//        -> 200 {service, subsets, version}: the service's route gets one
//           backend per subset (./route-weights.ts); DELETE returns it to one
//           backend of every endpoint; GET /v1/routes lists what is set.
//   PUT  /v1/ejections/<instance>  body {"seconds": 30, "reason": "…"} (operators only)
//        -> 200 {service, instance, until, reason, version}: while now < until
//           the instance's endpoint is left out of its cluster in every OTHER
//           sidecar's snapshot (its own sidecar stays connected and registered);
//           at `until` a new version brings it back. A cluster is never left
//           empty by ejections: if all its endpoints are ejected, the one
//           ejected last stays (./ejections.ts). DELETE lifts it now;
//           GET /v1/ejections lists them.
//   PUT  /v1/ratelimits/<service>  body {"rules":[RateLimitRule, …]} (operators only)
//        -> 200 {service, rules, version}: that service's sidecars get the rules
//           as `rate_limits` and answer 429 MESH_ERR_RATE_LIMITED past them
//           (mesh/proxy/stages/rate-limit.ts); DELETE (or []) clears them;
//           GET /v1/ratelimits lists them.
//   PUT  /v1/resilience/<service>  body {"rules":[RouteResilienceRule, …]} (operators only)
//        -> 200 {service, rules, version}: every sidecar's route for that service
//           carries the rules as `resilience`; a request matching one runs with
//           its request timeout, per-try timeout and retry policy instead of the
//           cluster's (./route-resilience-rules.ts). DELETE clears them;
//           GET /v1/resilience lists them.
//
// A sidecar ACKs a snapshot once its policy_digest's bundle is loaded (or the
// digest is "", no policy); a bundle it cannot fetch, verify or load NACKs the
// version with the reason, and it keeps its previous policy.
//
// A sidecar keeps serving with its last accepted snapshot while the control
// plane is away, and reconnects with backoff.

import type { ConnectTunnels } from './connect-tunnels.ts';
import type { HealthCheck, OutlierDetection, RetryPolicy } from './resilience.ts';

/** The control plane's own identity: spiffe://<td>/ns/meshlens/sa/control. */
export const CONTROL_SERVICE = 'control';
export const CONTROL_NAMESPACE = 'meshlens';

export interface Endpoint {
  /** Instance name, e.g. "cart-1". */
  instance: string;
  addr: string;
  port: number;
  /** The instance's labels (`--label version=v2`, ./labels.ts); absent when it has none. */
  labels?: Record<string, string>;
}

/**
 * How a sidecar picks an endpoint of a cluster: round robin, or least
 * outstanding requests by power of two choices (mesh/proxy/stages/balance.ts).
 */
export const LOAD_BALANCING = ['round_robin', 'least_request'] as const;
export type LoadBalancing = (typeof LOAD_BALANCING)[number];

export interface Cluster {
  /** Service name; also the authority clients use ("http://cart/..."). */
  service: string;
  endpoints: Endpoint[];
  lb: LoadBalancing;
  connect_timeout_ms: number;
  /** The whole exchange, every retry included (per try: retry.per_try_timeout_ms). */
  request_timeout_ms: number;
  /**
   * Circuit breaking, as Envoy's thresholds. Requests in flight to this
   * cluster from one sidecar before more wait or are refused 503
   * MESH_ERR_OVERLOADED (mesh/proxy/stages/admission.ts); absent: no cluster
   * bound, only the sidecar's own.
   */
  max_concurrent?: number;
  /** Requests that may wait for one of those slots (FIFO, bounded in time by the sidecar); absent: 0. Envoy's max_pending_requests. */
  max_pending?: number;
  /** The older name of max_pending (control planes before issue 15); a snapshot names one or the other. */
  max_queue?: number;
  /** Connections one sidecar opens to each endpoint of the cluster; absent: 256. */
  max_connections?: number;
  /** Retries of failed requests (./resilience.ts); absent: none. */
  retry?: RetryPolicy;
  /** The sidecar's own outlier ejection (./resilience.ts); absent: none. */
  outlier?: OutlierDetection;
  /** Active health checks of every endpoint (./resilience.ts); absent: none. */
  health_check?: HealthCheck;
  /** Ports of this service a CONNECT may tunnel to (./connect-tunnels.ts); absent: every CONNECT is refused 501. */
  connect?: ConnectTunnels;
}

export interface Backend {
  cluster: string;
  /**
   * Only the cluster's endpoints whose labels carry every KEY=VALUE here
   * (e.g. {version: 'v2'}); absent: every endpoint.
   */
  subset?: Record<string, string>;
  /**
   * Relative; 0 sends nothing. The sidecar spreads requests by smooth weighted
   * round robin over the backends that have a matching endpoint.
   */
  weight: number;
}

export interface Route {
  /** Authority (Host without port) this route matches. */
  authority: string;
  /** At least one with weight > 0. */
  backends: Backend[];
  /** Per-request overrides of the clusters' request timeout and retries, by path and method; absent: none. */
  resilience?: RouteResilienceRule[];
}

/**
 * Overrides, for the requests of one route that match it, what its cluster
 * says about timeouts and retries (set by an operator: PUT
 * /v1/resilience/<service>). A request takes the rule with the longest
 * path_prefix it starts with, one naming its method before one naming none
 * (matchingRule, ./route-resilience-rules.ts, which also checks a list, at
 * the control plane and again in the sidecar). A field left out is the
 * cluster's.
 */
export interface RouteResilienceRule {
  /** Requests whose normalised path starts with this (a plain prefix, starting with "/"). */
  path_prefix: string;
  /** Only requests of these methods; absent: every method. */
  methods?: string[];
  /** Replaces the cluster's request_timeout_ms: every try together. */
  request_timeout_ms?: number;
  /** Replaces the per-try timeout of the retry policy in force (the rule's or the cluster's). */
  per_try_timeout_ms?: number;
  /** Replaces the cluster's retry policy; false: these requests are never retried. */
  retry?: RetryPolicy | false;
}

export interface TapCapture {
  /** Query keys whose values may be recorded; all others are dropped. */
  query_allow: string[];
  /** Request headers that may be recorded (lower-case). Secrets are refused anyway. */
  header_allow: string[];
}

/**
 * A token bucket at the CALLEE's sidecar, per (rule, caller service): `burst`
 * requests at once, refilled at `rps` a second. A request takes a token from
 * every rule that matches it (caller and path) and is refused 429
 * MESH_ERR_RATE_LIMITED, with `retry-after`, when any of them is empty. At
 * most one rule per (caller, path_prefix); checked by rateLimitProblems
 * (./rate-limit-rules.ts) at the control plane and again by the sidecar.
 */
export interface RateLimitRule {
  /** A calling service (from its mTLS certificate; "external" for callers without one); absent: each caller separately. */
  caller?: string;
  /** Only requests whose normalised path starts with this (plain prefix, starts with "/"); absent: every path. */
  path_prefix?: string;
  /** Tokens a second, > 0 (0.5 is one every 2 s). */
  rps: number;
  /** Bucket size, an integer >= 1: requests a caller may make at once after being idle. */
  burst: number;
}

export interface ConfigSnapshot {
  /** Monotonic per control plane; a sidecar ignores a version lower than its current one. */
  version: number;
  proxy: string;
  service: string;
  routes: Route[];
  clusters: Cluster[];
  taps: TapCapture;
  /** sha256 (hex) of the inbound authorization bundle the sidecar should run; "" for no policy. */
  policy_digest: string;
  /** Limits on this sidecar's inbound requests (it fronts the callee); absent or []: none. */
  rate_limits?: RateLimitRule[];
}

export interface ConfigAck {
  proxy: string;
  version: number;
  ok: boolean;
  /** Why a NACK: the first problem found. */
  error?: string;
}

export const DEFAULT_TAP_CAPTURE: TapCapture = {
  query_allow: [],
  header_allow: ['user-agent', 'content-type', 'x-request-id'],
};

/**
 * The entrypoint every inbound authorization bundle must have. It returns
 * {allow: boolean, reason: string} for the input the sidecar's policy stage
 * builds (documented in mesh/proxy/stages/policy.ts).
 */
export const AUTHZ_ENTRYPOINT = 'meshlens/authz/decision';

/** Largest policy bundle the control plane takes and a sidecar fetches. */
export const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

/** Path a sidecar fetches a bundle from, by digest. */
export const policyBundlePath = (digest: string) => `/v1/policy/bundles/${digest}`;
