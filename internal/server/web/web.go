// Package web serves the server-rendered dashboard: html/template pages with
// htmx partials for live updates, German and English, session login with
// CSRF-checked POSTs and strict security headers.
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/service"
	webassets "github.com/wacht-rmm/wacht/web"
)

// Deps are the dashboard's collaborators.
type Deps struct {
	Store core.Store
	// Service is the service layer the pages call (nil: one over Store
	// without a commander, for tests).
	Service *service.Service
	Log     *slog.Logger
	// Installers lists and opens the published installers (nil: Service).
	Installers Installers
	// ListRefresh is how often an open device list refreshes itself
	// (zero: every 30 seconds; the tests shorten it).
	ListRefresh time.Duration
}

// Installers is what the "Add device" page needs of published agent
// files (*service.Service; tests give a fake).
type Installers interface {
	ListAgentFiles(ctx context.Context, u core.User) ([]core.AgentFile, error)
	OpenInstaller(ctx context.Context, kind, arch string) (core.AgentFile, io.ReadSeekCloser, error)
}

type server struct {
	store      core.Store
	svc        *service.Service
	installers Installers
	sessions   *auth.Sessions
	throttle   *auth.LoginThrottle
	keyMu      sync.Mutex
	loginKey   []byte    // signs pending second-factor logins; see pendingLogin
	discovery  discovery // single sign-on providers' endpoints (sso.go)
	log        *slog.Logger
	pages      map[string]*template.Template
	static     fs.FS
	htmx       bool // static/vendor/htmx.min.js was built in
	now        func() time.Time
	refresh    time.Duration // the device list's live refresh (Deps.ListRefresh)
}

// New returns the dashboard handler, to be mounted at /.
func New(d Deps) (http.Handler, error) {
	return newServer(d, webassets.FS)
}

// embeddedPages parses the built-in templates once per process: parsed
// templates are only executed, which is safe from many goroutines, and
// every server (the tests start hundreds) shares them.
var embeddedPages = sync.OnceValues(func() (map[string]*template.Template, error) {
	return parseTemplates(webassets.FS)
})

func newServer(d Deps, assets fs.FS) (http.Handler, error) {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "web")
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, fmt.Errorf("static assets: %w", err)
	}
	var pages map[string]*template.Template
	if assets == fs.FS(webassets.FS) {
		pages, err = embeddedPages()
	} else {
		pages, err = parseTemplates(assets)
	}
	if err != nil {
		return nil, err
	}
	if d.Service == nil {
		d.Service = service.New(service.Deps{Store: d.Store, Log: log})
	}
	if d.Installers == nil {
		d.Installers = d.Service
	}
	s := &server{
		store:      d.Store,
		svc:        d.Service,
		installers: d.Installers,
		sessions:   &auth.Sessions{Users: d.Store},
		throttle:   auth.NewLoginThrottle(loginMaxPerIP, loginMaxFailures, loginWindow),
		log:        log,
		pages:      pages,
		static:     static,
		now:        time.Now,
		refresh:    d.ListRefresh,
	}
	if s.refresh <= 0 {
		s.refresh = 30 * time.Second
	}
	if _, err := fs.Stat(static, "vendor/htmx.min.js"); err == nil {
		s.htmx = true
	} else {
		log.Warn("htmx is not built in (run web/build.sh); the dashboard works without live updates")
	}

	return securityHeaders(s.routes()), nil
}

// Routes lists every dashboard route with the permission it requires, for
// the authorization tests.
func Routes() []auth.Route {
	s := &server{log: slog.New(slog.DiscardHandler)}
	return s.routes().Routes()
}

// routes registers every dashboard route with its permission (see
// docs/internals.md, "Authorization"). Object-level client scope is checked
// by the Service.
func (s *server) routes() *auth.Router {
	rt := auth.NewRouter(s.guard)
	rt.Handle("GET /static/", authz.Public, s.staticHandler())
	rt.HandleFunc("GET /login", authz.Public, s.loginPage)
	rt.HandleFunc("POST /login", authz.Public, s.login)
	rt.HandleFunc("GET /login/totp", authz.Public, s.totpPage)
	rt.HandleFunc("POST /login/totp", authz.Public, s.totpLogin)
	rt.HandleFunc("GET /healthz", authz.Public, s.healthz)
	s.ssoRoutes(rt)
	s.accessRoutes(rt)
	rt.HandleFunc("POST /logout", authz.Authenticated, s.withSession(s.logout))
	rt.HandleFunc("POST /lang", authz.Authenticated, s.withSession(s.setLang))
	rt.HandleFunc("GET /{$}", authz.Read, s.withSession(s.home))
	rt.HandleFunc("POST /devices/bulk", authz.Operate, s.withSession(s.deviceBulk))
	rt.HandleFunc("POST /views", authz.Read, s.withSession(s.saveView))
	rt.HandleFunc("POST /views/{id}/delete", authz.Read, s.withSession(s.deleteView))
	rt.HandleFunc("GET /partials/devices", authz.Read, s.withSession(s.devicesPartial))
	rt.HandleFunc("GET /devices/{id}", authz.Read, s.withSession(s.device))
	rt.HandleFunc("GET /devices/{id}/checks", authz.Read, s.withSession(s.checksPartial))
	rt.HandleFunc("GET /devices/{id}/run-progress", authz.Read, s.withSession(s.runProgressPartial))
	rt.HandleFunc("POST /devices/{id}/run-checks", authz.Operate, s.withSession(s.runChecks))
	s.policyRoutes(rt)
	s.checkFormRoutes(rt)
	s.protectionRoutes(rt)
	s.historyRoutes(rt)
	s.reportRoutes(rt)
	s.timeZoneRoutes(rt)
	s.netDeviceRoutes(rt)
	s.maintenanceRoutes(rt)
	s.alertRoutes(rt)
	s.settingsRoutes(rt)
	s.terminalRoutes(rt)
	s.remoteRoutes(rt)
	s.fileRoutes(rt)
	s.scriptRoutes(rt)
	s.packageRoutes(rt)
	s.softwareRoutes(rt)
	s.inventoryRoutes(rt)
	s.patchRoutes(rt)
	s.brandingRoutes(rt)
	s.monthlyRoutes(rt)
	s.supportRoutes(rt)
	s.agentRoutes(rt)
	s.enrollRoutes(rt)
	s.billingRoutes(rt)
	rt.HandleFunc("/", authz.Authenticated, s.withSession(func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		s.renderError(w, r, rc.lang, core.ErrNotFound)
	}))
	return rt
}

