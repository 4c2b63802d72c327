# Every request to a service with an authorization policy carries the
# policy's decision (allow or deny, never "none": no policy ran or it failed
# open), and every deny carries its reason.
package meshlens.compliance.decisions_recorded

import data.meshlens.baseline.params
import data.meshlens.baseline.traffic

metadata := {
	"title": "Every request to a policed service carries its decision, every deny its reason",
	"description": "Each request the sidecar of a service with an authorization policy received was recorded with the policy's decision (allow or deny) beside it, and each deny with the reason the policy gave. The services checked are protected_services when given; otherwise all services once an authorization policy is recorded, else those that recorded any decision.",
	"clauses": {
		"pci_dss_4_0": [
			{"id": "10.2.1", "text": "Audit logs are enabled and active for all system components"},
			{"id": "10.2.1.4", "text": "Audit logs capture all invalid logical access attempts"},
			{"id": "10.2.2", "text": "Audit logs record, per event, who, what, when, success or failure, origination and the affected resource"},
		],
		"soc2": [{"id": "CC7.2", "text": "System components are monitored for anomalies indicative of malicious acts and errors"}],
		"nist_800_207": [
			{"id": "3", "text": "The policy engine makes and logs each decision (approved or denied)"},
			{"id": "2.1 (tenet 7)", "text": "The enterprise collects as much information as possible about access requests and uses it"},
		],
		"nist_800_204": [],
	},
}

bad_params := params.problems(["protected_services"])

authz_policy_recorded if input.policies.authz.digest_at_start != ""

authz_policy_recorded if count(input.policies.authz.digests) > 0

# The services expected to decide on every request.
scope := {s | some s in params.protected_services} if {
	count(params.protected_services) > 0
} else := {e.dst | some e in input.edges; e.requests > 0} if {
	authz_policy_recorded
} else := {e.dst | some e in input.edges; e.allow + e.deny > 0}

requests := sum([e.requests | some e in input.edges])

scoped := [e | some e in input.edges; e.dst in scope]

scoped_requests := sum([e.requests | some e in scoped])

undecided_edges := [e | some e in scoped; e.none > 0]

undecided := sum([e.none | some e in undecided_edges])

reasonless_edges := [e | some e in input.edges; e.denies_without_reason > 0]

reasonless := sum([e.denies_without_reason | some e in reasonless_edges])

denies := sum([e.deny | some e in input.edges])

default status := "insufficient_evidence"

status := "insufficient_evidence" if {
	bad_params != ""
} else := "fail" if {
	traffic.edges_complete
	undecided + reasonless > 0
} else := "not_applicable" if {
	traffic.edges_complete
	requests > 0
	count(scope) == 0
} else := "pass" if {
	traffic.edges_complete
	scoped_requests > 0
}

default summary := "The evidence document's edges are missing or incomplete, so recorded decisions cannot be shown."

summary := sprintf("The pack's parameters are invalid: %s.", [bad_params]) if {
	bad_params != ""
} else := sprintf("Requests to policed services recorded without a decision: %d of %d (%s); denies recorded without a reason: %d of %d.", [
	undecided, scoped_requests, concat(", ", sort([traffic.name(e) | some e in undecided_edges])), reasonless, denies,
]) if {
	status == "fail"
	undecided > 0
} else := sprintf("Denies recorded without a reason: %d of %d (%s).", [
	reasonless, denies, concat(", ", sort([traffic.name(e) | some e in reasonless_edges])),
]) if {
	status == "fail"
} else := "No service had an authorization policy in the period (no decision recorded, no policy in the change log), so there were no decisions to record." if {
	status == "not_applicable"
} else := sprintf("Every request to the %d policed services (%d) carries the policy's decision, and every deny (%d) its reason.", [count(scope), scoped_requests, denies]) if {
	status == "pass"
} else := "No request to a policed service was recorded in the period, so recorded decisions cannot be shown." if {
	traffic.edges_complete
}

default evidence := {}

evidence := {
	"policed_services": count(scope),
	"requests": scoped_requests,
	"allow": sum([e.allow | some e in scoped]),
	"deny": denies,
	"without_decision": undecided,
	"denies_without_reason": reasonless,
} if traffic.edges_complete

# Sample taps without a decision, then denies without a reason, busiest edges first.
default counterexamples := []

counterexamples := array.concat(
	traffic.pointers([[e.none, e, {"without_decision": e.none}] | some e in undecided_edges], "none"),
	traffic.pointers([[e.denies_without_reason, e, {"denies_without_reason": e.denies_without_reason}] | some e in reasonless_edges], "deny_no_reason")
) if traffic.edges_complete
