# The pack's parameters (data.compliance: this folder's data.json, which an
# operator overrides) with the value each takes when absent. A parameter
# present with the wrong type is not silently replaced by its default: it is
# named in `invalid`, and a control that reads it answers
# insufficient_evidence saying so.
package meshlens.baseline.params

# Absent: no entry service declared (the ingress control is not applicable).
# [] declared: no service may be reached from outside the mesh.
default entry_services := null

entry_services := data.compliance.entry_services if is_string_list(data.compliance.entry_services)

# {service: [callers]}; {} or absent: the allowed-callers control is not applicable.
default allowed_callers := {}

allowed_callers := data.compliance.allowed_callers if {
	is_object(data.compliance.allowed_callers)
	every callers in data.compliance.allowed_callers { is_string_list(callers) }
}

# Services whose callers and decisions are checked; [] means every service
# named in allowed_callers (callers) and every service with a decision (decisions).
default protected_services := []

protected_services := data.compliance.protected_services if is_string_list(data.compliance.protected_services)

default min_retention_days := 7

min_retention_days := data.compliance.min_retention_days if non_negative(data.compliance.min_retention_days)

default max_alert_open_s := 3600

max_alert_open_s := data.compliance.max_alert_open_s if non_negative(data.compliance.max_alert_open_s)

# Share of the period's tap events the sidecars may have recorded as lost (0..1).
default max_lost_share := 0

max_lost_share := data.compliance.max_lost_share if {
	non_negative(data.compliance.max_lost_share)
	data.compliance.max_lost_share <= 1
}

# How long an applied tuning action may wait for its verdict (verified or
# reverted). The engine judges after its watch window (60 s by default) plus
# the rollup lag and a tick (about 100 s in all); 600 s leaves room for a
# longer watch window.
default max_unverified_s := 600

max_unverified_s := data.compliance.max_unverified_s if non_negative(data.compliance.max_unverified_s)

expected := {
	"entry_services": "a list of service names",
	"allowed_callers": "an object of service -> list of caller names",
	"protected_services": "a list of service names",
	"min_retention_days": "a number >= 0",
	"max_alert_open_s": "a number >= 0",
	"max_lost_share": "a number between 0 and 1",
	"max_unverified_s": "a number >= 0",
}

# name -> what it should be, for every parameter present with a bad value.
invalid[name] := sprintf("%s must be %s", [name, what]) if {
	some name, what in expected
	value := data.compliance[name]
	not valid(name, value)
}

valid("entry_services", v) if is_string_list(v)

valid("allowed_callers", v) if {
	is_object(v)
	every callers in v { is_string_list(callers) }
}

valid("protected_services", v) if is_string_list(v)

valid("min_retention_days", v) if non_negative(v)

valid("max_alert_open_s", v) if non_negative(v)

valid("max_lost_share", v) if {
	non_negative(v)
	v <= 1
}

valid("max_unverified_s", v) if non_negative(v)

# The problems among the named parameters, as one sentence ("" when none).
problems(names) := concat("; ", sort([msg | some n in names; msg := invalid[n]]))

is_string_list(v) if {
	is_array(v)
	every x in v { is_string(x) }
}

non_negative(v) if {
	is_number(v)
	v >= 0
}
