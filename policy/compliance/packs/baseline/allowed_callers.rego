# Only declared callers were admitted to each protected service: for every
# edge into a protected service from a caller its allowed_callers entry does
# not name, nothing was let through (requests denied, or, on plain TCP, no
# connection accepted).
package meshlens.compliance.allowed_callers

import data.meshlens.baseline.params
import data.meshlens.baseline.traffic

metadata := {
	"title": "Only declared callers reach each protected service",
	"description": "For every protected service (protected_services, or every service named in allowed_callers), each request or connection the callee's sidecar let through came from a caller its allowed_callers entry declares. Calls from other callers must have been denied. Not applicable when no allowed callers are declared.",
	"clauses": {
		"pci_dss_4_0": [
			{"id": "1.3.1", "text": "Inbound traffic to the CDE is restricted to only what is necessary; all other traffic is denied"},
			{"id": "7.2.5", "text": "Application and system accounts get least privilege, limited to what specifically requires them"},
			{"id": "7.3.1", "text": "An access control system restricts access based on need to know"},
			{"id": "7.3.2", "text": "The access control system enforces permissions assigned to individuals, applications and systems"},
			{"id": "7.3.3", "text": "The access control system is set to deny all by default"},
		],
		"soc2": [
			{"id": "CC6.1", "text": "Logical access security restricts access to protected information assets"},
			{"id": "CC6.3", "text": "Access is authorized based on roles and least privilege"},
		],
		"nist_800_207": [
			{"id": "2.1 (tenet 3)", "text": "Access is granted per session with the least privileges needed"},
			{"id": "2.1 (tenet 4)", "text": "Access to resources is determined by policy on the client identity"},
			{"id": "2.1 (tenet 6)", "text": "Authorization is strictly enforced before access is allowed"},
		],
		"nist_800_204": [
			{"id": "800-204A SM-DR2", "text": "The set of services a service proxy can reach must be limited"},
			{"id": "800-204B SAUZ-SR-1", "text": "Service-to-service access is authorized by the caller's runtime identity"},
		],
	},
}

used := ["allowed_callers", "protected_services"]

bad_params := params.problems(used)

declared := params.allowed_callers

# protected_services when given, else every service with declared callers.
protected := {s | some s in params.protected_services} if count(params.protected_services) > 0

else := {s | some s, _ in declared}

callers_of(svc) := {c | some c in declared[svc]}

# A service protected but absent from allowed_callers has no declared caller.
else := set()

into_protected := [e | some e in input.edges; e.dst in protected]

undeclared := [e | some e in into_protected; not e.src in callers_of(e.dst)]

violations := [e | some e in undeclared; traffic.admitted(e) > 0]

requests := sum([e.requests | some e in into_protected])

connections := sum([e.connections | some e in into_protected])

checked := requests + connections

admitted_undeclared := sum([traffic.admitted(e) | some e in violations])

refused_undeclared := sum([e.deny | some e in undeclared])

default status := "insufficient_evidence"

status := "insufficient_evidence" if {
	bad_params != ""
} else := "not_applicable" if {
	count(declared) == 0
} else := "fail" if {
	traffic.edges_complete
	count(violations) > 0
} else := "pass" if {
	traffic.edges_complete
	checked > 0
}

default summary := "The evidence document's edges are missing or incomplete, so the callers of protected services cannot be shown."

summary := sprintf("The pack's parameters are invalid: %s.", [bad_params]) if {
	bad_params != ""
} else := "No allowed callers are declared (allowed_callers is empty), so there is nothing to check callers against." if {
	status == "not_applicable"
} else := sprintf("Requests or connections from undeclared callers let through to protected services: %d, on %d edges (%s).", [
	admitted_undeclared, count(violations), concat(", ", sort([traffic.name(e) | some e in violations])),
]) if {
	status == "fail"
} else := sprintf("Everything let through to the %d protected services came from a declared caller (%d requests and %d connections checked); requests from undeclared callers refused: %d.", [
	count(protected), requests, connections, refused_undeclared,
]) if {
	status == "pass"
} else := sprintf("No traffic to any of the %d protected services was recorded in the period, so their callers cannot be shown.", [count(protected)]) if {
	traffic.edges_complete
}

default evidence := {}

evidence := {
	"protected_services": count(protected),
	"edges_into_protected": count(into_protected),
	"requests": requests,
	"connections": connections,
	"undeclared_edges": count(undeclared),
	"admitted_from_undeclared": admitted_undeclared,
	"refused_from_undeclared": refused_undeclared,
} if traffic.edges_complete

# Admitted sample taps from undeclared callers, the busiest edges first.
default counterexamples := []

counterexamples := traffic.pointers(
	[[n, e, {"admitted": n}] | some e in violations; n := traffic.admitted(e)],
	"admitted"
) if traffic.edges_complete
