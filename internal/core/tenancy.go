package core

import (
	"slices"
	"time"
)

// Scope is the set of clients a user or API token may see: all of them
// (the zero Scope, so that users created without one keep seeing
// everything), or, when Restricted, only the listed client IDs.
type Scope struct {
	Restricted bool    `json:"restricted"`
	Clients    []int64 `json:"clients,omitempty"`
}

// AllClients is the scope of administrators and unrestricted technicians.
var AllClients = Scope{}

// Only returns a scope restricted to the given clients.
func Only(clientIDs ...int64) Scope {
	return Scope{Restricted: true, Clients: slices.Clone(clientIDs)}
}

// Has reports whether the scope includes clientID.
func (s Scope) Has(clientID int64) bool {
	return !s.Restricted || slices.Contains(s.Clients, clientID)
}

// Intersect returns the clients both scopes include, so that an API token
// never sees more than its user does today.
func (s Scope) Intersect(o Scope) Scope {
	switch {
	case !s.Restricted && !o.Restricted:
		return AllClients
	case !s.Restricted:
		return Only(o.Clients...)
	case !o.Restricted:
		return Only(s.Clients...)
	}
	out := Scope{Restricted: true}
	for _, c := range s.Clients {
		if slices.Contains(o.Clients, c) {
			out.Clients = append(out.Clients, c)
		}
	}
	return out
}

// RoleRank orders roles by power (0 for unknown roles), so that an API token
// can be limited to a lesser role than its creator's.
func RoleRank(role string) int {
	switch role {
	case RoleReadOnly:
		return 1
	case RoleTechnician:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// ValidRole reports whether role is one of the three user roles.
func ValidRole(role string) bool { return RoleRank(role) > 0 }

// DeviceRetired is the state of a device taken out of service: it no longer
// counts in lists, its agent is told to uninstall itself, and its session is
// refused.
const DeviceRetired = "retired"

// Device roles, detected at enrollment and editable.
const (
	DeviceRoleServer      = "server"
	DeviceRoleWorkstation = "workstation"
	DeviceRoleNotebook    = "notebook"
)

// ValidDeviceRole reports whether role is a known device role.
func ValidDeviceRole(role string) bool {
	return role == DeviceRoleServer || role == DeviceRoleWorkstation || role == DeviceRoleNotebook
}

// Contact holds a client's contact details and the language of its reports.
type Contact struct {
	ContactName  string `json:"contact_name"`
	ContactEmail string `json:"contact_email"`
	ContactPhone string `json:"contact_phone"`
	ReportLang   string `json:"report_lang"` // "de" or "en"
}

// AuditQuery filters the audit log; zero fields do not filter.
type AuditQuery struct {
	Actor  string
	Action string // prefix, e.g. "device." matches every device action
	Target string
	Since  time.Time
	Until  time.Time
	Limit  int // ≤ 0: all
}

// Audit results.
const (
	AuditOK     = "ok"
	AuditDenied = "denied"
	AuditFailed = "failed"
)
