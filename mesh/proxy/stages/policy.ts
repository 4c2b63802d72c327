// Inbound: may this caller make this request of this service? Asks the
// authorization policy the control plane pushed (inbound-policy.ts), records
// the decision and its reason for the l7.request tap, and on deny answers
// 403 MESH_ERR_POLICY_DENIED with body {error, reason} (via the rescue
// stage); the workload never sees a denied request.
//
// Input document, one per request (what a bundle's meshlens/authz/decision sees),
// built by policy/authz-input.ts, which replay shares:
//   {
//     source:      { service: "web",    // from the caller's mTLS certificate (its SPIFFE id's
//                                       // service); "external" without one (ingress, plaintext)
//                    identity: "spiffe://meshlens.local/ns/default/sa/web" },
//                                       // the verified SPIFFE id; "" for external callers
//     destination: { service: "cart" }, // the service this sidecar fronts
//     request:     { method: "GET",
//                    path: "/checkout", // normalised (stages/normalize-path.ts: `//checkout`,
//                                       // `/%63heckout`, `/a/../checkout` are all this), without
//                                       // query string or fragment; what the workload is sent
//                    headers: { … } }   // only --policy-header-allow names, lower-case;
//   }                                   // never recorded in taps
//
// Decision contract: the entrypoint answers {allow: boolean, reason: string}.
// Anything else (undefined, another shape, an evaluation error) is a policy
// error: deny with reason "policy_error", counted in stats().policy.errors.

import { authzInput, requestPath } from '../../../policy/index.ts';
import { MeshError } from '../errors.ts';
import type { RequestContext } from '../context.ts';
import type { Stage } from '../stage.ts';

export const policyStage: Stage = {
  name: 'policy',
  handle(ctx, next) {
    const warming = ctx.runtime.policy.warming();
    return warming ? warming.then(() => decide(ctx, next)) : decide(ctx, next);
  },
};

/** The decision on the request, recorded for its tap; a denial throws (the rescue stage answers 403). */
function decide(ctx: RequestContext, next: () => Promise<void>): Promise<void> {
  const d = ctx.runtime.policy.decide(() => policyInput(ctx));
  ctx.decision = d;
  if (d.decision === 'deny') {
    throw new MeshError('MESH_ERR_POLICY_DENIED',
      `inbound policy denied ${ctx.src.service} -> ${ctx.dst.service} ${ctx.req.method} ${requestPath(ctx.req.url)}: ${d.reason}`,
      { reason: d.reason });
  }
  return next();
}

/** The input document (policy/authz-input.ts, shared with replay) for this request. */
export function policyInput(ctx: RequestContext): unknown {
  return authzInput({
    src_service: ctx.src.service, src_identity: ctx.src.identity ?? '', dst_service: ctx.dst.service,
    method: ctx.req.method ?? '', target: ctx.req.url, headers: ctx.req.headers,
  }, ctx.runtime.opts.policyHeaderAllow);
}
