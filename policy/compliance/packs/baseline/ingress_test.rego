package meshlens.compliance.ingress_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.ingress

test_the_demo_mesh_admits_external_traffic_only_at_web if {
	r := ingress with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.external_requests_and_connections == 1240
	contains(r.summary, "entry services (web)")
}

test_external_traffic_let_through_elsewhere_fails_with_its_taps if {
	r := ingress with input as fixtures.plus_edge(fixtures.side_door) with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.admitted_outside_entry == 5
	r.evidence.refused_outside_entry == 2
	contains(r.summary, "external→cart")
	r.counterexamples[0].seq == 11
}

test_external_traffic_refused_elsewhere_passes if {
	refused := object.union(fixtures.side_door, {"allow": 0, "deny": 7})
	r := ingress with input as fixtures.plus_edge(refused) with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.refused_outside_entry == 7
}

test_no_entry_services_declared_is_not_applicable if {
	r := ingress with input as fixtures.passing with data.compliance as fixtures.params_without(["entry_services"])
	r.status == "not_applicable"
}

test_an_empty_entry_list_admits_nothing_from_outside if {
	closed := fixtures.params_with({"entry_services": []})
	r := ingress with input as fixtures.passing with data.compliance as closed
	r.status == "fail"
	contains(r.summary, "external→web")
	internal_only := fixtures.with_edges(array.slice(fixtures.edges, 1, 7))
	r2 := ingress with input as internal_only with data.compliance as closed
	r2.status == "pass"
}

test_no_external_traffic_at_a_declared_entry_is_insufficient_evidence if {
	internal_only := fixtures.with_edges(array.slice(fixtures.edges, 1, 7))
	r := ingress with input as internal_only with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	contains(r.summary, "No external traffic")
}

test_no_traffic_at_all_is_insufficient_evidence if {
	r := ingress with input as fixtures.no_traffic with data.compliance as fixtures.params_with({"entry_services": []})
	r.status == "insufficient_evidence"
	contains(r.summary, "No traffic at all")
}
