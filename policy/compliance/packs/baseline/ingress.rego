# External traffic is admitted only at the declared entry services: nothing
# from outside the mesh (source "external") was let through to any other
# service. Attempts refused by the callee's policy are counted, not failed.
package meshlens.compliance.ingress

import data.meshlens.baseline.params
import data.meshlens.baseline.traffic

metadata := {
	"title": "External traffic enters only at the declared entry services",
	"description": "Requests and connections from outside the mesh (recorded with source service \"external\") were let through only at the services listed in entry_services; every other service refused them. Not applicable when no entry services are declared; with [] declared, no service may be reached from outside.",
	"clauses": {
		"pci_dss_4_0": [
			{"id": "1.3.1", "text": "Inbound traffic to the CDE is restricted to only what is necessary; all other traffic is denied"},
			{"id": "1.4.2", "text": "Inbound traffic from untrusted networks reaches only system components authorized to provide publicly accessible services"},
		],
		"soc2": [{"id": "CC6.6", "text": "Logical access security measures protect against threats from sources outside the system boundaries"}],
		"nist_800_207": [{"id": "3.4.1 (requirement 4)", "text": "Resources are not reachable without a PEP and accept no arbitrary incoming connections from the internet"}],
		"nist_800_204": [],
	},
}

bad_params := params.problems(["entry_services"])

entry := {s | some s in params.entry_services}

external_edges := [e | some e in input.edges; e.src == traffic.external]

violations := [e | some e in external_edges; not e.dst in entry; traffic.admitted(e) > 0]

external_traffic := sum([traffic.traffic(e) | some e in external_edges])

all_traffic := sum([traffic.traffic(e) | some e in input.edges])

admitted_elsewhere := sum([traffic.admitted(e) | some e in violations])

refused_elsewhere := sum([e.deny | some e in external_edges; not e.dst in entry])

default status := "insufficient_evidence"

status := "insufficient_evidence" if {
	bad_params != ""
} else := "not_applicable" if {
	params.entry_services == null
} else := "fail" if {
	traffic.edges_complete
	count(violations) > 0
} else := "pass" if {
	traffic.edges_complete
	all_traffic > 0
	shows_ingress
}

# With entry services declared, a period without external traffic shows
# nothing about them; with none declared, internal traffic alone shows that
# nothing from outside got in.
shows_ingress if external_traffic > 0

shows_ingress if count(entry) == 0

entry_text := concat(", ", sort(entry)) if count(entry) > 0

else := "none"

default summary := "The evidence document's edges are missing or incomplete, so where external traffic entered cannot be shown."

summary := sprintf("The pack's parameters are invalid: %s.", [bad_params]) if {
	bad_params != ""
} else := "No entry services are declared (entry_services is absent), so there is nothing to check ingress against." if {
	status == "not_applicable"
} else := sprintf("External requests or connections let through at services that are not entry services (entry services: %s): %d (%s).", [
	entry_text, admitted_elsewhere, concat(", ", sort([traffic.name(e) | some e in violations])),
]) if {
	status == "fail"
} else := sprintf("External traffic (%d requests and connections) was let through only at the entry services (%s); external requests to other services refused: %d.", [
	external_traffic, entry_text, refused_elsewhere,
]) if {
	status == "pass"
} else := "No traffic at all was recorded in the period, so where external traffic entered cannot be shown." if {
	traffic.edges_complete
	all_traffic == 0
} else := sprintf("No external traffic was recorded in the period, so admission at the entry services (%s) cannot be shown.", [entry_text]) if {
	traffic.edges_complete
}

default evidence := {}

evidence := {
	"entry_services": count(entry),
	"external_edges": count(external_edges),
	"external_requests_and_connections": external_traffic,
	"admitted_outside_entry": admitted_elsewhere,
	"refused_outside_entry": refused_elsewhere,
} if traffic.edges_complete

# Admitted external sample taps at non-entry services, the busiest edges first.
default counterexamples := []

counterexamples := traffic.pointers(
	[[n, e, {"admitted": n}] | some e in violations; n := traffic.admitted(e)],
	"admitted"
) if traffic.edges_complete
