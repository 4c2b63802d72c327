# Reading the evidence document's tuning actions (the newest state of each
# action proposed in the period; states as in ingest/action-record.ts
# ACTION_STATES), shared by the change and verification controls.
package meshlens.baseline.actions

# An action changed the mesh when it was applied (and then judged either
# way), or when its revert failed after it had been applied. One that failed
# to apply left config_after at 0: it changed nothing.
changed_mesh(a) if a.state in {"applied", "verified", "reverted"}

changed_mesh(a) if {
	a.state == "failed"
	a.config_after > 0
}

mesh_changing := [a | some a in input.actions; changed_mesh(a)]

complete if is_array(input.actions)

ref(a, extra) := object.union({
	"ref": sprintf("action:%s", [object.get(a, "id", "")]),
	"ts": object.get(a, "updated_at", 0),
	"kind": object.get(a, "kind", ""),
	"subject": object.get(a, "subject", ""),
	"state": object.get(a, "state", ""),
	"config_after": object.get(a, "config_after", 0),
}, extra)
