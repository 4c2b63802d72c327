# Tests of the default tuning policy: `meshlens policy test mesh/control/tuning/policy`.
package meshlens.tuning_test

import data.meshlens.tuning

quiet := {"requests": 300, "errors": 3, "error_rate": 0.01, "rps": 10, "p50_ms": 10, "p99_ms": 40, "denies": 0, "window_s": 600}

base_input := {
	"now": 1000000, "recent_s": 30, "baseline_s": 600,
	"alerts": [],
	"services": {
		"catalog": {"replicas": 2, "instances": [], "recent": quiet, "baseline": quiet, "rps_per_replica": 5},
		"web": {"replicas": 1, "instances": [], "recent": quiet, "baseline": quiet, "rps_per_replica": 10},
	},
	"edges": {
		"web→catalog": {"src": "web", "dst": "catalog", "recent": quiet, "baseline": quiet},
		"indexer→catalog": {"src": "indexer", "dst": "catalog", "recent": object.union(quiet, {"rps": 2}), "baseline": object.union(quiet, {"rps": 2})},
	},
	"versions": {},
	"instances": {
		"catalog-1": {"service": "catalog", "instance": "catalog-1", "version": "v1", "recent": quiet, "peers": quiet, "ejections": 0, "ejected": false},
		"catalog-2": {"service": "catalog", "instance": "catalog-2", "version": "v1", "recent": quiet, "peers": quiet, "ejections": 0, "ejected": false},
	},
	"state": {"routes": {}, "replicas": {"catalog": 2, "web": 1}, "ejected": [], "rate_limits": {}, "rollouts": []},
	"recent_actions": [],
}

kinds(actions) := {a.kind | some a in actions}

test_a_quiet_mesh_gets_no_action if {
	count(tuning.actions) == 0 with input as base_input
}

sick := object.union(quiet, {"errors": 150, "error_rate": 0.5})

test_an_instance_failing_half_its_requests_is_ejected if {
	inp := object.union(base_input, {"instances": {"catalog-2": object.union(base_input.instances["catalog-2"], {"recent": sick})}})
	some a in tuning.actions with input as inp
	a.kind == "eject"
	a.instance == "catalog-2"
	a.signal.metric == "error_rate"
}

test_an_instance_as_sick_as_its_peers_is_not_ejected if {
	inp := object.union(base_input, {"instances": {
		"catalog-1": object.union(base_input.instances["catalog-1"], {"recent": sick, "peers": sick}),
		"catalog-2": object.union(base_input.instances["catalog-2"], {"recent": sick, "peers": sick}),
	}})
	not "eject" in kinds(tuning.actions) with input as inp
}

test_an_instance_without_peers_of_its_version_is_left_to_the_judge if {
	alone := object.union(base_input.instances["catalog-2"], {"version": "v2", "recent": sick, "peers": object.union(quiet, {"requests": 0, "errors": 0, "error_rate": 0})})
	inp := object.union(base_input, {"instances": {"catalog-2": alone}})
	not "eject" in kinds(tuning.actions) with input as inp
}

test_an_ejected_instance_is_not_ejected_again if {
	inp := object.union(base_input, {"instances": {"catalog-2": object.union(base_input.instances["catalog-2"], {"recent": sick, "ejected": true})}})
	not "eject" in kinds(tuning.actions) with input as inp
}

rollout(verdict, step, age_ms) := {
	"service": "payments", "from": "v1", "to": "v2", "steps": [5, 25, 50, 100], "step": step,
	"weight": 5, "interval_s": 60, "started_at": 0, "step_started_at": 1000000 - age_ms, "state": "progressing",
	"judge": {"verdict": verdict, "reasons": ["errors: …"], "windows": 3,
		"baseline": {"version": "v1", "requests": 500, "errors": 5, "p50_ms": 10, "p99_ms": 40},
		"canary": {"version": "v2", "requests": 50, "errors": 10, "p50_ms": 200, "p99_ms": 400}},
}

with_rollout(r) := object.union(base_input, {"state": object.union(base_input.state, {"rollouts": [r]})})

