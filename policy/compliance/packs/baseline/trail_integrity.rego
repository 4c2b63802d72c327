# The audit trail of the period is intact: every stored batch, rebuilt from
# its stored rows exactly as its sidecar hashed it, gives the hash the sidecar
# chained, links to the batch before it, and (when the report is issued with
# the mesh's trust bundle) that hash still carries its sidecar's signature:
# a chain rewritten and hashed again to its head fails as bad_signature.
package meshlens.compliance.trail_integrity

metadata := {
	"title": "Every stored batch of taps re-hashes and links",
	"description": "Each batch of taps received in the period is rebuilt from its stored rows and re-hashed as its sidecar hashed it; the hash must match the one the sidecar chained, the batch must link to its predecessor, and its stored signature must verify over that hash with the sidecar's stored certificate. A mismatch, a broken link, rows missing or added, or a bad signature fail; batches that cannot be rebuilt, or whose signature cannot be traced to the trust bundle, leave the control unshown.",
	"clauses": {
		"pci_dss_4_0": [
			{"id": "10.3.2", "text": "Audit log files are protected to prevent modifications by individuals"},
			{"id": "10.3.4", "text": "Change detection on audit logs: existing log data cannot be changed without generating alerts"},
		],
		"soc2": [{"id": "CC7.1", "text": "Detection and monitoring procedures identify changes to configurations and critical files"}],
		"nist_800_207": [{"id": "5.5", "text": "Stored network traffic and metadata are a target for attackers and must be protected"}],
		"nist_800_204": [],
	},
}

chains := input.chains

complete if {
	is_number(chains.batches)
	is_number(chains.verified_batches)
	is_array(chains.problems)
}

# Most telling first; "unverifiable" is no evidence of tampering, only of a
# batch that could not be rebuilt.
severity := {"hash_mismatch": 0, "bad_signature": 1, "extra_rows": 2, "missing_rows": 3, "broken_link": 4, "unverifiable": 5}

rank(p) := r if r := severity[p.problem]

else := 6

broken := [p | some p in chains.problems; p.problem != "unverifiable"]

unverifiable := [p | some p in chains.problems; p.problem == "unverifiable"]

by_kind := {k: n | some k in {p.problem | some p in chains.problems}; n := count([p | some p in chains.problems; p.problem == k])}

kinds_text := concat(", ", sort([sprintf("%s: %d", [k, n]) | some k, n in by_kind]))

default status := "insufficient_evidence"

status := "fail" if {
	complete
	count(broken) > 0
} else := "pass" if {
	complete
	chains.batches > 0
	count(unverifiable) == 0
}

default summary := "The evidence document has no complete chain audit, so the integrity of the trail cannot be shown."

summary := sprintf("Batches that fail their chain check: %d of the %d received in the period (%s).", [count(broken), chains.batches, kinds_text]) if {
	status == "fail"
} else := sprintf("Every batch received in the period (%d, with %d events) re-hashes to the hash its sidecar chained and links to its predecessor.", [chains.batches, object.get(chains, "events", 0)]) if {
	status == "pass"
} else := sprintf("Batches that could not be rebuilt from their stored rows, or whose signature could not be traced to the trust bundle: %d of the %d received in the period, so their integrity cannot be shown; none failed its check.", [count(unverifiable), chains.batches]) if {
	complete
	count(unverifiable) > 0
} else := "No batch of taps was received in the period, so the integrity of the trail cannot be shown." if {
	complete
}

default evidence := {}

evidence := object.union(
	{"batches": chains.batches, "verified_batches": chains.verified_batches, "problems": count(chains.problems), "events": object.get(chains, "events", 0)},
	{k: n | some k, n in by_kind}
) if complete

default counterexamples := []

counterexamples := [r[4] | some r in sort([[rank(p), object.get(p, "ts", 0), object.get(p, "proxy", ""), i, ref] |
	some i, p in chains.problems
	ref := {
		"ref": sprintf("batch:%s/%s#%d", [object.get(p, "proxy", ""), object.get(p, "stream", ""), object.get(p, "batch", 0)]),
		"ts": object.get(p, "ts", 0),
		"proxy": object.get(p, "proxy", ""),
		"stream": object.get(p, "stream", ""),
		"batch": object.get(p, "batch", 0),
		"first_seq": object.get(p, "first_seq", 0),
		"events": object.get(p, "events", 0),
		"problem": object.get(p, "problem", ""),
		"detail": object.get(p, "detail", ""),
	}
])] if complete
