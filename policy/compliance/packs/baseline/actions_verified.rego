# Every tuning action that changed the mesh reached a verdict: verified (the
# change is kept) or reverted. None is left applied past its watch window
# (max_unverified_s), and none is left changed after a failed revert.
package meshlens.compliance.actions_verified

import data.meshlens.baseline.actions
import data.meshlens.baseline.params

metadata := {
	"title": "Every tuning action that changed the mesh reached a verdict",
	"description": "Each tuning action applied in the period was afterwards verified (kept) or reverted by the engine's watch of its signal. An action still applied longer than max_unverified_s after it was applied, or one whose revert failed, fails the control. Not applicable when no tuning action changed the mesh.",
	"clauses": {
		"pci_dss_4_0": [{"id": "6.5.1", "text": "Changes are tested for adverse security impact, with procedures to address failures and return to a secure state"}],
		"soc2": [{"id": "CC8.1", "text": "Changes are tested and approved before and as they are implemented"}],
		"nist_800_207": [{"id": "5.7", "text": "Automated agents' mistaken decisions are corrected by regular retuning analysis"}],
		"nist_800_204": [],
	},
}

bad_params := params.problems(["max_unverified_s"])

limit := params.max_unverified_s

until := input.period.until

complete if {
	actions.complete
	is_number(until)
}

mesh_changing := actions.mesh_changing

# Seconds since the action's newest state, at the end of the period.
age_s(a) := (until - a.updated_at) / 1000

judged := [a | some a in mesh_changing; a.state in {"verified", "reverted"}]

overdue := [a | some a in mesh_changing; a.state == "applied"; age_s(a) > limit]

awaiting := [a | some a in mesh_changing; a.state == "applied"; age_s(a) <= limit]

revert_failed := [a | some a in mesh_changing; a.state == "failed"]

default status := "insufficient_evidence"

status := "insufficient_evidence" if {
	bad_params != ""
} else := "fail" if {
	complete
	count(overdue) + count(revert_failed) > 0
} else := "not_applicable" if {
	complete
	count(mesh_changing) == 0
} else := "pass" if {
	complete
}

default summary := "The evidence document has no complete list of tuning actions, so their verdicts cannot be shown."

summary := sprintf("The pack's parameters are invalid: %s.", [bad_params]) if {
	bad_params != ""
} else := sprintf("Tuning actions that changed the mesh without reaching a verdict: %d of %d (still applied more than %v s after being applied: %d; revert failed: %d).", [
	count(overdue) + count(revert_failed), count(mesh_changing), limit, count(overdue), count(revert_failed),
]) if {
	status == "fail"
} else := "No tuning action changed the mesh in the period, so there was no verdict to reach." if {
	status == "not_applicable"
} else := sprintf("Every tuning action that changed the mesh (%d) was judged or is not yet due: verified %d, reverted %d, awaiting a verdict within %v s %d.", [
	count(mesh_changing), count([a | some a in judged; a.state == "verified"]), count([a | some a in judged; a.state == "reverted"]), limit, count(awaiting),
]) if {
	status == "pass"
}

default evidence := {}

evidence := {
	"actions": count(input.actions),
	"mesh_changing": count(mesh_changing),
	"verified": count([a | some a in judged; a.state == "verified"]),
	"reverted": count([a | some a in judged; a.state == "reverted"]),
	"awaiting_verdict": count(awaiting),
	"overdue": count(overdue),
	"revert_failed": count(revert_failed),
	"max_unverified_s": limit,
} if complete

# Failed reverts first (the mesh is left changed), then overdue actions, the oldest first.
default counterexamples := []

counterexamples := array.concat(
	[r[2] | some r in sort([[object.get(a, "updated_at", 0), i, actions.ref(a, {})] | some i, a in revert_failed])],
	[r[2] | some r in sort([[object.get(a, "updated_at", 0), i, actions.ref(a, {"age_s": round(age_s(a))})] | some i, a in overdue])]
) if complete
