package auth

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/authz"
)

// PublicAllowlist is every route pattern that may be Public.
var PublicAllowlist = []string{
	"GET /login", "POST /login", "GET /login/totp", "POST /login/totp",
	// Single sign-on: the redirect to the provider and its answer, bound
	// to each other by a signed cookie (web/sso.go).
	"GET /auth/oidc/{id}/start", "GET /auth/oidc/{id}/callback",
	"GET /static/",
	"POST /api/agent/enroll", "GET /api/agent/ws",
	// Installer downloads: an active enrollment token authenticates them
	// (api.AgentInstallers).
	"GET /api/agent/installers/{kind}/{arch}",
	"GET /healthz",
}

// NodeRoutes are the routes between the server nodes of a cluster
// (internal/server/gateway/relay.go). No user calls them: they are
// authenticated by a MAC with a key derived from secret.key ("internal,
// MAC"), answer 401 without a valid one and 404 on a server that is no
// cluster node.
var NodeRoutes = []string{"POST /internal/v1/relay/command", "GET /internal/v1/relay/stream"}

// TicketRoutes are the agents' downloads of package files
// (internal/server/blobs). No session or token reaches them: each request
// carries a short-lived ticket, a MAC over the device, the file and an
// expiry with a key derived from secret.key, which the server hands the
// agent in a signed action; without a valid one they answer 401.
var TicketRoutes = []string{"GET /api/agent/blobs/{sha256}"}

// Route is one registered route and the Perm it requires.
type Route struct {
	Pattern string // as given to http.ServeMux, e.g. "GET /api/v1/devices/{id}"
	Perm    authz.Perm
}

// Router is an http.ServeMux that records each route with its Perm, so that
// tests can enumerate every route and check it against the authorization
// table. Guard wraps each handler to enforce the Perm (each surface — API,
// dashboard — authenticates differently).
type Router struct {
	Mux   *http.ServeMux
	Guard func(p authz.Perm, h http.Handler) http.Handler

	mu     sync.Mutex
	routes []Route
}

// NewRouter returns a Router whose handlers guard wraps.
func NewRouter(guard func(authz.Perm, http.Handler) http.Handler) *Router {
	return &Router{Mux: http.NewServeMux(), Guard: guard}
}

// Handle registers h for pattern, requiring p. It panics for a Public route
// not on PublicAllowlist, so that no route is left open by accident.
func (rt *Router) Handle(pattern string, p authz.Perm, h http.Handler) {
	if p == authz.Public && !slices.Contains(PublicAllowlist, pattern) {
		panic("auth: route " + pattern + " is not on the public allowlist")
	}
	rt.mu.Lock()
	rt.routes = append(rt.routes, Route{Pattern: pattern, Perm: p})
	rt.mu.Unlock()
	rt.Mux.Handle(pattern, rt.Guard(p, h))
}

// HandleFunc is Handle for a function.
func (rt *Router) HandleFunc(pattern string, p authz.Perm, h http.HandlerFunc) {
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
