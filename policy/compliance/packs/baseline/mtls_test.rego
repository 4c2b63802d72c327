package meshlens.compliance.mtls_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.mtls

test_the_demo_mesh_passes_and_counts_only_internal_traffic if {
	r := mtls with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	# external→web is plaintext (ingress) and is not counted
	r.evidence.internal_edges == 6
	r.evidence.requests == 1803
	r.evidence.plaintext_requests == 0
	r.counterexamples == []
	contains(r.summary, "Every service-to-service request (1803)")
}

test_plaintext_internal_requests_fail_with_their_share_and_sample if {
	r := mtls with input as fixtures.plus_edge(fixtures.leaky) with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.plaintext_requests == 10
	r.evidence.plaintext_connections == 1
	r.evidence.plaintext_edges == 1
	contains(r.summary, "10 of 1853 requests (0.5%)")
	r.counterexamples[0].proxy == "inventory-1"
	r.counterexamples[0].seq == 42
}

test_plaintext_connections_without_a_sample_point_at_the_edge if {
	tcp := object.union(fixtures.mtls_edge("cart", "ledger", 0), {"connections": 3, "mtls_connections": 1})
	r := mtls with input as fixtures.plus_edge(tcp) with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.plaintext_connections == 2
	r.counterexamples[0].ref == "edge:cart→ledger"
	r.counterexamples[0].plaintext_connections == 2
}

test_the_edge_with_most_plaintext_comes_first if {
	worse := object.union(fixtures.mtls_edge("web", "cart", 100), {"mtls_requests": 0, "plaintext_requests": 100, "samples": {"plaintext": [fixtures.tap("cart-1", 5, "web", "cart", "allow", "", "", "")]}})
	r := mtls with input as fixtures.with_edges([fixtures.leaky, worse]) with data.compliance as fixtures.params
	[c.proxy | some c in r.counterexamples] == ["cart-1", "inventory-1"]
}

test_only_external_traffic_is_insufficient_evidence_not_a_pass if {
	r := mtls with input as fixtures.with_edges([fixtures.edges[0]]) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	contains(r.summary, "No service-to-service traffic")
}

test_no_traffic_at_all_is_insufficient_evidence if {
	r := mtls with input as fixtures.no_traffic with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}

test_an_edge_missing_a_figure_is_insufficient_evidence_never_a_pass if {
	e := object.remove(fixtures.mtls_edge("web", "cart", 10), ["plaintext_requests"])
	r := mtls with input as fixtures.plus_edge(e) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	contains(r.summary, "missing or incomplete")
}

test_metadata_maps_the_control_to_its_clauses if {
	ids := {c.id | some c in mtls.metadata.clauses.nist_800_207}
	"2.1 (tenet 2)" in ids
	count(mtls.metadata.clauses.pci_dss_4_0) > 0
}
