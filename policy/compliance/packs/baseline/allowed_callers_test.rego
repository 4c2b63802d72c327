package meshlens.compliance.allowed_callers_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.allowed_callers

test_the_demo_mesh_passes_and_counts_refused_undeclared_callers if {
	r := allowed_callers with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.protected_services == 5
	r.evidence.undeclared_edges == 1
	r.evidence.refused_from_undeclared == 3
	r.evidence.admitted_from_undeclared == 0
	r.counterexamples == []
}

test_an_undeclared_caller_let_through_fails_with_its_admitted_taps if {
	r := allowed_callers with input as fixtures.plus_edge(fixtures.intruder) with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.admitted_from_undeclared == 5
	contains(r.summary, "indexer→payments")
	r.counterexamples[0].proxy == "payments-1"
	r.counterexamples[0].seq == 99
}

test_a_protected_service_without_declared_callers_admits_nobody if {
	billing := fixtures.mtls_edge("cart", "billing", 8)
	p := fixtures.params_with({"protected_services": ["billing", "payments"]})
	r := allowed_callers with input as fixtures.plus_edge(billing) with data.compliance as p
	r.status == "fail"
	r.evidence.protected_services == 2
	contains(r.summary, "cart→billing")
}

test_plain_tcp_connections_from_an_undeclared_caller_fail_and_point_at_the_edge if {
	tcp := object.union(fixtures.mtls_edge("web", "inventory", 0), {"samples": {"admitted": []}})
	r := allowed_callers with input as fixtures.plus_edge(tcp) with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.admitted_from_undeclared == 4
	r.counterexamples[0].ref == "edge:web→inventory"
	r.counterexamples[0].admitted == 4
}

test_no_declared_callers_is_not_applicable if {
	r := allowed_callers with input as fixtures.passing with data.compliance as fixtures.params_without(["allowed_callers"])
	r.status == "not_applicable"
	# object.union merges objects, so set the empty object on params without the key
	none := object.union(fixtures.params_without(["allowed_callers"]), {"allowed_callers": {}})
	r2 := allowed_callers with input as fixtures.passing with data.compliance as none
	r2.status == "not_applicable"
}

test_no_traffic_to_protected_services_is_insufficient_evidence if {
	r := allowed_callers with input as fixtures.no_traffic with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	contains(r.summary, "No traffic to any of the 5 protected services")
}

test_a_malformed_parameter_is_named_and_never_passes if {
	r := allowed_callers with input as fixtures.passing with data.compliance as fixtures.params_with({"allowed_callers": {"web": "external"}})
	r.status == "insufficient_evidence"
	contains(r.summary, "allowed_callers must be an object of service -> list of caller names")
}
