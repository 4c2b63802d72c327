# Every stored batch of taps was signed by the sidecar that recorded it (its
# SPIFFE identity's key), so the store holds nothing a sidecar did not vouch
# for.
package meshlens.compliance.signed_taps

metadata := {
	"title": "Every stored batch of taps was signed by its sidecar",
	"description": "Each batch of taps received in the period carries its sidecar's signature over the batch hash, checked by the collector before the store took it. A batch stored without a signature fails the control.",
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
	is_number(chains.unsigned_batches)
}

default status := "insufficient_evidence"

status := "fail" if {
	complete
	chains.unsigned_batches > 0
} else := "pass" if {
	complete
	chains.batches > 0
}

default summary := "The evidence document has no complete chain audit, so the signatures of the trail cannot be shown."

summary := sprintf("Batches stored without their sidecar's signature: %d of the %d received in the period.", [chains.unsigned_batches, chains.batches]) if {
	status == "fail"
} else := sprintf("Every batch received in the period (%d) was signed by the sidecar that recorded it.", [chains.batches]) if {
	status == "pass"
} else := "No batch of taps was received in the period, so their signatures cannot be shown." if {
	complete
}

default evidence := {}

evidence := {"batches": chains.batches, "unsigned_batches": chains.unsigned_batches, "signed_batches": chains.batches - chains.unsigned_batches} if complete

# The chain audit counts unsigned batches without naming them: the count
# itself is the counterexample, at the start of the period.
default counterexamples := []

counterexamples := [{"ref": "chain_audit:unsigned_batches", "ts": object.get(input, ["period", "from"], 0), "unsigned_batches": chains.unsigned_batches}] if {
	status == "fail"
}
