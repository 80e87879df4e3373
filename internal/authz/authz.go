// Package authz holds Wacht's authorization rules: which role grants which
// permission, which clients a user may see, and what an API token leaves of
// its user's rights. It imports only core, so that the service, the HTTP
// transports and background jobs such as the reports share one set of rules.
package authz

import "github.com/wacht-rmm/wacht/internal/core"

// Perm is what an action requires of its caller. Roles decide whether a
// caller holds a Perm; which client an object belongs to is checked
// separately with CanSeeClient (foreign objects answer "not found").
type Perm int

const (
	// Public needs no authentication. Only a short allowlist of routes may
	// use it (see auth.PublicAllowlist).
	Public Perm = iota
	// Authenticated needs any logged-in user or valid API token and touches
	// no client data (logout, language, own 2FA settings).
	Authenticated
	// Read shows client data: every role, filtered by the caller's client
	// scope.
	Read
	// Operate changes client data or sends actions to agents:
	// administrators and technicians, within their client scope.
	Operate
	// Admin manages users, settings and the audit log.
	Admin
	// Remote acts on a device remotely (command line, terminal, processes,
	// services, files): administrators and technicians, within their
	// client scope. The service may further demand a second factor
	// (service.RemoteNeeds2FA).
	Remote
)

var permNames = [...]string{"public", "authenticated", "read", "operate", "admin", "remote"}

func (p Perm) String() string {
	if p < 0 || int(p) >= len(permNames) {
		return "invalid"
	}
	return permNames[p]
}

// Allows reports whether u's role grants p. A zero user (ID 0) holds only
// Public.
func Allows(u core.User, p Perm) bool {
	switch p {
	case Public:
		return true
	case Authenticated, Read:
		return u.ID != 0 && core.ValidRole(u.Role)
	case Operate:
		return u.ID != 0 && CanOperate(u.Role)
	case Admin:
		return u.ID != 0 && u.Role == core.RoleAdmin
	case Remote:
		return u.ID != 0 && CanRemote(u.Role)
	}
	return false
}

// CanOperate reports whether a role may act on devices (run checks,
// commands); read-only users may only look.
func CanOperate(role string) bool {
	return role == core.RoleAdmin || role == core.RoleTechnician
}

// CanRemote reports whether a role may act on devices remotely: what runs
// programs or reads files on a customer's machine. Read-only users never
// may.
func CanRemote(role string) bool {
	return role == core.RoleAdmin || role == core.RoleTechnician
}

// CanSeeClient reports whether u may see (and, with Operate, change) the
// objects of clientID. Administrators are stored with every client in
// scope; an API token can still narrow theirs.
func CanSeeClient(u core.User, clientID int64) bool {
	return u.ID != 0 && core.ValidRole(u.Role) && u.Scope.Has(clientID)
}

// Effective returns the rights an API token grants: its user's role and
// scope, narrowed by the token's own. Evaluated at each use, so shrinking a
// user's rights shrinks their tokens' too.
func Effective(u core.User, t core.APIToken) core.User {
	if t.Role != "" && core.RoleRank(t.Role) < core.RoleRank(u.Role) {
		u.Role = t.Role
	}
	u.Scope = u.Scope.Intersect(t.Scope)
	return u
}
