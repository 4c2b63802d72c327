package meshlens.compliance.trail_integrity_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.trail_integrity

problem(proxy, batch, kind) := {
	"proxy": proxy, "stream": "taps", "batch": batch, "first_seq": batch * 100, "events": 100,
	"ts": fixtures.from + batch, "problem": kind, "detail": "",
}

with_problems(ps) := object.union(fixtures.passing, {"chains": {"problems": ps, "verified_batches": 120 - count(ps)}})

test_the_demo_trail_rehashes_and_links if {
	r := trail_integrity with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.batches == 120
	r.evidence.problems == 0
}

test_a_tampered_batch_fails_and_comes_before_a_broken_link if {
	t := with_problems([problem("cart-1", 3, "broken_link"), problem("web-1", 9, "hash_mismatch"), problem("web-1", 2, "unverifiable")])
	r := trail_integrity with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.hash_mismatch == 1
	contains(r.summary, "chain check: 2 of the 120")
	[c.problem | some c in r.counterexamples] == ["hash_mismatch", "broken_link", "unverifiable"]
	r.counterexamples[0].ref == "batch:web-1/taps#9"
}

test_a_chain_rehashed_to_its_head_fails_by_its_signatures if {
	t := with_problems([problem("web-1", 4, "bad_signature"), problem("web-1", 5, "bad_signature"), problem("cart-1", 3, "broken_link")])
	r := trail_integrity with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.bad_signature == 2
	contains(r.summary, "bad_signature: 2")
	[c.problem | some c in r.counterexamples] == ["bad_signature", "bad_signature", "broken_link"]
}

test_batches_that_cannot_be_rebuilt_leave_the_control_unshown if {
	t := with_problems([problem("web-1", 2, "unverifiable")])
	r := trail_integrity with input as t with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	contains(r.summary, "could not be rebuilt")
}

test_no_batches_is_insufficient_evidence if {
	t := object.union(fixtures.passing, {"chains": {"batches": 0, "verified_batches": 0}})
	r := trail_integrity with input as t with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}
