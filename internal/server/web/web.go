// Package web serves the server-rendered dashboard: html/template pages with
// htmx partials for live updates, German and English, session login with
// CSRF-checked POSTs and strict security headers.
package web

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	webassets "github.com/wacht-rmm/wacht/web"
)

// Deps are the dashboard's collaborators.
type Deps struct {
	Store     core.Store
	Commander api.Commander
	Log       *slog.Logger
}

type server struct {
	store    core.Store
	svc      *api.Service
	sessions *auth.Sessions
	limiter  *auth.Limiter
	log      *slog.Logger
	pages    map[string]*template.Template
	static   fs.FS
	htmx     bool // static/vendor/htmx.min.js was built in
	now      func() time.Time
}

// New returns the dashboard handler, to be mounted at /.
func New(d Deps) (http.Handler, error) {
	return newServer(d, webassets.FS)
}

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
	pages, err := parseTemplates(assets)
	if err != nil {
		return nil, err
	}
	s := &server{
		store:    d.Store,
		svc:      api.NewService(api.Deps{Store: d.Store, Commander: d.Commander, Log: log}),
		sessions: &auth.Sessions{Users: d.Store},
		limiter:  auth.NewLimiter(loginMaxFailures, loginWindow),
		log:      log,
		pages:    pages,
		static:   static,
		now:      time.Now,
	}
	if _, err := fs.Stat(static, "vendor/htmx.min.js"); err == nil {
		s.htmx = true
	} else {
		log.Warn("htmx is not built in (run web/build.sh); the dashboard works without live updates")
	}

	mux := http.NewServeMux()
	mux.Handle("GET /static/", s.staticHandler())
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.withSession(s.logout))
	mux.HandleFunc("POST /lang", s.withSession(s.setLang))
	mux.HandleFunc("GET /{$}", s.withSession(s.overview))
	mux.HandleFunc("GET /partials/devices", s.withSession(s.devicesPartial))
	mux.HandleFunc("GET /devices/{id}", s.withSession(s.device))
	mux.HandleFunc("GET /devices/{id}/checks", s.withSession(s.checksPartial))
	mux.HandleFunc("POST /devices/{id}/run-checks", s.withSession(s.runChecks))
	mux.HandleFunc("/", s.withSession(func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		s.renderError(w, r, rc.lang, core.ErrNotFound)
	}))
	return securityHeaders(mux), nil
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

// withSession requires a dashboard session: without one, pages redirect to
// /login (htmx requests get HX-Redirect). POSTs must carry the session's
// CSRF token.
func (s *server) withSession(h func(http.ResponseWriter, *http.Request, *reqCtx)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
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
		rc := &reqCtx{user: u, sess: sess, lang: pickLang(u.Lang, r.Header.Get("Accept-Language"))}
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Vary", "Cookie, Accept-Language")
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := auth.CheckCSRF(r, sess.CSRF); err != nil {
				s.log.Warn("CSRF check failed", "path", r.URL.Path, "user", u.Email)
				s.renderError(w, r, rc.lang, err)
				return
			}
		}
		h(w, r.WithContext(auth.WithUser(r.Context(), u)), rc)
	}
}

func isHTMX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// renderError shows an error page (or fragment, for htmx) with the status
// that api.Status maps the error to; internal errors are logged, not shown.
func (s *server) renderError(w http.ResponseWriter, r *http.Request, lang Lang, err error) {
	status, code, _ := api.Status(err)
	if status == http.StatusInternalServerError {
		s.log.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	key := map[string]string{
		"not_found": "error.notFound",
		"forbidden": "error.forbidden",
		"invalid":   "error.invalid",
	}[code]
	if key == "" {
		key = "error.internal"
	}
	v := s.view(r, lang, nil)
	v.Error, v.Title = key, "error.title"
	name := "error"
	if isHTMX(r) {
		name = "error-fragment"
	}
	s.render(w, status, name, v)
}
