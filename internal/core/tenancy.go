package core

import (
	"context"
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
	Limit  int     // ≤ 0: all
	After  PageKey // continue after this entry (its ID)
}

// Audit results.
const (
	AuditOK     = "ok"
	AuditDenied = "denied"
	AuditFailed = "failed"
)

// ClientStore manages clients, sites and devices beyond enrollment.
// Deleted clients and sites are hidden, never dropped: deleting one with
// devices needs confirm and then retires its devices (ErrConflict without).
type ClientStore interface {
	CreateClient(ctx context.Context, c *Client) error // sets ID, CreatedAt
	GetClient(ctx context.Context, id int64) (Client, error)
	UpdateClient(ctx context.Context, c Client) error // name and contact
	// DeleteClient returns how many devices it retired.
	DeleteClient(ctx context.Context, id int64, confirm bool, at time.Time) (int, error)
	CountClientDevices(ctx context.Context, id int64) (int, error) // not retired
	CreateSite(ctx context.Context, s *Site) error
	GetSite(ctx context.Context, id int64) (Site, error)
	RenameSite(ctx context.Context, id int64, name string) error
	DeleteSite(ctx context.Context, id int64, confirm bool, at time.Time) (int, error)
	MoveDevice(ctx context.Context, deviceID, siteID int64) error
	SetDeviceRole(ctx context.Context, id int64, role string) error
	SetDeviceTags(ctx context.Context, id int64, tags []string) error
	RetireDevice(ctx context.Context, id int64, at time.Time) error
}

// AccessStore keeps technicians' scopes and second factors.
type AccessStore interface {
	ListUsers(ctx context.Context) ([]User, error)
	SetUserRole(ctx context.Context, id int64, role string, scope Scope) error
	SetUserPassword(ctx context.Context, id int64, hash string) error
	// TOTP: the pending or active secret, whether it is active, and the
	// last accepted time step (codes at or before it are replays).
	GetTOTP(ctx context.Context, userID int64) (secret string, enabled bool, lastStep int64, err error)
	SetTOTP(ctx context.Context, userID int64, secret string, enabled bool) error
	// UseTOTPStep records step as used; ErrConflict if it is not newer
	// than the last one (a replayed code).
	UseTOTPStep(ctx context.Context, userID int64, step int64) error
	// SetRecoveryCodes replaces the user's recovery codes (hashes).
	SetRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error
	// UseRecoveryCode marks an unused code used; ErrNotFound otherwise.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) error
	ListAPITokens(ctx context.Context, userID int64) ([]APIToken, error) // userID 0: all
	// SetUserDisabled disables a user, ending their sessions, or enables
	// them; DeleteUser removes a user's credentials and personal data but
	// keeps the row, so its ID is never reused. Both return ErrNotFound for
	// an absent or deleted user and ErrConflict where they would leave no
	// active administrator.
	SetUserDisabled(ctx context.Context, id int64, disabled bool, at time.Time) error
	DeleteUser(ctx context.Context, id int64, at time.Time) error
}

// AuditChain reads and checks the hash-chained audit log.
type AuditChain interface {
	QueryAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// VerifyAudit walks the chain in order and returns the ID of the first
	// entry whose hash or link does not match (0 when intact) and how
	// many entries it checked.
	VerifyAudit(ctx context.Context) (badID int64, checked int, err error)
}
