// The per-request chains, in order. Each stage is one file under stages/;
// adding a concern is adding a file and a line here. Marked slots are where
// later issues plug in — they do not exist yet.

import type { Stage } from './stage.ts';
import { admissionStage } from './stages/admission.ts';
import { balanceStage } from './stages/balance.ts';
import { meshHeadersStage } from './stages/mesh-headers.ts';
import { messageChecksStage } from './stages/message-checks.ts';
import { normalizePathStage } from './stages/normalize-path.ts';
import { policyStage } from './stages/policy.ts';
import { rateLimitStage } from './stages/rate-limit.ts';
import { rescueStage } from './stages/rescue.ts';
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
  normalizePathStage,
  meshHeadersStage,
  // policy: outbound authorization (later issue)
  routeStage, // authority → route → weighted cluster
  admissionStage, // per direction, then per cluster
  balanceStage, // cluster → endpoint
  // retry: idempotent requests on retriable MeshErrors, wraps timeout (later issue)
  timeoutStage,
  // breaker: consecutive-failure ejection per endpoint (later issue)
  upstreamStage,
];
