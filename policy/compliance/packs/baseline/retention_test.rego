package meshlens.compliance.retention_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.retention

with_retention(r) := object.union(fixtures.passing, {"retention": r})

test_a_ttl_longer_than_required_passes if {
	r := retention with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.taps_ttl_days == 30
	r.evidence.oldest_tap_age_days == 2
	contains(r.summary, "kept 30 days, at least the 7 days required")
}

test_a_ttl_shorter_than_required_fails if {
	r := retention with input as with_retention({"taps_days": 3}) with data.compliance as fixtures.params
	r.status == "fail"
	contains(r.summary, "deleted after 3 days, fewer than the 7 days required")
	r.counterexamples[0].ref == "store:taps_ttl"
	r2 := retention with input as fixtures.passing with data.compliance as fixtures.params_with({"min_retention_days": 365})
	r2.status == "fail"
}

test_no_ttl_keeps_taps_until_deleted_by_hand_and_says_so if {
	r := retention with input as with_retention({"taps_days": null}) with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.ttl_set == 0
	not r.evidence.taps_ttl_days
	contains(r.summary, "kept until deleted by hand")
}

test_an_unknown_retention_is_insufficient_evidence if {
	r := retention with input as object.remove(fixtures.passing, ["retention"]) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	r2 := retention with input as with_retention({"taps_days": "30"}) with data.compliance as fixtures.params
	r2.status == "insufficient_evidence"
}
