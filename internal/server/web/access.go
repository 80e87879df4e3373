package web

import (
	"errors"
	"html/template"
	"net"
	"net/http"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Two-factor sign-in and the account page.

const (
	// loginMaxPerIP failures from one source address (over all accounts)
	// within loginWindow stop further attempts from it.
	loginMaxPerIP = 30
	// pendingCookie carries the signed "password accepted" state between
	// the password and the code step.
	pendingCookie = "wacht_2fa"
	pendingTTL    = 5 * time.Minute
	accountPath   = "/account/2fa"
)

// enrolmentPaths stay reachable while mandatory 2FA sends a user to enrol.
var enrolmentPaths = map[string]bool{accountPath: true, "/logout": true, "/lang": true}

func init() {
	pageNames = append(pageNames, "totp", "account", "clients", "client", "audit", "users", "tokens")
}

// pending returns the signer of pending logins, its key read (or created)
// once.
func (s *server) pending(r *http.Request) (auth.PendingLogin, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.loginKey == nil {
		k, err := s.svc.LoginKey(r.Context())
		if err != nil {
			return auth.PendingLogin{}, err
		}
		s.loginKey = k
	}
	return auth.PendingLogin{Key: s.loginKey, TTL: pendingTTL}, nil
}

// require2FA reports the administrator's "2FA mandatory" setting; a read
// error counts as mandatory (fail closed) and is logged.
func (s *server) require2FA(r *http.Request) bool {
	on, err := s.svc.Require2FA(r.Context())
	if err != nil {
		s.log.Error("reading 2FA setting", "err", err)
		return true
	}
	return on
}

func (s *server) askSecondFactor(w http.ResponseWriter, r *http.Request, u core.User) {
	p, err := s.pending(r)
	if err != nil {
		s.renderError(w, r, pickLang(u.Lang, r.Header.Get("Accept-Language")), err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: pendingCookie, Value: p.Issue(u.ID, s.now()), Path: "/login", MaxAge: int(pendingTTL / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/login/totp", http.StatusSeeOther)
}

// pendingUser returns the user whose password step the cookie vouches for.
func (s *server) pendingUser(r *http.Request) (core.User, bool) {
	c, err := r.Cookie(pendingCookie)
	if err != nil {
		return core.User{}, false
	}
	p, err := s.pending(r)
	if err != nil {
		return core.User{}, false
	}
	id, ok := p.Check(c.Value, s.now())
	if !ok {
		return core.User{}, false
	}
	return s.svc.PendingUser(r.Context(), id)
}

func (s *server) renderTOTP(w http.ResponseWriter, r *http.Request, status int, errKey string) {
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
	v.Title, v.Error, v.LoginCSRF = "totp.title", errKey, tok
	s.render(w, status, "totp", v)
}

func (s *server) totpPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.pendingUser(r); !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.renderTOTP(w, r, http.StatusOK, "")
}

func (s *server) totpLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(loginCookie)
	if err != nil || auth.CheckCSRF(r, c.Value) != nil {
		s.renderTOTP(w, r, http.StatusForbidden, "login.expired")
		return
	}
	u, ok := s.pendingUser(r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if !s.throttle.Allow(host, u.Email) {
		s.renderTOTP(w, r, http.StatusTooManyRequests, "login.throttled")
		return
	}
	err = s.svc.SecondFactorSignIn(auth.WithRemote(r.Context(), r.RemoteAddr), u, r.PostFormValue("code"))
	if errors.Is(err, auth.ErrSecondFactor) {
		s.throttle.Fail(host, u.Email)
		s.renderTOTP(w, r, http.StatusUnauthorized, "totp.failed")
		return
	}
	if err != nil {
		s.renderError(w, r, pickLang(u.Lang, r.Header.Get("Accept-Language")), err)
		return
	}
	s.finishLogin(w, r, u)
}

// accountView is the data of the 2FA page.
type accountView struct {
	Enabled       bool
	Required      bool
	Key           auth.TOTPKey
	RecoveryCodes []string // shown once, right after enabling
}

// QR is the key's QR code image, a data: URL made here (not user input).
func (a accountView) QR() template.URL { return template.URL(a.Key.QRPNG) }

// account shows the 2FA state; without 2FA it starts an enrolment with a
// fresh secret (stored as pending until confirmed with a code).
func (s *server) account(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v := s.view(r, rc.lang, rc)
	v.Title = "account.title"
	av := accountView{Enabled: rc.user.TOTPEnabled, Required: s.require2FA(r)}
	if !av.Enabled {
		key, err := s.svc.StartTOTP(r.Context(), rc.user)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		av.Key = key
	}
	v.Page = av
	s.render(w, http.StatusOK, "account", v)
}

// enableTOTP confirms the pending secret with a code, turns 2FA on and
// shows the recovery codes once.
func (s *server) enableTOTP(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	codes, err := s.svc.EnableTOTP(r.Context(), rc.user, r.PostFormValue("code"))
	if errors.Is(err, service.ErrTOTPCode) {
		v := s.view(r, rc.lang, rc)
		v.Title, v.Error = "account.title", "totp.failed"
		key, err := s.svc.PendingTOTPKey(r.Context(), rc.user)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		v.Page = accountView{Key: key, Required: s.require2FA(r)}
		s.render(w, http.StatusBadRequest, "account", v)
		return
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Notice, v.NoticeKind = "account.title", "account.enabled", "ok"
	v.User.TOTPEnabled = true
	v.Page = accountView{Enabled: true, RecoveryCodes: codes}
	s.render(w, http.StatusOK, "account", v)
}
