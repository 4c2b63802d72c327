# Taps are kept at least min_retention_days: the TTL the store applies to
# the taps table is that long or longer, or there is none (legacy
# clickhouse-server tables: nothing is deleted until someone does it by hand).
package meshlens.compliance.retention

import data.meshlens.baseline.params

metadata := {
	"title": "Taps are kept at least the required number of days",
	"description": "The time to live the store applies to stored taps is at least min_retention_days. A store with no TTL keeps taps until they are deleted by hand, which passes and says so. (PCI DSS asks for 12 months of history; set min_retention_days to 365 where it applies.)",
	"clauses": {
		"pci_dss_4_0": [{"id": "10.5.1", "text": "Audit log history is retained for at least 12 months, the most recent three months immediately available"}],
		"soc2": [],
		"nist_800_207": [],
		"nist_800_204": [],
	},
}

bad_params := params.problems(["min_retention_days"])

retention := input.retention

min_days := params.min_retention_days

ttl_days := retention.taps_days

no_ttl if {
	"taps_days" in object.keys(retention)
	retention.taps_days == null
}

complete if no_ttl

complete if is_number(retention.taps_days)

# Age of the oldest stored tap when the evidence was gathered, in days.
oldest_age_days := round(((input.generated_at - retention.oldest_tap_ts) / 86400000) * 10) / 10 if {
	is_number(retention.oldest_tap_ts)
	is_number(input.generated_at)
}

oldest_text := sprintf(" Age of the oldest stored tap: %v days.", [oldest_age_days]) if is_number(oldest_age_days)

else := " No tap is stored."

default status := "insufficient_evidence"

status := "insufficient_evidence" if {
	bad_params != ""
} else := "pass" if {
	no_ttl
} else := "fail" if {
	is_number(ttl_days)
	ttl_days < min_days
} else := "pass" if {
	is_number(ttl_days)
}

default summary := "The evidence document does not say how long the store keeps taps, so retention cannot be shown."

summary := sprintf("The pack's parameters are invalid: %s.", [bad_params]) if {
	bad_params != ""
} else := concat("", [sprintf("The taps table has no time to live: taps are kept until deleted by hand, so at least the %v days required.", [min_days]), oldest_text]) if {
	status == "pass"
	no_ttl
} else := concat("", [sprintf("Taps are kept %v days, at least the %v days required.", [ttl_days, min_days]), oldest_text]) if {
	status == "pass"
} else := concat("", [sprintf("Taps are deleted after %v days, fewer than the %v days required.", [ttl_days, min_days]), oldest_text]) if {
	status == "fail"
}

default evidence := {}

evidence := object.union(
	object.union({"min_retention_days": min_days, "ttl_set": ttl_set}, ttl_figure),
	age_figure
) if complete

ttl_set := 0 if no_ttl

else := 1

ttl_figure := {"taps_ttl_days": ttl_days} if is_number(ttl_days)

else := {}

age_figure := {"oldest_tap_age_days": oldest_age_days} if is_number(oldest_age_days)

else := {}

default counterexamples := []

counterexamples := [{"ref": "store:taps_ttl", "ts": object.get(input, "generated_at", 0), "taps_days": ttl_days, "min_retention_days": min_days}] if {
	status == "fail"
}
