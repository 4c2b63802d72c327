# Every policy and routing change of the period is on record with its
# config version, time, actor and (for a policy) its bundle digest; and every
# tuning action that changed the mesh names a config version the change log
# holds, so no automated change went unrecorded.
package meshlens.compliance.change_records

import data.meshlens.baseline.actions

metadata := {
	"title": "Every policy and routing change is recorded",
	"description": "Each change to the mesh's configuration in the period (authorization or tuning policy, route, ejection, rate limit, registry) is recorded with the control-plane version it produced, its time and its actor, and a policy change with the digest of the bundle it installed. Each tuning action that changed the mesh names a config version found among the recorded changes.",
	"clauses": {
		"pci_dss_4_0": [
			{"id": "1.2.2", "text": "Changes to network connections and to NSC configurations are approved and managed per the change control process of 6.5.1"},
			{"id": "6.5.1", "text": "Changes to system components in production follow established procedures, with reason, approval and documentation"},
			{"id": "10.2.1.2", "text": "Audit logs capture all actions taken with administrative access, including use of application or system accounts"},
		],
		"soc2": [
			{"id": "CC7.1", "text": "Detection and monitoring procedures identify changes to configurations"},
			{"id": "CC8.1", "text": "Changes to infrastructure, data, software and procedures are authorized, documented, tested and approved"},
		],
		"nist_800_207": [
			{"id": "5.1", "text": "Policy engine and administrator configuration changes must be logged and subject to audit"},
			{"id": "5.7", "text": "Non-person entities (automated agents) that administer the policy components are a risk to be controlled"},
		],
		"nist_800_204": [],
	},
}

changes := input.changes

complete if {
	is_array(changes.during)
	is_array(changes.at_start)
	actions.complete
}

policy_kinds := {"authz_policy", "tuning_policy"}

# What a recorded change lacks, as field names.
lacks(c) := [f | some f in ["version", "time", "actor", "digest"]; not has(c, f)]

has(c, "version") if positive(object.get(c, "version", null))

has(c, "time") if positive(object.get(c, "ts", null))

has(c, "actor") if filled(object.get(c, "actor", null))

has(c, "digest") if not object.get(c, "kind", "") in policy_kinds

has(c, "digest") if filled(object.get(c, "digest", null))

positive(v) if {
	is_number(v)
	v > 0
}

filled(v) if {
	is_string(v)
	v != ""
}

incomplete := [[c, l] | some c in changes.during; l := lacks(c); count(l) > 0]

recorded_versions := {c.version | some c in array.concat(changes.during, changes.at_start)}

mesh_changing := actions.mesh_changing

unrecorded := [a | some a in mesh_changing; not a.config_after in recorded_versions]

default status := "insufficient_evidence"

status := "fail" if {
	complete
	count(incomplete) + count(unrecorded) > 0
} else := "not_applicable" if {
	complete
	count(changes.during) + count(mesh_changing) == 0
} else := "pass" if {
	complete
}

version_text := sprintf("config version %v throughout", [input.config.version_at_start]) if input.config.version_at_start == input.config.version_at_end

else := sprintf("config version %v to %v", [input.config.version_at_start, input.config.version_at_end]) if is_number(input.config.version_at_end)

else := "config versions not given"

default summary := "The evidence document has no complete change log and action list, so change records cannot be shown."

summary := sprintf("Changes in the period lacking part of their record: %d of %d (%s); tuning actions that changed the mesh under a config version no recorded change has: %d of %d.", [
	count(incomplete), count(changes.during), concat(", ", sort({f | some x in incomplete; some f in x[1]})), count(unrecorded), count(mesh_changing),
]) if {
	status == "fail"
	count(incomplete) > 0
} else := sprintf("Tuning actions that changed the mesh under a config version no recorded change has: %d of %d (%s).", [
	count(unrecorded), count(mesh_changing), concat(", ", sort([sprintf("%s %s", [a.kind, a.subject]) | some a in unrecorded])),
]) if {
	status == "fail"
} else := sprintf("No policy or routing change was recorded and no tuning action changed the mesh in the period (%s), so there was no change to record.", [version_text]) if {
	status == "not_applicable"
} else := sprintf("Every change in the period (%d) is recorded with version, time, actor and, for a policy, digest (%s); every tuning action that changed the mesh (%d) names a recorded version.", [
	count(changes.during), version_text, count(mesh_changing),
]) if {
	status == "pass"
}

default evidence := {}

evidence := {
	"changes": count(changes.during),
	"policy_changes": count([c | some c in changes.during; c.kind in policy_kinds]),
	"incomplete_changes": count(incomplete),
	"mesh_changing_actions": count(mesh_changing),
	"unrecorded_actions": count(unrecorded),
} if complete

# Incomplete change records, oldest first; then unrecorded actions, oldest first.
default counterexamples := []

counterexamples := array.concat(
	[r[2] | some r in sort([[object.get(c, "ts", 0), i, {
		"ref": sprintf("change:%s/%s", [object.get(c, "kind", ""), object.get(c, "subject", "")]),
		"ts": object.get(c, "ts", 0), "kind": object.get(c, "kind", ""), "subject": object.get(c, "subject", ""),
		"version": object.get(c, "version", 0), "lacks": l,
	}] | some i, x in incomplete; [c, l] := x])],
	[r[2] | some r in sort([[object.get(a, "updated_at", 0), i, actions.ref(a, {})] | some i, a in unrecorded])]
) if complete
