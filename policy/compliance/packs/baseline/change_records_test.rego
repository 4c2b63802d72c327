package meshlens.compliance.change_records_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.change_records

change(ts, version, kind, digest, actor) := {"ts": ts, "version": version, "kind": kind, "subject": kind, "digest": digest, "actor": actor, "detail": "{}"}

with_changes(during) := object.union(fixtures.passing, {"changes": {"during": during}})

test_the_demo_changes_are_all_recorded if {
	r := change_records with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.changes == 2
	r.evidence.mesh_changing_actions == 1
	contains(r.summary, "config version 3 to 5")
}

test_a_change_without_actor_or_policy_digest_fails_naming_what_it_lacks if {
	t := with_changes([
		change(fixtures.from + 10, 4, "route", "", "operator"),
		change(fixtures.from + 20, 5, "authz_policy", "", ""),
		change(fixtures.from + 30, 6, "tuning_policy", "e5f6", "operator"),
	])
	r := change_records with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.incomplete_changes == 1
	r.counterexamples[0].ref == "change:authz_policy/authz_policy"
	r.counterexamples[0].lacks == ["actor", "digest"]
}

test_a_change_without_a_version_or_time_fails if {
	t := with_changes([object.remove(change(fixtures.from + 10, 4, "route", "", "operator"), ["version", "ts"]), change(fixtures.from + 20, 5, "ejection", "", "engine")])
	r := change_records with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.counterexamples[0].lacks == ["version", "time"]
}

test_an_applied_action_whose_config_version_is_not_recorded_fails if {
	unrecorded := object.union(fixtures.passing.actions[0], {"id": "action-2", "state": "reverted", "config_after": 9})
	t := object.union(fixtures.passing, {"actions": [fixtures.passing.actions[0], unrecorded]})
	r := change_records with input as t with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.unrecorded_actions == 1
	r.counterexamples == [{"ref": "action:action-2", "ts": fixtures.from + 1300000, "kind": "eject", "subject": "payments-2", "state": "reverted", "config_after": 9}]
}

test_actions_that_changed_nothing_need_no_record if {
	dry := object.union(fixtures.passing.actions[0], {"state": "dry_run", "config_after": 0})
	failed_to_apply := object.union(fixtures.passing.actions[0], {"id": "action-3", "state": "failed", "config_after": 0})
	t := object.union(fixtures.passing, {"actions": [dry, failed_to_apply]})
	r := change_records with input as t with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.mesh_changing_actions == 0
}

test_a_period_without_changes_is_not_applicable if {
	t := object.union(with_changes([]), {"actions": [], "config": {"version_at_start": 3, "version_at_end": 3}})
	r := change_records with input as t with data.compliance as fixtures.params
	r.status == "not_applicable"
	contains(r.summary, "config version 3 throughout")
}

test_a_missing_change_log_is_insufficient_evidence if {
	r := change_records with input as object.remove(fixtures.passing, ["changes"]) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
}
