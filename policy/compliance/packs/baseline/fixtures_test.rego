# Evidence documents for the pack's tests (and for baseline.test.ts, which
# evaluates `passing` and the variants below through the reference evaluator
# and the WebAssembly build): an hour of the demo shop in good order, and
# helpers that break one thing at a time.
package meshlens.baseline.fixtures

from := 1700000000000

until := from + 3600000

# A stored tap, as the evidence document points at one.
tap(proxy, seq, src, dst, decision, reason, tls, identity) := {
	"proxy": proxy, "seq": seq, "ts": from + (seq * 1000),
	"src_service": src, "dst_service": dst, "direction": "inbound",
	"method": "GET", "path": "/", "status": 200,
	"decision": decision, "decision_reason": reason,
	"tls_version": tls, "src_identity": identity,
}

spiffe(svc) := sprintf("spiffe://meshlens.local/ns/default/sa/%s", [svc])

# An internal edge over mTLS, every request allowed.
mtls_edge(src, dst, n) := {
	"src": src, "dst": dst,
	"requests": n, "mtls_requests": n, "plaintext_requests": 0,
	"connections": 4, "mtls_connections": 4,
	"allow": n, "deny": 0, "none": 0, "denies_without_reason": 0, "errors": 0,
	"first_ts": from + 1000, "last_ts": until - 1000,
	"samples": {
		"plaintext": [], "none": [], "deny_no_reason": [],
		"admitted": [tap(sprintf("%s-1", [dst]), 7, src, dst, "allow", sprintf("%s may call %s", [src, dst]), "TLSv1.3", spiffe(src))],
	},
}

edges := [
	{
		"src": "external", "dst": "web",
		"requests": 1200, "mtls_requests": 0, "plaintext_requests": 1200,
		"connections": 40, "mtls_connections": 0,
		"allow": 1190, "deny": 10, "none": 0, "denies_without_reason": 0, "errors": 2,
		"first_ts": from + 500, "last_ts": until - 500,
		"samples": {
			"plaintext": [tap("web-1", 3, "external", "web", "allow", "external may call web", "", "")],
			"none": [], "deny_no_reason": [],
			"admitted": [tap("web-1", 3, "external", "web", "allow", "external may call web", "", "")],
		},
	},
	mtls_edge("web", "catalog", 1100),
	mtls_edge("indexer", "catalog", 60),
	mtls_edge("web", "cart", 400),
	mtls_edge("cart", "payments", 120),
	mtls_edge("cart", "inventory", 120),
	# A caller the policy does not declare, refused every time.
	object.union(mtls_edge("web", "payments", 3), {"allow": 0, "deny": 3, "samples": {"admitted": []}}),
]

passing := {
	"period": {"from": from, "until": until},
	"generated_at": until + 60000,
	"taps": {"streams": 16, "batches": 120, "events": 12000},
	"edges": edges,
	"secrets": {"scanned": 3003, "findings": 0, "by_rule": {}, "samples": []},
	"chains": {
		"streams": 16, "batches": 120, "events": 12000, "verified_batches": 120, "unsigned_batches": 0,
		"problems": [], "gaps": [],
	},
	"loss": {"records": [], "events": 0},
	"rejects": {"frames": 0, "by_code": {}},
	"retention": {"taps_days": 30, "rollup_days": 90, "oldest_tap_ts": from - (2 * 86400000)},
	"changes": {
		"at_start": [{"ts": from - 86400000, "version": 3, "kind": "authz_policy", "subject": "authz", "digest": "a1b2", "actor": "operator", "detail": "{}"}],
		"during": [
			{"ts": from + 600000, "version": 4, "kind": "route", "subject": "payments", "digest": "", "actor": "operator", "detail": "{\"v2\":10}"},
			{"ts": from + 1200000, "version": 5, "kind": "ejection", "subject": "payments-2", "digest": "", "actor": "engine", "detail": "{}"},
		],
	},
	"config": {"version_at_start": 3, "version_at_end": 5},
	"policies": {"authz": {"digest_at_start": "a1b2", "digests": ["a1b2"]}, "tuning": {"digest_at_start": "c3d4", "digests": ["c3d4"]}},
	"alerts": [{
		"id": "alert-1", "scope": "service", "subject": "payments", "state": "resolved",
		"opened_at": from + 1100000, "resolved_at": from + 1700000, "open_s": 600, "responded_at": from + 1150000,
	}],
	"actions": [{
		"id": "action-1", "kind": "eject", "subject": "payments-2", "service": "payments", "state": "verified", "mode": "auto",
		"proposed_at": from + 1150000, "updated_at": from + 1300000, "actor": "engine", "alert_ids": ["alert-1"], "config_after": 5,
	}],
	"chain_heads": [],
}

# `passing` with edges replaced.
with_edges(es) := object.union(passing, {"edges": es})

