# Inbound authorization for the demo shop, enforced by every sidecar's policy
# stage (mesh/proxy/stages/policy.ts) before a request reaches its workload.
#
#   external ─► web ─┬─► catalog ◄── indexer (a background job)
#                    └─► cart ─┬─► payments
#                              └─► inventory
#
# Input, one document per inbound request:
#   input.source.service       calling service, from its mTLS certificate;
#                              "external" for callers outside the mesh (ingress)
#   input.source.identity      the caller's verified SPIFFE id, e.g.
#                              "spiffe://meshlens.local/ns/default/sa/web"; "" for external
#   input.destination.service  the service this sidecar fronts
#   input.request.method       "GET", "POST", …
#   input.request.path         path without the query string
#   input.request.headers      allow-listed request headers (sidecar flag
#                              --policy-header-allow), names lower-case
#
# Output, the entrypoint meshlens/authz/decision:
#   {"allow": true|false, "reason": "<why, stored with the request's tap>"}
# Anything else (undefined, another shape, an evaluation error) is a policy
# error: the sidecar denies with reason "policy_error".
package meshlens.authz

# Who may call whom: destination service → the services allowed to call it.
callers := {
	"web": {"external"},
	"catalog": {"web", "indexer"},
	"cart": {"web"},
	"payments": {"cart"},
	"inventory": {"cart"},
}

# Health checks are always answered, whoever asks.
health_paths := {"/healthz", "/readyz", "/livez"}

src := input.source.service

dst := input.destination.service

default decision := {"allow": false, "reason": "no rule allowed this request"}

decision := {"allow": true, "reason": "health check"} if {
	input.request.path in health_paths
} else := {"allow": false, "reason": sprintf("%s may not call %s", [src, dst])} if {
	not src in callers[dst]
} else := {"allow": false, "reason": "checkout requires a signed-in customer (Authorization header)"} if {
	dst == "web"
	startswith(input.request.path, "/checkout")
	not input.request.headers.authorization
} else := {"allow": true, "reason": sprintf("%s may call %s", [src, dst])}
