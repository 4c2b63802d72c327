package meshlens.compliance.actions_verified_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.actions_verified

action(id, state, updated_at, config_after) := object.union(fixtures.passing.actions[0], {"id": id, "state": state, "updated_at": updated_at, "config_after": config_after})

with_actions(list) := object.union(fixtures.passing, {"actions": list})

test_the_demo_action_was_verified if {
	r := actions_verified with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.verified == 1
}

test_an_action_left_applied_past_its_window_fails if {
	t := with_actions([action("x-1", "applied", fixtures.until - 900000, 6), action("x-2", "reverted", fixtures.from + 5, 7)])
	r := actions_verified with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.overdue == 1
	r.evidence.reverted == 1
	r.counterexamples[0].ref == "action:x-1"
	r.counterexamples[0].age_s == 900
}

test_a_recently_applied_action_awaits_its_verdict if {
	t := with_actions([action("x-3", "applied", fixtures.until - 60000, 6)])
	r := actions_verified with input as t with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.awaiting_verdict == 1
	r2 := actions_verified with input as t with data.compliance as fixtures.params_with({"max_unverified_s": 30})
	r2.status == "fail"
}

test_a_failed_revert_leaves_the_mesh_changed_and_fails if {
	t := with_actions([action("x-4", "failed", fixtures.until - 600000, 8)])
	r := actions_verified with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.revert_failed == 1
}

test_actions_that_changed_nothing_are_not_applicable if {
	t := with_actions([action("x-5", "dry_run", fixtures.from, 0), action("x-6", "failed", fixtures.from, 0), action("x-7", "refused", fixtures.from, 0)])
	r := actions_verified with input as t with data.compliance as fixtures.params
	r.status == "not_applicable"
	r.evidence.actions == 3
}

test_a_missing_action_list_is_insufficient_evidence if {
	r := actions_verified with input as object.remove(fixtures.passing, ["actions"]) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}
