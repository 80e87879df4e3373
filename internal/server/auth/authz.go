package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Perm is what a route requires of its caller. Roles decide whether a caller
// holds a Perm; which client an object belongs to is checked separately, by
// the service, with CanSeeClient (foreign objects answer 404).
type Perm int

const (
	// Public routes need no authentication. Only the short allowlist in
	// PublicAllowlist may use it (login, agent enrollment and session,
	// health, static assets); the route-enumeration tests enforce that.
	Public Perm = iota
	// Authenticated routes need any logged-in user or valid API token and
	// touch no client data (logout, language, own 2FA settings).
	Authenticated
	// Read routes show client data: every role, filtered by the caller's
	// client scope.
	Read
	// Operate routes change client data or send actions to agents:
	// administrators and technicians, within their client scope.
	Operate
	// Admin routes manage users, settings and the audit log.
	Admin
)

var permNames = [...]string{"public", "authenticated", "read", "operate", "admin"}

func (p Perm) String() string {
	if p < 0 || int(p) >= len(permNames) {
		return "invalid"
	}
	return permNames[p]
}

// PublicAllowlist is every route pattern that may be Public.
var PublicAllowlist = []string{
	"GET /login", "POST /login", "GET /login/totp", "POST /login/totp",
	"GET /static/",
	"POST /api/agent/enroll", "GET /api/agent/ws",
	"GET /healthz",
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
	}
	return false
}

// CanSeeClient reports whether u may see (and, with Operate, change) the
// objects of clientID.
// Administrators are stored with every client in scope; an API token can
// still narrow theirs.
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

// Route is one registered route and the Perm it requires.
type Route struct {
	Pattern string // as given to http.ServeMux, e.g. "GET /api/v1/devices/{id}"
	Perm    Perm
}

// Router is an http.ServeMux that records each route with its Perm, so that
// tests can enumerate every route and check it against the authorization
// table. Guard wraps each handler to enforce the Perm (each surface — API,
// dashboard — authenticates differently).
type Router struct {
	Mux   *http.ServeMux
	Guard func(p Perm, h http.Handler) http.Handler

	mu     sync.Mutex
	routes []Route
}

// NewRouter returns a Router whose handlers guard wraps.
func NewRouter(guard func(Perm, http.Handler) http.Handler) *Router {
	return &Router{Mux: http.NewServeMux(), Guard: guard}
}

// Handle registers h for pattern, requiring p. It panics for a Public route
// not on PublicAllowlist, so that no route is left open by accident.
func (rt *Router) Handle(pattern string, p Perm, h http.Handler) {
	if p == Public && !slices.Contains(PublicAllowlist, pattern) {
		panic("auth: route " + pattern + " is not on the public allowlist")
	}
	rt.mu.Lock()
	rt.routes = append(rt.routes, Route{Pattern: pattern, Perm: p})
	rt.mu.Unlock()
	rt.Mux.Handle(pattern, rt.Guard(p, h))
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(pattern string, p Perm, h http.HandlerFunc) {
	rt.Handle(pattern, p, h)
}

// Routes returns the registered routes in registration order.
func (rt *Router) Routes() []Route {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.routes)
}

// ServeHTTP serves through the mux.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) { rt.Mux.ServeHTTP(w, r) }

// PatternPath returns the path part of a "METHOD /path" pattern.
func PatternPath(pattern string) string {
	if _, p, ok := strings.Cut(pattern, " "); ok {
		return p
	}
	return pattern
}

type remoteKey struct{}

// WithRemote returns ctx carrying the caller's address, for the audit log.
func WithRemote(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteKey{}, addr)
}

// RemoteFrom returns the address stored by WithRemote ("" if none).
func RemoteFrom(ctx context.Context) string {
	a, _ := ctx.Value(remoteKey{}).(string)
	return a
}
