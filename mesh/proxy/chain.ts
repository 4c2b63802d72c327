// The per-request chains, in order. Each stage is one file under stages/;
// adding a concern is adding a file and a line here. Marked slots are where
// later issues plug in — they do not exist yet.

import type { Stage } from './stage.ts';
import { balanceStage } from './stages/balance.ts';
import { callerStage } from './stages/caller.ts';
import { policyStage } from './stages/policy.ts';
import { rescueStage } from './stages/rescue.ts';
import { routeStage } from './stages/route.ts';
import { sourceHeadersStage } from './stages/source-headers.ts';
import { tapStage } from './stages/tap.ts';
import { timeoutStage } from './stages/timeout.ts';
import { upstreamStage } from './stages/upstream.ts';
import { workloadStage } from './stages/workload.ts';

/** mesh → sidecar → local workload */
export const INBOUND_CHAIN: readonly Stage[] = [
  tapStage, // records l7.request once the exchange is over
  rescueStage, // errors → responses
  callerStage, // x-meshlens-src → ctx.src
  // identity: mTLS peer certificate → SPIFFE id (later issue; replaces caller headers)
  policyStage, // inbound authorization (Rego/WASM): allow, or 403; sets the tap's decision
  workloadStage,
  timeoutStage,
  upstreamStage,
];

/** local workload → sidecar (HTTP proxy mode) → another service's sidecar */
export const OUTBOUND_CHAIN: readonly Stage[] = [
  tapStage,
  rescueStage,
  // policy: outbound authorization (later issue)
  routeStage, // authority → route → weighted cluster
  balanceStage, // cluster → endpoint
  // retry: idempotent requests on retriable MeshErrors, wraps timeout (later issue)
  timeoutStage,
  // breaker: consecutive-failure ejection per endpoint (later issue)
  sourceHeadersStage,
  upstreamStage,
];
