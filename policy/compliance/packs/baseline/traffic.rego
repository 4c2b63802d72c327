# Reading the evidence document's edges (per src -> dst, from the callee's
# inbound taps: where mutual TLS ends and the policy decides), shared by the
# traffic controls.
package meshlens.baseline.traffic

# Callers outside the mesh are recorded as this source service.
external := "external"

# The edges are all there and each carries every figure a control reads; a
# control answers only when this holds (a missing figure must not read as 0).
edges_complete if {
	is_array(input.edges)
	every e in input.edges { edge_complete(e) }
}

figures := [
	"requests", "mtls_requests", "plaintext_requests", "connections", "mtls_connections",
	"allow", "deny", "none", "denies_without_reason",
]

edge_complete(e) if {
	is_string(e.src)
	is_string(e.dst)
	every f in figures { is_number(e[f]) }
	is_object(e.samples)
}

# Requests plus connections: any traffic at all on the edge.
traffic(e) := e.requests + e.connections

# What the callee let through: requests not denied, or, on an edge that
# carried no requests (plain TCP, where no policy decides), its connections.
admitted(e) := e.allow + e.none if e.requests > 0

else := e.connections

name(e) := sprintf("%s→%s", [e.src, e.dst])

# The sample taps of one kind ("plaintext", "none", "deny_no_reason",
# "admitted") recorded for an edge, oldest first; [] when none were kept.
samples(e, kind) := s if {
	s := e.samples[kind]
	is_array(s)
} else := []

# An edge itself as a counterexample, for when no sample tap was kept.
edge_ref(e, extra) := object.union({"ref": sprintf("edge:%s", [name(e)]), "ts": object.get(e, "first_ts", 0), "src": e.src, "dst": e.dst}, extra)

# "12.5%": part as a share of whole, one decimal.
percent(part, whole) := sprintf("%.1f%%", [(100 * part) / whole]) if whole > 0

else := "0.0%"

# Counterexamples of edges, most telling first. `weighted` holds
# [weight, edge, extra] triples; the edges come in descending order of weight
# (ties by name), each giving its sample taps of `kind`, or, when it kept
# none, the edge itself with `extra` (the figures that condemn it).
pointers(weighted, kind) := [p |
	some r in sort([[0 - w, name(e), e, extra] | some item in weighted; [w, e, extra] := item])
	some p in edge_pointers(r[2], kind, r[3])
]

edge_pointers(e, kind, extra) := samples(e, kind) if count(samples(e, kind)) > 0

else := [edge_ref(e, extra)]
