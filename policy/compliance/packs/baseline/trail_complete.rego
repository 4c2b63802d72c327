# The audit trail of the period is complete: no sequence gap in any
# sidecar's stream that a loss record does not account for, and the loss the
# sidecars did record (dropped under pressure) within max_lost_share.
package meshlens.compliance.trail_complete

import data.meshlens.baseline.params

metadata := {
	"title": "The audit trail has no unaccounted gaps",
	"description": "Every sidecar numbers its taps; each gap in a stream's sequence numbers within the period is covered by a loss record the sidecar sent (it knows what it dropped), and the events so recorded as lost are at most max_lost_share of the period's events. A gap nobody accounted for fails, as does loss above the share.",
	"clauses": {
		"pci_dss_4_0": [
			{"id": "10.2.1", "text": "Audit logs are enabled and active for all system components"},
			{"id": "10.7.2", "text": "Failures of critical security control systems, audit logging among them, are detected, alerted and addressed promptly"},
		],
		"soc2": [{"id": "CC7.2", "text": "System components are monitored for anomalies indicative of malicious acts and errors"}],
		"nist_800_207": [
			{"id": "3.4.1 (requirement 3)", "text": "The enterprise can observe all network traffic and records what it sees on the data plane"},
			{"id": "2.1 (tenet 7)", "text": "The enterprise collects as much information as possible about network traffic and access requests"},
		],
		"nist_800_204": [],
	},
}

bad_params := params.problems(["max_lost_share"])

complete if {
	is_array(input.chains.gaps)
	is_number(input.taps.events)
	is_number(input.loss.events)
	is_array(input.loss.records)
}

events := input.taps.events

lost := input.loss.events

unaccounted := [g | some g in input.chains.gaps; not g.accounted == true]

unaccounted_events := sum([object.get(g, "count", 0) | some g in unaccounted])

lost_share := lost / (events + lost) if events + lost > 0

else := 0

over_share if lost_share > params.max_lost_share

default status := "insufficient_evidence"

status := "insufficient_evidence" if {
	bad_params != ""
} else := "fail" if {
	complete
	count(unaccounted) > 0
} else := "fail" if {
	complete
	over_share
} else := "pass" if {
	complete
	events > 0
}

share_text := sprintf("%.3f%%", [100 * lost_share])

limit_text := sprintf("%.3f%%", [100 * params.max_lost_share])

default summary := "The evidence document has no complete chain audit and loss records, so the completeness of the trail cannot be shown."

summary := sprintf("The pack's parameters are invalid: %s.", [bad_params]) if {
	bad_params != ""
} else := sprintf("Sequence gaps in the period that no loss record accounts for: %d (%d events); events recorded as lost: %d (%s of %d, at most %s allowed).", [
	count(unaccounted), unaccounted_events, lost, share_text, events + lost, limit_text,
]) if {
	status == "fail"
	count(unaccounted) > 0
} else := sprintf("Events the sidecars recorded as lost: %d, in %d loss records: %s of the period's %d events, above the %s allowed.", [
	lost, count(input.loss.records), share_text, events + lost, limit_text,
]) if {
	status == "fail"
} else := sprintf("The period's %d events have no unaccounted gap; events recorded as lost: %d (%s, at most %s allowed).", [events, lost, share_text, limit_text]) if {
	status == "pass"
} else := "No tap event was stored in the period, so the completeness of the trail cannot be shown." if {
	complete
}

default evidence := {}

evidence := {
	"events": events,
	"gaps": count(input.chains.gaps),
	"unaccounted_gaps": count(unaccounted),
	"unaccounted_events": unaccounted_events,
	"lost_events": lost,
	"loss_records": count(input.loss.records),
	"lost_share": lost_share,
	"refused_frames": object.get(input, ["rejects", "frames"], 0),
} if complete

# Unaccounted gaps, largest first; then, when the loss is over the share,
# the loss records, largest first.
default counterexamples := []

counterexamples := array.concat(gap_refs, loss_refs) if complete

gap_refs := [r[3] | some r in sort([[0 - n, object.get(g, "ts", 0), i, ref] |
	some i, g in unaccounted
	n := object.get(g, "count", 0)
	ref := {
		"ref": sprintf("gap:%s/%s@%d", [object.get(g, "proxy", ""), object.get(g, "stream", ""), object.get(g, "from_seq", 0)]),
		"ts": object.get(g, "ts", 0), "proxy": object.get(g, "proxy", ""), "stream": object.get(g, "stream", ""),
		"from_seq": object.get(g, "from_seq", 0), "count": n,
	}
])]

loss_refs := [r[3] | some r in sort([[0 - n, object.get(l, "ts", 0), i, ref] |
	some i, l in input.loss.records
	n := object.get(l, "count", 0)
	ref := {
		"ref": sprintf("loss:%s/%s@%d", [object.get(l, "proxy", ""), object.get(l, "stream", ""), object.get(l, "from_seq", 0)]),
		"ts": object.get(l, "ts", 0), "proxy": object.get(l, "proxy", ""), "stream": object.get(l, "stream", ""),
		"from_seq": object.get(l, "from_seq", 0), "count": n, "reason": object.get(l, "reason", ""),
	}
])] if over_share

else := []
