package meshlens.compliance.no_secrets_test

import data.meshlens.baseline.fixtures
import data.meshlens.compliance.no_secrets

test_the_demo_store_holds_no_secret if {
	r := no_secrets with input as fixtures.passing with data.compliance as fixtures.params
	r.status == "pass"
	r.evidence.requests_scanned == 3003
	r.evidence.findings == 0
}

finding(seq, rule, field) := object.union(fixtures.tap("web-1", seq, "external", "web", "allow", "", "", ""), {"field": field, "rule": rule, "excerpt": "eyJh…(212)"})

test_findings_fail_with_the_redacted_taps_oldest_first if {
	found := object.union(fixtures.passing, {"secrets": {
		"scanned": 3003, "findings": 3, "by_rule": {"jwt": 2, "secret_query": 1},
		"samples": [finding(30, "jwt", "header:authorization"), finding(12, "secret_query", "path"), finding(20, "jwt", "path")],
	}})
	r := no_secrets with input as found with data.compliance as fixtures.params
	r.status == "fail"
	r.evidence.findings == 3
	r.evidence.findings_jwt == 2
	contains(r.summary, "jwt: 2, secret_query: 1")
	[c.seq | some c in r.counterexamples] == [12, 20, 30]
	r.counterexamples[0].excerpt == "eyJh…(212)"
}

test_nothing_scanned_is_insufficient_evidence if {
	empty := object.union(fixtures.passing, {"secrets": {"scanned": 0, "findings": 0, "by_rule": {}, "samples": []}})
	r := no_secrets with input as empty with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	contains(r.summary, "No request was recorded")
}

test_a_missing_scan_is_insufficient_evidence if {
	r := no_secrets with input as object.remove(fixtures.passing, ["secrets"]) with data.compliance as fixtures.params
	r.status == "insufficient_evidence"
	r.evidence == {}
}
