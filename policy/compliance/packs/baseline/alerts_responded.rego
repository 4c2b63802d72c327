# Every anomaly alert of the period was answered in time: resolved, or
# named by a tuning action, within max_alert_open_s of opening. An alert
# still open and unanswered for longer fails; one opened too recently to be
# late yet is counted as pending.
package meshlens.compliance.alerts_responded

import data.meshlens.baseline.params

metadata := {
	"title": "Every anomaly alert is answered within the allowed time",
	"description": "Each anomaly alert open during the period was resolved, or responded to by a tuning action that names it, within max_alert_open_s of opening. Alerts answered late, and alerts still unanswered after that long, fail. Not applicable when no alert was open in the period.",
	"clauses": {
		"pci_dss_4_0": [
			{"id": "10.4.3", "text": "Exceptions and anomalies identified during log review are addressed"},
			{"id": "12.10.5", "text": "The incident response plan includes monitoring and responding to alerts from security monitoring systems"},
		],
		"soc2": [
			{"id": "CC7.3", "text": "Security events are evaluated to determine whether they are incidents"},
			{"id": "CC7.4", "text": "Identified security incidents are responded to: understood, contained, remediated"},
		],
		"nist_800_207": [
			{"id": "5.4", "text": "Traffic metadata analysed, e.g. by machine learning, to find possibly malicious traffic for remediation"},
			{"id": "2.1 (tenet 7)", "text": "The enterprise uses what it collects about traffic to improve its security posture"},
		],
		"nist_800_204": [],
	},
}

bad_params := params.problems(["max_alert_open_s"])

limit := params.max_alert_open_s

complete if {
	is_array(input.alerts)
	every a in input.alerts {
		is_number(a.opened_at)
		is_number(a.open_s)
	}
}

# When an alert was first answered (resolved, or named by a tuning action).
answered_at(a) := min([t | some t in [object.get(a, "resolved_at", null), object.get(a, "responded_at", null)]; is_number(t)])

answer_s(a) := (answered_at(a) - a.opened_at) / 1000

# Seconds the alert waited: until its answer, or, unanswered, until the end of the period.
waited_s(a) := answer_s(a) if is_number(answered_at(a))

else := a.open_s

late := [a | some a in input.alerts; waited_s(a) > limit]

answered := [a | some a in input.alerts; is_number(answered_at(a))]

pending := [a | some a in input.alerts; not is_number(answered_at(a)); a.open_s <= limit]

default status := "insufficient_evidence"

status := "insufficient_evidence" if {
	bad_params != ""
} else := "fail" if {
	complete
	count(late) > 0
} else := "not_applicable" if {
	complete
	count(input.alerts) == 0
} else := "pass" if {
	complete
}

default summary := "The evidence document has no complete list of alerts, so responses cannot be shown."

summary := sprintf("The pack's parameters are invalid: %s.", [bad_params]) if {
	bad_params != ""
} else := sprintf("Alerts that waited longer than %v s for an answer: %d of the %d open in the period (the longest %d s); answered in time: %d.", [
	limit, count(late), count(input.alerts), round(max([waited_s(a) | some a in late])), count(answered) - count([a | some a in late; is_number(answered_at(a))]),
]) if {
	status == "fail"
} else := "No anomaly alert was open in the period, so there was none to answer." if {
	status == "not_applicable"
} else := sprintf("Every alert open in the period (%d) was answered within %v s or is not yet that old: %d answered, %d still open.", [count(input.alerts), limit, count(answered), count(pending)]) if {
	status == "pass"
}

default evidence := {}

evidence := {
	"alerts": count(input.alerts),
	"answered": count(answered),
	"answered_by_action": count([a | some a in input.alerts; is_number(object.get(a, "responded_at", null))]),
	"late": count(late),
	"pending": count(pending),
	"max_alert_open_s": limit,
} if complete

# Late alerts, the longest wait first.
default counterexamples := []

counterexamples := [r[3] | some r in sort([[0 - w, a.opened_at, i, object.union({
	"ref": sprintf("alert:%s", [object.get(a, "id", "")]),
	"ts": a.opened_at,
	"scope": object.get(a, "scope", ""),
	"subject": object.get(a, "subject", ""),
	"state": object.get(a, "state", ""),
	"waited_s": round(w),
}, answered_figure(a))] | some i, a in late; w := waited_s(a)])] if complete

answered_figure(a) := {"answered_s": round(answer_s(a))} if is_number(answered_at(a))

else := {}