# `passing` with one more edge.
plus_edge(e) := with_edges(array.concat(edges, [e]))

# An idle hour: nothing recorded, nothing changed (the store keeps taps as before).
no_traffic := object.union(passing, {
	"taps": {"streams": 0, "batches": 0, "events": 0},
	"edges": [],
	"secrets": {"scanned": 0, "findings": 0, "by_rule": {}, "samples": []},
	"chains": {"streams": 0, "batches": 0, "events": 0, "verified_batches": 0, "unsigned_batches": 0, "problems": [], "gaps": []},
	"changes": {"during": []},
	"config": {"version_at_start": 3, "version_at_end": 3},
	"alerts": [],
	"actions": [],
})

# An internal edge carrying some plaintext requests and connections.
leaky := object.union(mtls_edge("cart", "inventory", 50), {
	"mtls_requests": 40, "plaintext_requests": 10, "mtls_connections": 3,
	"samples": {"plaintext": [tap("inventory-1", 42, "cart", "inventory", "allow", "cart may call inventory", "", "")]},
})

# An undeclared caller let through.
intruder := object.union(mtls_edge("indexer", "payments", 5), {
	"samples": {"admitted": [tap("payments-1", 99, "indexer", "payments", "allow", "no rule", "TLSv1.3", spiffe("indexer"))]},
})

# External traffic admitted at a service that is not an entry service.
side_door := {
	"src": "external", "dst": "cart",
	"requests": 7, "mtls_requests": 0, "plaintext_requests": 7, "connections": 2, "mtls_connections": 0,
	"allow": 5, "deny": 2, "none": 0, "denies_without_reason": 0, "errors": 0,
	"first_ts": from + 9000, "last_ts": from + 19000,
	"samples": {"plaintext": [], "none": [], "deny_no_reason": [], "admitted": [tap("cart-1", 11, "external", "cart", "allow", "external may call cart", "", "")]},
}

# The pack's parameters as data.json sets them for the demo (tests run
# without data.json; baseline.test.ts checks the two stay equal).
params := {
	"entry_services": ["web"],
	"allowed_callers": {
		"web": ["external"],
		"catalog": ["web", "indexer"],
		"cart": ["web"],
		"payments": ["cart"],
		"inventory": ["cart"],
	},
	"protected_services": [],
	"min_retention_days": 7,
	"max_alert_open_s": 3600,
	"max_lost_share": 0,
	"max_unverified_s": 600,
}

# `params` with some values replaced.
params_with(p) := object.union(params, p)

# `params` without some keys (their module defaults apply).
params_without(keys) := object.remove(params, keys)

# Something wrong for every control at once (baseline.test.ts runs it
# through both evaluators).
troubled := object.union(with_edges(array.concat(edges, [leaky, intruder, side_door, object.union(mtls_edge("web", "cart", 9), {
	"allow": 4, "none": 3, "deny": 2, "denies_without_reason": 2,
	"samples": {
		"none": [tap("cart-1", 61, "web", "cart", "none", "", "TLSv1.3", spiffe("web"))],
		"deny_no_reason": [tap("cart-1", 62, "web", "cart", "deny", "", "TLSv1.3", spiffe("web"))],
	},
})])), {
	"secrets": {"scanned": 3100, "findings": 1, "by_rule": {"bearer": 1}, "samples": [object.union(tap("web-1", 5, "external", "web", "allow", "", "", ""), {"field": "header:authorization", "rule": "bearer", "excerpt": "Bear…(40)"})]},
	"chains": {
		"unsigned_batches": 2, "verified_batches": 118,
		"problems": [{"proxy": "web-1", "stream": "taps", "batch": 8, "first_seq": 800, "events": 100, "ts": from + 8, "problem": "hash_mismatch", "detail": "stored rows hash to 9f…"}],
		"gaps": [{"proxy": "cart-1", "stream": "taps", "from_seq": 300, "count": 12, "ts": from + 300, "accounted": false}],
	},
	"loss": {"records": [{"proxy": "web-1", "stream": "taps", "ts": from + 50, "from_seq": 50, "count": 30, "reason": "queue_full"}], "events": 30},
	"retention": {"taps_days": 3, "rollup_days": 90, "oldest_tap_ts": from - 86400000},
	"changes": {"during": [{"ts": from + 600000, "version": 4, "kind": "authz_policy", "subject": "authz", "digest": "", "actor": "", "detail": "{}"}]},
	"alerts": [{"id": "alert-9", "scope": "edge", "subject": "cart→payments", "state": "open", "opened_at": from - 3600000, "resolved_at": null, "open_s": 7200, "responded_at": null}],
	"actions": [{
		"id": "action-9", "kind": "shift", "subject": "payments", "service": "payments", "state": "applied", "mode": "auto",
		"proposed_at": from + 60000, "updated_at": from + 120000, "actor": "engine", "alert_ids": [], "config_after": 11,
	}],
})
