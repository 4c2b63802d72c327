# meshlens's default tuning policy: what the control plane's tuning engine
# does about what the mesh records. Evaluated every tick (10 s) and on every
# alert change, as WebAssembly, over the input document described in
# docs/tuning.md. Its answer, meshlens/tuning/actions, is a set of actions;
# the engine then applies its guardrails (bounds, cooldowns, modes), applies
# what passes, watches the signal each action names, and reverts an action
# whose signal did not come back under its threshold.
#
# Replace it with your own (`meshlens control --tuning-policy <dir>`, or PUT
# /v1/tuning/policy); keep the test_* rules passing (`meshlens policy test`).
#
# Settings: every number below can be overridden per deployment through the
# bundle's data, data.tuning.<name> (e.g. {"tuning": {"target_rps_per_replica": 40}}).
package meshlens.tuning

defaults := {
	# eject: an instance whose callers see this share of errors …
	"eject_error_rate": 0.25,
	# … this much more than the rest of its service, over at least this many requests.
	"eject_margin": 0.15,
	"eject_min_requests": 20,
	# A service's error rate the policy calls healthy (verification threshold).
	"healthy_error_rate": 0.05,
	# scale: requests per second one replica is meant to carry; out above it, in below
	# scale_in_share of it (on the replicas that would remain).
	"target_rps_per_replica": 150,
	"scale_in_share": 0.6,
	"max_replicas": 4,
	# ratelimit: a caller sending flood_factor × its baseline rate, and at least
	# flood_min_rps, to a service with other callers, is limited to limit_factor ×
	# its baseline (at least limit_min_rps).
	"flood_factor": 5,
	"flood_min_rps": 20,
	"limit_factor": 2,
	"limit_min_rps": 5,
	# … once the edge has this many seconds of baseline (a young mesh has no normal yet).
	"flood_min_baseline_s": 60,
}

setting(name) := v if {
	v := data.tuning[name]
} else := defaults[name]

actions contains a if some a in canary_actions

actions contains a if some a in eject_actions

actions contains a if some a in scale_actions

actions contains a if some a in ratelimit_actions

# Alerts about a service: its own, and those of edges into it.
alerts_about(svc) := [id |
	some al in input.alerts
	about(al, svc)
	id := al.id
]

about(al, svc) if {
	al.scope == "service"
	al.subject == svc
}

about(al, svc) if {
	al.scope == "edge"
	endswith(al.subject, sprintf("→%s", [svc]))
}

# ── Canary: advance a rollout while the judge calls the new version healthy,
#    send everything back to the old one the moment it does not. ──────────

canary_actions contains a if {
	some r in input.state.rollouts
	r.state == "progressing"
	r.judge.verdict == "unhealthy"
	a := {
		"kind": "shift", "service": r.service, "rollback": true,
		"subsets": [{"version": r.from, "weight": 100}, {"version": r.to, "weight": 0}],
		"reason": sprintf("rollout of %s %s halted: %s", [r.service, r.to, concat("; ", r.judge.reasons)]),
		"alerts": alerts_about(r.service),
		"signal": {"scope": "version", "subject": sprintf("%s@%s", [r.service, r.to]), "metric": "error_rate", "value": r.judge.canary.errors / max([r.judge.canary.requests, 1]), "threshold": setting("healthy_error_rate")},
	}
}

canary_actions contains a if {
	some r in input.state.rollouts
	r.state == "progressing"
	next_step(r)
	w := r.steps[r.step + 1]
	a := {
		"kind": "shift", "service": r.service,
		"subsets": [{"version": r.from, "weight": 100 - w}, {"version": r.to, "weight": w}],
		"reason": step_reason(r, w),
		"alerts": [],
		"signal": {"scope": "version", "subject": sprintf("%s@%s", [r.service, r.to]), "metric": "error_rate", "value": r.judge.canary.errors / max([r.judge.canary.requests, 1]), "threshold": setting("healthy_error_rate")},
	}
}

# The first step needs no verdict; every later one a healthy verdict after a full interval.
next_step(r) if r.step == -1

next_step(r) if {
	r.step >= 0
	r.step + 1 < count(r.steps)
	r.judge.verdict == "healthy"
	input.now - r.step_started_at >= r.interval_s * 1000
}

step_reason(r, w) := sprintf("rollout of %s %s: first step, %d%%", [r.service, r.to, w]) if r.step == -1

else := sprintf("rollout of %s %s: %d%% → %d%%, the judge says healthy: %s", [r.service, r.to, r.weight, w, concat("; ", r.judge.reasons)])

# ── Eject: one instance failing far more than the rest of its service. ────

