# Service-to-service traffic is mutually authenticated and encrypted: every
# request and connection between two services of the mesh (any edge whose
# source is not "external") arrived over TLS with a verified client identity.
package meshlens.compliance.mtls

import data.meshlens.baseline.traffic

metadata := {
	"title": "Service-to-service traffic is mutually authenticated and encrypted",
	"description": "Every request and connection between two services of the mesh, as the callee's sidecar recorded it, arrived over TLS with a verified client identity (mTLS). Plaintext or unauthenticated internal traffic fails the control; a period without internal traffic cannot show it.",
	"clauses": {
		"pci_dss_4_0": [{"id": "8.3.2", "text": "Strong cryptography renders authentication factors unreadable during transmission (bearer tokens between services travel inside mTLS)"}],
		"soc2": [
			{"id": "CC6.1", "text": "Logical access security software, infrastructure and architectures protect information assets"},
			{"id": "CC6.7", "text": "Information is protected during transmission"},
		],
		"nist_800_207": [
			{"id": "2.1 (tenet 2)", "text": "All communication is secured regardless of network location"},
			{"id": "2.1 (tenet 6)", "text": "Resource authentication is dynamic and strictly enforced before access"},
			{"id": "2.2 (assumption 1)", "text": "The private network is not an implicit trust zone: authenticate all connections, encrypt all traffic"},
		],
		"nist_800_204": [
			{"id": "800-204 MS-SS-4", "text": "Service-to-service communication takes place after mutual authentication and is encrypted (mTLS)"},
			{"id": "800-204A SM-DR16", "text": "Service-to-service communication is authenticated"},
		],
	},
}

internal := [e | some e in input.edges; e.src != traffic.external]

requests := sum([e.requests | some e in internal])

plaintext_requests := sum([e.plaintext_requests | some e in internal])

connections := sum([e.connections | some e in internal])

plaintext_connections := sum([e.connections - e.mtls_connections | some e in internal])

plaintext_edges := count([e | some e in internal; e.plaintext_requests + (e.connections - e.mtls_connections) > 0])

default status := "insufficient_evidence"

status := "fail" if {
	traffic.edges_complete
	plaintext_requests + plaintext_connections > 0
} else := "pass" if {
	traffic.edges_complete
	requests + connections > 0
}

default summary := "The evidence document's edges are missing or incomplete, so mutual TLS cannot be shown."

summary := sprintf("Plaintext or unauthenticated service-to-service traffic: %d of %d requests (%s) and %d of %d connections (%s), on %d of %d internal edges.", [
	plaintext_requests, requests, traffic.percent(plaintext_requests, requests),
	plaintext_connections, connections, traffic.percent(plaintext_connections, connections),
	plaintext_edges, count(internal),
]) if {
	status == "fail"
} else := sprintf("Every service-to-service request (%d) and connection (%d), on %d internal edges, was mutually authenticated over TLS.", [requests, connections, count(internal)]) if {
	status == "pass"
} else := "No service-to-service traffic was recorded in the period, so mutual TLS cannot be shown." if {
	traffic.edges_complete
}

default evidence := {}

evidence := {
	"internal_edges": count(internal),
	"requests": requests,
	"plaintext_requests": plaintext_requests,
	"connections": connections,
	"plaintext_connections": plaintext_connections,
	"plaintext_edges": plaintext_edges,
} if traffic.edges_complete

# Plaintext sample taps, from the edges with the most plaintext traffic first.
default counterexamples := []

counterexamples := traffic.pointers(
	[[n, e, {"plaintext_requests": e.plaintext_requests, "plaintext_connections": e.connections - e.mtls_connections}] |
		some e in internal
		n := e.plaintext_requests + (e.connections - e.mtls_connections)
		n > 0
	],
	"plaintext"
) if traffic.edges_complete