// csp allows only this origin: no inline scripts or styles, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func (s *server) staticHandler() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(s.static))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/static/" || p[len(p)-1] == '/' {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

// reqCtx is what an authenticated handler knows about its request.
type reqCtx struct {
	user core.User
	sess core.Session
	lang Lang
}

type rcKey struct{}

// guard enforces a route's permission: Public routes pass; every other
// route needs a dashboard session (pages redirect to /login, htmx requests
// get HX-Redirect) whose user's role grants p, and POSTs must carry the
// session's CSRF token.
func (s *server) guard(p authz.Perm, next http.Handler) http.Handler {
	if p == authz.Public {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, sess, err := s.sessions.Lookup(r.Context(), r)
		if errors.Is(err, core.ErrUnauthorized) {
			if isHTMX(r) {
				w.Header().Set("HX-Redirect", "/login")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		rc := &reqCtx{user: u, sess: sess, lang: pickLang(u.Lang, r.Header.Get("Accept-Language")).In(userZone(u))}
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Vary", "Cookie, Accept-Language")
		// Every change needs the CSRF token: forms POST it, scripts send
		// it as a header (an upload's PUT streams, unbounded here).
		changes := r.Method != http.MethodGet && r.Method != http.MethodHead
		if r.Method == http.MethodPost {
			limit := int64(64 << 10)
			if bigForm(r) {
				limit = maxScriptForm
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if changes {
			if err := auth.CheckCSRF(r, sess.CSRF); err != nil {
				s.log.Warn("CSRF check failed", "path", r.URL.Path, "user", u.Email)
				s.renderError(w, r, rc.lang, err)
				return
			}
		}
		if !authz.Allows(u, p) {
			if changes {
				s.svc.RecordDenied(auth.WithRemote(r.Context(), r.RemoteAddr), u, r.Method, r.URL.Path)
			}
			s.renderError(w, r, rc.lang, core.ErrForbidden)
			return
		}
		if !u.HasSecondFactor() && !enrolmentPaths[r.URL.Path] && s.require2FA(r) {
			// Two-factor sign-in is mandatory: enrol before anything else.
			if isHTMX(r) {
				w.Header().Set("HX-Redirect", accountPath)
				w.WriteHeader(http.StatusForbidden)
				return
			}
			http.Redirect(w, r, accountPath, http.StatusSeeOther)
			return
		}
		ctx := context.WithValue(auth.WithUser(r.Context(), u), rcKey{}, rc)
		ctx = auth.WithRemote(ctx, r.RemoteAddr)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// withSession adapts a page handler to http.HandlerFunc; guard has put the
// request's session into the context.
func (s *server) withSession(h func(http.ResponseWriter, *http.Request, *reqCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc, ok := r.Context().Value(rcKey{}).(*reqCtx)
		if !ok {
			// Registered as Public by mistake: fail closed.
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		h(w, r, rc)
	}
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// renderError shows an error page (or fragment, for htmx) with the status
// that httperr.Status maps the error to, with the refused fields of a
// *policy.ValidationError or the reason of a refusal (service.Reason); internal
// errors are logged, not shown.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, lang Lang, err error) {
	status, code, _ := httperr.Status(err)
	if status == http.StatusInternalServerError {
		s.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	key := map[string]string{
		"not_found":    "error.notFound",
		"forbidden":    "error.forbidden",
		"2fa_required": "error.forbidden",
		"last_admin":   "error.conflict",
		"self":         "error.conflict",
		"invalid":      "error.invalid",
		// Remote actions: the reason (service.Reason) says the rest.
		"remote_2fa_required": "error.forbidden",
		"disabled_locally":    "error.forbidden",
		"bad_args":            "error.invalid",
		"unsupported":         "error.conflict",
		"unknown_action":      "error.conflict",
		"failed":              "error.conflict",
		"busy":                "error.conflict",
		"exists":              "error.conflict",
		"locked":              "error.conflict",
		"permission_denied":   "error.forbidden",
		"hash_mismatch":       "error.invalid",
	}[code]
	if key == "" {
		key = "error.internal"
	}
	v := s.view(r, lang, nil)
	v.Error, v.Title = key, "error.title"
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		v.Detail = ve.In(lang.Code())
	} else if t, ok := service.Reason(err); ok {
		v.Detail = lang.Message(t)
	}
	s.render(w, status, errorTemplate(r), v)
}

// errorTemplate is the error page, or its fragment for an htmx request.
func errorTemplate(r *http.Request) string {
	if isHTMX(r) {
		return "error-fragment"
	}
	return "error"
}