eject_actions contains a if {
	some name, i in input.instances
	not i.ejected
	i.recent.requests >= setting("eject_min_requests")
	# Against the instance's own kind: peers of its version with traffic of their own.
	i.peers.requests >= setting("eject_min_requests")
	i.recent.error_rate >= setting("eject_error_rate")
	i.recent.error_rate >= i.peers.error_rate + setting("eject_margin")
	a := {
		"kind": "eject", "service": i.service, "instance": name,
		"reason": sprintf("%s fails %.0f%% of %d requests, the rest of %s %.0f%%%s", [name, i.recent.error_rate * 100, i.recent.requests, i.service, i.peers.error_rate * 100, repeat_note(i)]),
		"alerts": alerts_about(i.service),
		"signal": {"scope": "service", "subject": i.service, "metric": "error_rate", "value": input.services[i.service].recent.error_rate, "threshold": setting("healthy_error_rate")},
	}
}

repeat_note(i) := sprintf(" (ejected %d times before)", [i.ejections]) if i.ejections > 0

else := ""

# ── Scale: replicas follow demand, one target rate per replica. ───────────

scale_actions contains a if {
	some name, s in input.services
	s.replicas > 0
	want := min([ceil(s.recent.rps / setting("target_rps_per_replica")), setting("max_replicas")])
	want > s.replicas
	a := {
		"kind": "scale", "service": name, "replicas": want,
		"reason": sprintf("%s carries %.1f req/s on %d replicas (%.1f each, target %v): scale out to %d", [name, s.recent.rps, s.replicas, s.rps_per_replica, setting("target_rps_per_replica"), want]),
		"alerts": alerts_about(name),
		"signal": {"scope": "service", "subject": name, "metric": "rps_per_replica", "value": s.rps_per_replica, "threshold": setting("target_rps_per_replica")},
	}
}

scale_actions contains a if {
	some name, s in input.services
	s.replicas > 1
	# Only what this engine scaled out: a service's own replica count is its owner's.
	scaled_out(name)
	s.recent.rps < setting("target_rps_per_replica") * (s.replicas - 1) * setting("scale_in_share")
	want := max([ceil(s.recent.rps / setting("target_rps_per_replica")), home_replicas(name)])
	want < s.replicas
	a := {
		"kind": "scale", "service": name, "replicas": want,
		"reason": sprintf("%s carries %.1f req/s on %d replicas, under %.0f%% of the target on %d: scale in to %d", [name, s.recent.rps, s.replicas, setting("scale_in_share") * 100, s.replicas - 1, want]),
		"alerts": [],
		"signal": {"scope": "service", "subject": name, "metric": "rps_per_replica", "value": s.rps_per_replica, "threshold": setting("target_rps_per_replica")},
	}
}

scaled_out(name) if {
	some r in input.recent_actions
	r.kind == "scale"
	r.subject == name
	r.state in {"applied", "verified"}
	r.params.replicas > r.params.before
}

# The replica count before this engine's first recent scale-out of the service.
home_replicas(name) := min([r.params.before |
	some r in input.recent_actions
	r.kind == "scale"
	r.subject == name
	r.state in {"applied", "verified"}
	r.params.replicas > r.params.before
])

# ── Rate limit: one caller flooding a service that others call too. ───────

ratelimit_actions contains a if {
	some key, e in input.edges
	not limited(e.dst, e.src)
	e.src != "external"
	e.baseline.window_s >= setting("flood_min_baseline_s")
	e.recent.rps >= setting("flood_min_rps")
	e.recent.rps >= setting("flood_factor") * e.baseline.rps
	other_callers(e.dst, e.src)
	callee := input.services[e.dst]
	rps := max([setting("limit_factor") * e.baseline.rps, setting("limit_min_rps")])
	a := {
		"kind": "ratelimit", "service": e.dst, "caller": e.src, "rps": rps, "burst": ceil(rps),
		"reason": sprintf("%s sends %.1f req/s to %s, %.1f× its baseline of %.1f req/s: limit it to %.1f req/s", [e.src, e.recent.rps, e.dst, e.recent.rps / max([e.baseline.rps, 0.01]), e.baseline.rps, rps]),
		"alerts": alerts_about(e.dst),
		# What a limit protects: the latency the service's other callers get (p50: a tail is noise at these rates).
		"signal": {"scope": "service", "subject": e.dst, "metric": "p50_ms", "value": callee.recent.p50_ms, "threshold": max([2 * callee.baseline.p50_ms, callee.baseline.p50_ms + 50])},
	}
}

ratelimit_actions contains a if {
	some svc, rules in input.state.rate_limits
	some rule in rules
	key := sprintf("%s→%s", [rule.caller, svc])
	recent := object.get(input.edges, key, {"recent": {"rps": 0}}).recent.rps
	recent < rule.rps
	a := {
		"kind": "ratelimit", "service": svc, "caller": rule.caller, "lift": true,
		"reason": sprintf("%s sends %.1f req/s to %s, under its limit of %.1f: lift the limit", [rule.caller, recent, svc, rule.rps]),
		"alerts": [],
		"signal": {"scope": "edge", "subject": key, "metric": "rps", "value": recent, "threshold": rule.rps},
	}
}

limited(svc, caller) if {
	some rule in input.state.rate_limits[svc]
	rule.caller == caller
}

other_callers(dst, src) if {
	some e in input.edges
	e.dst == dst
	e.src != src
	e.recent.requests > 0
}
