// The per-request chains, in order. Each stage is one file under stages/;
// adding a concern is adding a file and a line here.

import type { Stage } from './stage.ts';
import { admissionStage } from './stages/admission.ts';
import { balanceStage } from './stages/balance.ts';
import { connectStage } from './stages/connect.ts';
import { endpointOutcomeStage } from './stages/endpoint-outcome.ts';
import { meshHeadersStage } from './stages/mesh-headers.ts';
import { messageChecksStage } from './stages/message-checks.ts';
import { normalizePathStage } from './stages/normalize-path.ts';
import { policyStage } from './stages/policy.ts';
import { rateLimitStage } from './stages/rate-limit.ts';
import { rescueStage } from './stages/rescue.ts';
import { retryStage } from './stages/retry.ts';
import { routeStage } from './stages/route.ts';
import { tapStage } from './stages/tap.ts';
import { timeoutStage } from './stages/timeout.ts';
import { upstreamStage } from './stages/upstream.ts';
import { workloadStage } from './stages/workload.ts';

/** mesh → sidecar → local workload */
export const INBOUND_CHAIN: readonly Stage[] = [
  tapStage, // records l7.request once the exchange is over
  rescueStage, // errors → responses
  messageChecksStage, // version, Transfer-Encoding, Host: one reading only, or 400/501
  connectStage, // CONNECT: 501, or a tunnel to an allowed port of this service (the cluster's connect.allow_ports)
  normalizePathStage, // one spelling per path (req.url rewritten) before anything judges it
  meshHeadersStage, // x-meshlens-* from the client: stripped, never believed (the caller is the mTLS peer, set by the listener)
  policyStage, // inbound authorization (Rego/WASM): allow, or 403; sets the tap's decision
  rateLimitStage, // token bucket per (rule, caller service) from the snapshot: a token, or 429 MESH_ERR_RATE_LIMITED
  admissionStage, // concurrency bound: a slot, a short wait, or 503 MESH_ERR_OVERLOADED
  workloadStage,
  timeoutStage,
  upstreamStage,
];

/** local workload → sidecar (HTTP proxy mode) → another service's sidecar */
export const OUTBOUND_CHAIN: readonly Stage[] = [
  tapStage,
  rescueStage,
  messageChecksStage,
  connectStage, // CONNECT: 501, or a tunnel to an allowed port of a mesh service (its cluster's connect.allow_ports)
  normalizePathStage,
  meshHeadersStage,
  // policy: outbound authorization (later issue)
  routeStage, // authority → route → weighted cluster
  admissionStage, // per direction, then per cluster (the cluster's circuit breaker: max_concurrent, max_pending)
  timeoutStage, // the cluster's request_timeout_ms, over every try
  retryStage, // the cluster's retry policy: each try runs the stages below again, within a budget
  balanceStage, // cluster → endpoint: round robin or least_request, passing over ejected and failing endpoints
  endpointOutcomeStage, // requests in flight per endpoint; outlier ejection from each try's outcome
  upstreamStage,
];
