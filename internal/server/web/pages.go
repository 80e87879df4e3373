package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Failed logins per source address and e-mail before the form refuses
// further attempts from that address to that account for a while (see
// auth.LoginThrottle; other addresses are not affected).
const (
	loginMaxFailures = 10
	loginWindow      = 15 * time.Minute
)

// loginCookie carries the double-submit CSRF token of the login form, which
// has no session yet.
const loginCookie = "wacht_login"

func (s *server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.renderLogin(w, r, http.StatusOK, "", "")
}

func (s *server) renderLogin(w http.ResponseWriter, r *http.Request, status int, email, errKey string) {
	// Reuse a token the browser already has: other requests that land on
	// /login (a second tab, a favicon redirect) must not invalidate the form.
	tok := auth.NewSecret("")
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) == len(tok) {
		tok = c.Value
	}
	http.SetCookie(w, &http.Cookie{
		Name: loginCookie, Value: tok, Path: "/login", MaxAge: 3600,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	v := s.view(r, pickLang("", r.Header.Get("Accept-Language")), nil)
	v.Title, v.Email, v.Error, v.LoginCSRF = "login.title", email, errKey, tok
	ps, err := s.svc.SSOProviders(r.Context())
	if err != nil {
		s.log.Error("listing sign-in providers", "err", err) // password sign-in still works
	}
	v.Page = ps
	s.render(w, status, "login", v)
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	email := strings.TrimSpace(r.PostFormValue("email"))
	c, err := r.Cookie(loginCookie)
	if err != nil || auth.CheckCSRF(r, c.Value) != nil {
		s.renderLogin(w, r, http.StatusForbidden, email, "login.expired")
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if !s.throttle.Allow(host, email) {
		s.log.Warn("dashboard login throttled", "email", email, "remote", r.RemoteAddr)
		s.renderLogin(w, r, http.StatusTooManyRequests, email, "login.throttled")
		return
	}
	u, err := s.svc.PasswordSignIn(auth.WithRemote(r.Context(), r.RemoteAddr), email, r.PostFormValue("password"))
	if errors.Is(err, auth.ErrBadCredentials) {
		s.throttle.Fail(host, email)
		s.log.Info("failed dashboard login", "email", email, "remote", r.RemoteAddr)
		s.renderLogin(w, r, http.StatusUnauthorized, email, "login.failed")
		return
	}
	if err != nil {
		s.renderError(w, r, pickLang("", r.Header.Get("Accept-Language")), err)
		return
	}
	if u.TOTPEnabled {
		s.askSecondFactor(w, r, u)
		return
	}
	s.finishLogin(w, r, u)
}

// finishLogin starts the password session of a user who passed every
// factor.
func (s *server) finishLogin(w http.ResponseWriter, r *http.Request, u core.User) {
	s.startSession(w, r, u, core.Session{})
}

// startSession starts a session like sess (password or single sign-on)
// for a user who passed every factor.
func (s *server) startSession(w http.ResponseWriter, r *http.Request, u core.User, sess core.Session) {
	sess.UserID = u.ID
	if _, err := s.sessions.Start(r.Context(), w, sess); err != nil {
		s.renderError(w, r, pickLang(u.Lang, r.Header.Get("Accept-Language")), err)
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.throttle.Success(host, u.Email)
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: "", Path: "/login", MaxAge: -1, Secure: true, HttpOnly: true})
	http.SetCookie(w, &http.Cookie{Name: pendingCookie, Value: "", Path: "/login", MaxAge: -1, Secure: true, HttpOnly: true})
	s.svc.SignedIn(auth.WithRemote(r.Context(), r.RemoteAddr), u)
	next := "/"
	if !u.TOTPEnabled && !sess.ProviderMFA && s.require2FA(r) {
		next = accountPath
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *server) logout(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if err := s.sessions.Destroy(r.Context(), w, r); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.svc.SignedOut(r.Context(), rc.user)
	if rc.sess.OIDCProvider != 0 {
		if end := s.ssoLogoutURL(r.Context(), rc.sess.OIDCProvider); end != "" {
			s.signOutAtProvider(w, r, end)
			return
		}
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLang saves the user's language and returns to the page it came from.
func (s *server) setLang(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if err := s.svc.SetLanguage(r.Context(), rc.user, r.PostFormValue("lang")); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}

// localPath accepts only a path on this server as a redirect target.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	return p
}

func (s *server) overviewView(r *http.Request, rc *reqCtx) (view, error) {
	v := s.view(r, rc.lang, rc)
	v.Title = "overview.title"
	ds, err := s.svc.ListDevices(r.Context())
	if err != nil {
		return v, err
	}
	sites, err := s.svc.ListSites(r.Context(), rc.user)
	if err != nil {
		return v, err
	}
	v.Clients, v.Devices = groupDevices(sites, ds, rc.lang), len(ds)
	if err := s.addProtection(r.Context(), rc.lang, ds, v.Clients); err != nil {
		return v, err
	}
	if err := s.addProbes(r.Context(), rc.lang, ds, v.Clients); err != nil {
		return v, err
	}
	if err := s.addMaintenance(r.Context(), v.Clients); err != nil {
		return v, err
	}
	return v, nil
}

// renderView renders the template name with the view build makes, or
// build's error.
func (s *server) renderView(w http.ResponseWriter, r *http.Request, rc *reqCtx, name string, build func(*http.Request, *reqCtx) (view, error)) {
	v, err := build(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.render(w, http.StatusOK, name, v)
}

func (s *server) overview(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderView(w, r, rc, "overview", s.overviewView)
}

func (s *server) devicesPartial(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderView(w, r, rc, "devices", s.overviewView)
}

func (s *server) deviceView(r *http.Request, rc *reqCtx) (view, error) {
	v := s.view(r, rc.lang, rc)
	id, err := pathID(r)
	if err != nil {
		return v, err
	}
	d, err := s.svc.GetDevice(r.Context(), id)
	if err != nil {
		return v, err
	}
	cs, err := s.svc.CheckStates(r.Context(), id)
	if err != nil {
		return v, err
	}
	v.Device = newDeviceView(d, rc.lang)
	if v.Device.Maintenance, err = s.inMaintenance(r.Context(), d.Device); err != nil {
		return v, err
	}
	if v.Net, err = s.netDeviceOf(r.Context(), rc.user, d); err != nil {
		return v, err
	}
	sites, err := s.svc.ListSites(r.Context(), rc.user)
	if err != nil {
		return v, err
	}
	v.Page = deviceEdit{Roles: []string{core.DeviceRoleServer, core.DeviceRoleWorkstation, core.DeviceRoleNotebook}, Sites: sites}
	v.Path = "/devices/" + strconv.FormatInt(id, 10)
	for _, c := range cs {
		v.Checks = append(v.Checks, checkView{CheckState: c, Class: statusClass(c.Status)})
	}
	return v, nil
}

func (s *server) device(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v, err := s.deviceView(r, rc)
	if err == nil {
		v.Outages, err = s.deviceOutages(r.Context(), rc, v.Device.ID, v.Path)
		v.Remote = s.remoteCardFor(r.Context(), rc, v)
	}
	if err == nil {
		v.Runs, err = s.deviceRuns(r, rc, v)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	switch r.URL.Query().Get("run") { // set by runChecks for browsers without htmx
	case "ok":
		v.Notice, v.NoticeKind = "run.ok", "ok"
	case "offline":
		v.Notice, v.NoticeKind = "run.offline", "warning"
	case "failed":
		v.Notice, v.NoticeKind = "run.failed", "failure"
	}
	doneNotice(&v, r)
	s.render(w, http.StatusOK, "device", v)
}

func (s *server) checksPartial(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderView(w, r, rc, "checks", s.deviceView)
}

// runChecks asks the agent to run its checks. htmx gets a notice fragment
// (200 even when offline, so htmx shows it); plain forms are redirected back
// to the device page with the outcome.
func (s *server) runChecks(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ctx := r.Context()
	start := s.now()
	res, err := s.svc.RunChecks(ctx, rc.user, id)
	outcome, kind := "ok", "ok"
	switch {
	case errors.Is(err, core.ErrOffline):
		outcome, kind = "offline", "warning"
	case errors.Is(err, core.ErrForbidden):
		outcome, kind = "forbidden", "failure"
	case errors.Is(err, core.ErrNotFound):
		s.renderError(w, r, rc.lang, err)
		return
	case err != nil && !errors.Is(err, context.DeadlineExceeded):
		s.renderError(w, r, rc.lang, err)
		return
	case err != nil || !res.OK:
		outcome, kind = "failed", "failure"
	}
	if !isHTMX(r) {
		if outcome == "forbidden" {
			s.renderError(w, r, rc.lang, core.ErrForbidden)
			return
		}
		http.Redirect(w, r, "/devices/"+strconv.FormatInt(id, 10)+"?run="+outcome, http.StatusSeeOther)
		return
	}
	v := s.view(r, rc.lang, rc)
	if run := startedChecks(res); outcome == "ok" && run.Checks > 0 {
		// The agent runs them in the background: follow the run.
		since := run.At
		if since.IsZero() {
			since = start
		}
		v.Page = runProgressView(rc.lang, nil, id, since, start, run.Checks, start)
		s.render(w, http.StatusOK, "run-progress", v)
		return
	}
	v.Notice, v.NoticeKind = "run."+outcome, kind
	s.render(w, http.StatusOK, "notice", v)
}
