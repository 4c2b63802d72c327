package meshlens.compliance.signed_taps_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.signed_taps

test_every_demo_batch_is_signed if {
	r := signed_taps with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.signed_batches == 120
}

test_unsigned_batches_fail_and_are_counted if {
	t := object.union(fixtures.passing, {"chains": {"unsigned_batches": 4}})
	r := signed_taps with input as t with data.compliance as fixtures.params
	r.status == "fail"
	contains(r.summary, "signature: 4 of the 120")
	r.counterexamples == [{"ref": "chain_audit:unsigned_batches", "ts": fixtures.from, "unsigned_batches": 4}]
}

test_no_batches_is_insufficient_evidence if {
	t := object.union(fixtures.passing, {"chains": {"batches": 0}})
	r := signed_taps with input as t with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}

test_a_missing_chain_audit_is_insufficient_evidence if {
	r := signed_taps with input as object.remove(fixtures.passing, ["chains"]) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}
