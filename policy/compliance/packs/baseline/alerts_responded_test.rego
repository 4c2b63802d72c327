package meshlens.compliance.alerts_responded_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.alerts_responded

alert(id, opened, resolved, open_s, responded) := {
	"id": id, "scope": "service", "subject": "payments", "state": state(resolved),
	"opened_at": opened, "resolved_at": resolved, "open_s": open_s, "responded_at": responded,
}

state(null) := "open"

state(resolved) := "resolved" if resolved != null

with_alerts(list) := object.union(fixtures.passing, {"alerts": list})

test_the_demo_alert_was_answered_in_time if {
	r := alerts_responded with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.answered == 1
	r.evidence.answered_by_action == 1
}

test_an_alert_left_open_too_long_fails if {
	t := with_alerts([alert("a-1", fixtures.from - 7200000, null, 10800, null)])
	r := alerts_responded with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.late == 1
	contains(r.summary, "the longest 10800 s")
	r.counterexamples == [{"ref": "alert:a-1", "ts": fixtures.from - 7200000, "scope": "service", "subject": "payments", "state": "open", "waited_s": 10800}]
}

test_an_alert_resolved_late_without_a_response_fails if {
	t := with_alerts([alert("a-2", fixtures.from, fixtures.from + 4000000, 4000, null)])
	r := alerts_responded with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.counterexamples[0].answered_s == 4000
}

test_a_timely_tuning_response_answers_an_alert_resolved_later if {
	t := with_alerts([alert("a-3", fixtures.from, fixtures.from + 5000000, 5000, fixtures.from + 60000)])
	r := alerts_responded with input as t with data.compliance as fixtures.params
	r.status == "pass"
}

test_a_recent_open_alert_is_pending_not_late if {
	t := with_alerts([alert("a-4", fixtures.until - 600000, null, 600, null)])
	r := alerts_responded with input as t with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.pending == 1
	r2 := alerts_responded with input as t with data.compliance as fixtures.params_with({"max_alert_open_s": 300})
	r2.status == "fail"
}

test_no_alert_is_not_applicable if {
	r := alerts_responded with input as with_alerts([]) with data.compliance as fixtures.params
	r.status == "not_applicable"
}

test_a_missing_alert_list_is_insufficient_evidence if {
	r := alerts_responded with input as object.remove(fixtures.passing, ["alerts"]) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}
