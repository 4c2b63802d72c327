# `meshlens policy test demo/policy` runs these.
package meshlens.authz_test

import data.meshlens.authz

req(src, dst, path, headers) := {
	"source": {"service": src, "identity": src},
	"destination": {"service": dst},
	"request": {"method": "GET", "path": path, "headers": headers},
}

test_external_may_browse_web if {
	authz.decision == {"allow": true, "reason": "external may call web"} with input as req("external", "web", "/products", {})
}

test_web_may_call_catalog_and_cart if {
	authz.decision.allow with input as req("web", "catalog", "/products/7", {})
	authz.decision.allow with input as req("web", "cart", "/cart", {})
}

test_only_cart_may_call_payments_and_inventory if {
	authz.decision.allow with input as req("cart", "payments", "/checkout", {})
	authz.decision.allow with input as req("cart", "inventory", "/checkout", {})
	authz.decision == {"allow": false, "reason": "web may not call payments"} with input as req("web", "payments", "/checkout", {})
	authz.decision == {"allow": false, "reason": "external may not call inventory"} with input as req("external", "inventory", "/", {})
}

test_indexer_may_call_catalog_only if {
	authz.decision == {"allow": true, "reason": "indexer may call catalog"} with input as req("indexer", "catalog", "/index/products/7", {})
	authz.decision == {"allow": false, "reason": "indexer may not call payments"} with input as req("indexer", "payments", "/", {})
	authz.decision == {"allow": false, "reason": "external may not call catalog"} with input as req("external", "catalog", "/", {})
}

test_unknown_destination_is_denied if {
	not authz.decision.allow with input as req("web", "billing", "/", {})
}

test_health_checks_are_always_allowed if {
	authz.decision == {"allow": true, "reason": "health check"} with input as req("external", "payments", "/healthz", {})
}

test_checkout_needs_authorization if {
	d := authz.decision with input as req("external", "web", "/checkout", {})
	d.allow == false
	d.reason == "checkout requires a signed-in customer (Authorization header)"
	authz.decision.allow with input as req("external", "web", "/checkout", {"authorization": "Bearer t"})
}
