# No secret reached the audit store: the store's scan of the period's l7
# taps (paths and recorded headers) found no credential, token, key or
# secret-bearing header value.
package meshlens.compliance.no_secrets

metadata := {
	"title": "No secret reached the audit store",
	"description": "The recorded requests of the period (paths with their query strings, and the allow-listed headers) hold no credential: no JWT, bearer or basic credential, secret query parameter, AWS access key, private key block, or value of a secret-bearing header. Findings are shown redacted.",
	"clauses": {
		"pci_dss_4_0": [{"id": "8.3.2", "text": "Authentication factors are rendered unreadable in storage on all system components"}],
		"soc2": [{"id": "CC6.1", "text": "Logical access security protects information assets from security events"}],
		"nist_800_207": [{"id": "5.5", "text": "Stored network traffic and metadata are a target for attackers and must be protected"}],
		"nist_800_204": [],
	},
}

secrets := input.secrets

complete if {
	is_number(secrets.scanned)
	is_number(secrets.findings)
	is_object(secrets.by_rule)
	is_array(secrets.samples)
}

default status := "insufficient_evidence"

status := "fail" if {
	complete
	secrets.findings > 0
} else := "pass" if {
	complete
	secrets.scanned > 0
}

rules_text := concat(", ", sort([sprintf("%s: %d", [rule, n]) | some rule, n in secrets.by_rule; n > 0]))

default summary := "The evidence document has no complete secrets scan, so the absence of secrets cannot be shown."

summary := sprintf("Secrets found in the %d requests recorded in the period: %d (%s).", [secrets.scanned, secrets.findings, rules_text]) if {
	status == "fail"
} else := sprintf("No secret was found in the %d requests recorded in the period.", [secrets.scanned]) if {
	status == "pass"
} else := "No request was recorded in the period, so the absence of secrets cannot be shown." if {
	complete
}

default evidence := {}

evidence := object.union(
	{"requests_scanned": secrets.scanned, "findings": secrets.findings},
	{sprintf("findings_%s", [rule]): n | some rule, n in secrets.by_rule; is_number(n)}
) if complete

# The redacted findings, oldest first.
default counterexamples := []

counterexamples := [s[3] | some s in sort([[object.get(f, "ts", 0), object.get(f, "proxy", ""), object.get(f, "seq", 0), f] | some f in secrets.samples])] if complete