test_an_unhealthy_canary_is_rolled_back_at_once if {
	some a in tuning.actions with input as with_rollout(rollout("unhealthy", 0, 5000))
	a.kind == "shift"
	a.rollback == true
	a.subsets == [{"version": "v1", "weight": 100}, {"version": "v2", "weight": 0}]
}

test_a_healthy_canary_advances_after_its_interval if {
	some a in tuning.actions with input as with_rollout(rollout("healthy", 0, 61000))
	a.kind == "shift"
	a.subsets == [{"version": "v1", "weight": 75}, {"version": "v2", "weight": 25}]
}

test_a_healthy_canary_waits_for_its_interval if {
	count(tuning.actions) == 0 with input as with_rollout(rollout("healthy", 0, 30000))
}

test_an_inconclusive_canary_does_not_advance if {
	count(tuning.actions) == 0 with input as with_rollout(rollout("inconclusive", 0, 120000))
}

test_a_rollout_takes_its_first_step_without_a_verdict if {
	some a in tuning.actions with input as with_rollout(rollout("inconclusive", -1, 0))
	a.subsets == [{"version": "v1", "weight": 95}, {"version": "v2", "weight": 5}]
}

busy := object.union(quiet, {"rps": 400})

test_a_service_over_its_target_rate_is_scaled_out if {
	inp := object.union(base_input, {"services": {"web": object.union(base_input.services.web, {"recent": busy, "rps_per_replica": 400})}})
	some a in tuning.actions with input as inp
	a.kind == "scale"
	a.service == "web"
	a.replicas == 3
}

test_a_service_is_scaled_in_only_back_to_where_the_engine_found_it if {
	scaled := [{"id": "x", "kind": "scale", "subject": "catalog", "state": "verified", "at": 1, "params": {"replicas": 4, "before": 2}}]
	inp := object.union(base_input, {
		"services": {"catalog": object.union(base_input.services.catalog, {"replicas": 4, "rps_per_replica": 2.5})},
		"recent_actions": scaled,
	})
	some a in tuning.actions with input as inp
	a.kind == "scale"
	a.replicas == 2
}

test_a_service_the_engine_never_scaled_is_not_scaled_in if {
	inp := object.union(base_input, {"services": {"catalog": object.union(base_input.services.catalog, {"replicas": 4})}})
	not "scale" in kinds(tuning.actions) with input as inp
}

test_a_flooding_caller_is_limited_and_others_are_not if {
	flood := object.union(base_input.edges["indexer→catalog"], {"recent": object.union(quiet, {"rps": 150})})
	inp := object.union(base_input, {"edges": {"indexer→catalog": flood}})
	acts := tuning.actions with input as inp
	some a in acts
	a.kind == "ratelimit"
	a.caller == "indexer"
	a.rps == 5
	count([b | some b in acts; b.kind == "ratelimit"; b.caller == "web"]) == 0
}

test_a_caller_of_a_young_mesh_is_not_called_a_flood if {
	young := {"recent": object.union(quiet, {"rps": 150, "window_s": 30}), "baseline": object.union(quiet, {"rps": 2, "window_s": 30})}
	inp := object.union(base_input, {"edges": {"indexer→catalog": object.union(base_input.edges["indexer→catalog"], young)}})
	not "ratelimit" in kinds(tuning.actions) with input as inp
}

test_a_limit_is_lifted_when_the_caller_calms_down if {
	inp := object.union(base_input, {"state": object.union(base_input.state, {"rate_limits": {"catalog": [{"caller": "indexer", "rps": 5, "burst": 5}]}})})
	some a in tuning.actions with input as inp
	a.kind == "ratelimit"
	a.lift == true
}

test_settings_come_from_bundle_data if {
	inp := object.union(base_input, {"services": {"web": object.union(base_input.services.web, {"recent": object.union(quiet, {"rps": 25})})}})
	some a in tuning.actions with input as inp with data.tuning.target_rps_per_replica as 10
	a.kind == "scale"
	a.replicas == 3
}
