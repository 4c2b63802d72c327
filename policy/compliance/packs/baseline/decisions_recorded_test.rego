package meshlens.compliance.decisions_recorded_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.decisions_recorded

test_the_demo_mesh_records_every_decision_and_reason if {
	r := decisions_recorded with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.policed_services == 5
	r.evidence.requests == 3003
	r.evidence.deny == 13
}

test_requests_without_a_decision_fail_with_their_taps if {
	open := object.union(fixtures.mtls_edge("web", "cart", 30), {
		"allow": 20, "none": 10,
		"samples": {"none": [fixtures.tap("cart-2", 17, "web", "cart", "none", "", "TLSv1.3", fixtures.spiffe("web"))]},
	})
	r := decisions_recorded with input as fixtures.plus_edge(open) with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.without_decision == 10
	contains(r.summary, "without a decision: 10 of 3033")
	r.counterexamples[0].seq == 17
	r.counterexamples[0].decision == "none"
}

test_a_deny_without_reason_fails if {
	terse := object.union(fixtures.mtls_edge("indexer", "cart", 4), {
		"allow": 0, "deny": 4, "denies_without_reason": 2,
		"samples": {"deny_no_reason": [fixtures.tap("cart-1", 23, "indexer", "cart", "deny", "", "TLSv1.3", fixtures.spiffe("indexer"))]},
	})
	r := decisions_recorded with input as fixtures.plus_edge(terse) with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.denies_without_reason == 2
	contains(r.summary, "Denies recorded without a reason: 2 of 17")
	r.counterexamples[0].seq == 23
}

undecided(e) := object.union(e, {"allow": 0, "deny": 0, "none": e.requests})

test_no_policy_anywhere_is_not_applicable if {
	no_policy := object.union(fixtures.passing, {
		"edges": [undecided(e) | some e in fixtures.edges],
		"policies": {"authz": {"digest_at_start": "", "digests": []}, "tuning": {"digest_at_start": "", "digests": []}},
	})
	r := decisions_recorded with input as no_policy with data.compliance as fixtures.params
	r.status == "not_applicable"
}

test_a_recorded_policy_that_decided_nothing_fails_rather_than_not_applicable if {
	failed_open := fixtures.with_edges([undecided(e) | some e in fixtures.edges])
	r := decisions_recorded with input as failed_open with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.without_decision == 3003
}

test_protected_services_set_which_services_must_decide if {
	open := object.union(fixtures.mtls_edge("web", "search", 9), {"allow": 0, "none": 9})
	no_policy := object.union(fixtures.plus_edge(open), {"policies": {"authz": {"digest_at_start": "", "digests": []}}})
	r := decisions_recorded with input as no_policy with data.compliance as fixtures.params
	r.status == "pass"
	r2 := decisions_recorded with input as no_policy with data.compliance as fixtures.params_with({"protected_services": ["search"]})
	r2.status == "fail"
	r2.evidence.policed_services == 1
}

test_no_traffic_is_insufficient_evidence if {
	r := decisions_recorded with input as fixtures.no_traffic with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}
