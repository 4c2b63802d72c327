package meshlens.compliance.trail_complete_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.trail_complete

gap(proxy, from_seq, n, accounted) := {"proxy": proxy, "stream": "taps", "from_seq": from_seq, "count": n, "ts": fixtures.from + from_seq, "accounted": accounted}

loss(proxy, from_seq, n) := {"proxy": proxy, "stream": "taps", "ts": fixtures.from + from_seq, "from_seq": from_seq, "count": n, "reason": "queue_full"}

with_trail(gaps, records) := object.union(fixtures.passing, {
	"chains": {"gaps": gaps},
	"loss": {"records": records, "events": sum([l.count | some l in records])},
})

test_the_demo_trail_is_complete if {
	r := trail_complete with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.events == 12000
	r.evidence.unaccounted_gaps == 0
}

test_an_unaccounted_gap_fails_largest_first if {
	t := with_trail([gap("cart-1", 100, 3, false), gap("web-1", 500, 40, false), gap("web-1", 900, 5, true)], [loss("web-1", 900, 5)])
	r := trail_complete with input as t with data.compliance as fixtures.params_with({"max_lost_share": 0.01})
	r.status == "fail"
	r.evidence.unaccounted_gaps == 2
	r.evidence.unaccounted_events == 43
	r.counterexamples[0].ref == "gap:web-1/taps@500"
	r.counterexamples[1].ref == "gap:cart-1/taps@100"
	count(r.counterexamples) == 2
}

test_accounted_loss_within_the_allowed_share_passes if {
	t := with_trail([gap("web-1", 900, 5, true)], [loss("web-1", 900, 5)])
	r := trail_complete with input as t with data.compliance as fixtures.params_with({"max_lost_share": 0.01})
	r.status == "pass"
	r.evidence.lost_events == 5
}

test_accounted_loss_above_the_share_fails_with_the_loss_records if {
	t := with_trail([gap("web-1", 900, 5, true)], [loss("web-1", 900, 5)])
	r := trail_complete with input as t with data.compliance as fixtures.params
	r.status == "fail"
	contains(r.summary, "above the 0.000% allowed")
	r.counterexamples[0].ref == "loss:web-1/taps@900"
	r.counterexamples[0].reason == "queue_full"
}

test_a_gap_without_its_accounted_flag_counts_as_unaccounted if {
	t := with_trail([object.remove(gap("web-1", 7, 1, true), ["accounted"])], [])
	r := trail_complete with input as t with data.compliance as fixtures.params
	r.status == "fail"
}

test_no_events_is_insufficient_evidence if {
	t := object.union(fixtures.passing, {"taps": {"events": 0}})
	r := trail_complete with input as t with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}

test_an_impossible_share_is_named_and_never_passes if {
	r := trail_complete with input as fixtures.passing with data.compliance as fixtures.params_with({"max_lost_share": 2})
	r.status == "insufficient_evidence"
	contains(r.summary, "max_lost_share must be a number between 0 and 1")
}
