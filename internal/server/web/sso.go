package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Single sign-on with OpenID Connect (authorization code flow with PKCE
// and nonce). /auth/oidc/{id}/start sends the browser to the provider with
// a fresh state, nonce and PKCE verifier, kept in a short-lived signed
// cookie; /auth/oidc/{id}/callback takes the provider's answer, checks the
// state against the cookie, exchanges the code and verifies the ID token
// (issuer, audience, expiry, nonce). service.SSOSignIn decides who that is
// and may sign in; the session is the password login's.

const (
	// ssoCookie carries the flow's state between start and callback;
	// SameSite=Lax because the callback is a top-level navigation from the
	// provider's site.
	ssoCookie = "wacht_oidc"
	ssoPath   = "/auth/oidc/"
	ssoTTL    = 10 * time.Minute
	// discoveryTTL is how long a provider's discovery document (endpoints
	// and keys) is reused.
	discoveryTTL = 15 * time.Minute
)

func init() { pageNames = append(pageNames, "signout") }

func (s *server) ssoRoutes(rt *auth.Router) {
	rt.HandleFunc("GET "+ssoPath+"{id}/start", authz.Public, s.ssoStart)
	rt.HandleFunc("GET "+ssoPath+"{id}/callback", authz.Public, s.ssoCallback)
}

// ssoFlow is what the cookie keeps between start and callback.
type ssoFlow struct {
	Provider int64  `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Expires  int64  `json:"e"` // Unix seconds
}

// ssoKey signs flow cookies; derived from the login key, which every node
// shares.
func (s *server) ssoKey(r *http.Request) ([]byte, error) {
	p, err := s.pending(r)
	if err != nil {
		return nil, err
	}
	return flowKey(p.Key), nil
}

func flowKey(loginKey []byte) []byte {
	m := hmac.New(sha256.New, loginKey)
	m.Write([]byte("wacht oidc flow"))
	return m.Sum(nil)
}

func signFlow(key []byte, f ssoFlow) string {
	b, _ := json.Marshal(f)
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// openFlow returns the flow of a cookie value signed with key, unexpired
// at now.
func openFlow(key []byte, v string, now time.Time) (ssoFlow, bool) {
	body, mac, ok := strings.Cut(v, ".")
	b, err1 := base64.RawURLEncoding.DecodeString(body)
	sum, err2 := base64.RawURLEncoding.DecodeString(mac)
	if !ok || err1 != nil || err2 != nil {
		return ssoFlow{}, false
	}
	m := hmac.New(sha256.New, key)
	m.Write(b)
	var f ssoFlow
	if !hmac.Equal(m.Sum(nil), sum) || json.Unmarshal(b, &f) != nil || now.Unix() >= f.Expires {
		return ssoFlow{}, false
	}
	return f, true
}

func setFlowCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: value, Path: ssoPath, MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// discovery caches the providers' discovery documents by issuer.
type discovery struct {
	mu    sync.Mutex
	byIss map[string]discovered
}

type discovered struct {
	p  *oidc.Provider
	at time.Time
}

// ssoHTTP bounds the requests to providers.
var ssoHTTP = &http.Client{Timeout: 15 * time.Second}

func (d *discovery) get(ctx context.Context, issuer string, now time.Time) (*oidc.Provider, error) {
	d.mu.Lock()
	c, ok := d.byIss[issuer]
	d.mu.Unlock()
	if ok && now.Sub(c.at) < discoveryTTL {
		return c.p, nil
	}
	p, err := oidc.NewProvider(oidc.ClientContext(ctx, ssoHTTP), issuer)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", issuer, err)
	}
	d.mu.Lock()
	if d.byIss == nil {
		d.byIss = map[string]discovered{}
	}
	d.byIss[issuer] = discovered{p: p, at: now}
	d.mu.Unlock()
	return p, nil
}

// ssoConfig is the provider p with its discovered endpoints and the OAuth2
// configuration of its flow.
func (s *server) ssoConfig(ctx context.Context, p core.OIDCProvider) (*oidc.Provider, *oauth2.Config, error) {
	op, err := s.discovery.get(ctx, p.Issuer, s.now())
	if err != nil {
		return nil, nil, err
	}
	redirect, err := s.svc.SSOCallbackURL(ctx, p.ID)
	if err != nil {
		return nil, nil, err
	}
	return op, &oauth2.Config{ClientID: p.ClientID, ClientSecret: p.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: redirect, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}, nil
}

// ssoProvider returns the provider the path names; a failure is shown on
// the login page.
func (s *server) ssoProvider(w http.ResponseWriter, r *http.Request) (core.OIDCProvider, bool) {
	id, err := pathID(r)
	if err == nil {
		var p core.OIDCProvider
		if p, err = s.svc.SSOProvider(r.Context(), id); err == nil {
			return p, true
		}
	}
	if !errors.Is(err, core.ErrNotFound) {
		s.log.Error("single sign-on provider", "err", err)
	}
	s.renderLogin(w, r, http.StatusNotFound, "", "login.sso.unknown")
	return core.OIDCProvider{}, false
}

// ssoStart sends the browser to the provider.
func (s *server) ssoStart(w http.ResponseWriter, r *http.Request) {
	p, ok := s.ssoProvider(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	_, cfg, err := s.ssoConfig(ctx, p)
	var key []byte
	if err == nil {
		key, err = s.ssoKey(r)
	}
	if err != nil {
		s.ssoFail(w, r, p, "login.sso.unreachable", err.Error())
		return
	}
	f := ssoFlow{Provider: p.ID, State: auth.NewSecret(""), Nonce: auth.NewSecret(""), Verifier: oauth2.GenerateVerifier(),
		Expires: s.now().Add(ssoTTL).Unix()}
	setFlowCookie(w, signFlow(key, f), int(ssoTTL/time.Second))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, cfg.AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier)), http.StatusFound)
}

// ssoClaims are the ID token's claims Wacht reads. Entra ID says whether
// it verified the e-mail domain in xms_edov (an optional claim) instead of
// email_verified; some providers send the booleans as strings.
type ssoClaims struct {
	Email         string    `json:"email"`
	EmailVerified claimBool `json:"email_verified"`
	EntraVerified claimBool `json:"xms_edov"`
}

type claimBool bool

func (b *claimBool) UnmarshalJSON(data []byte) error {
	*b = claimBool(string(data) == "true" || string(data) == `"true"`)
	return nil
}

// claimStrings reads a claim that is a string or a list of strings.
func claimStrings(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// ssoCallback finishes the flow: one use per cookie, whatever the outcome.
func (s *server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	p, ok := s.ssoProvider(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	setFlowCookie(w, "", -1)
	w.Header().Set("Cache-Control", "no-store")
	key, err := s.ssoKey(r)
	if err != nil {
		s.renderError(w, r, pickLang("", r.Header.Get("Accept-Language")), err)
		return
	}
	c, err := r.Cookie(ssoCookie)
	var f ssoFlow
	if err == nil {
		f, ok = openFlow(key, c.Value, s.now())
	}
	q := r.URL.Query()
	switch {
	case err != nil || !ok || f.Provider != p.ID:
		s.ssoFail(w, r, p, "login.sso.expired", "no valid flow cookie (expired, replayed or from another browser)")
		return
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1:
		s.ssoFail(w, r, p, "login.sso.expired", "state does not match the flow cookie")
		return
	case q.Get("error") != "":
		s.ssoFail(w, r, p, "login.sso.denied", "provider answered "+q.Get("error")+": "+q.Get("error_description"))
		return
	}
	op, cfg, err := s.ssoConfig(ctx, p)
	if err != nil {
		s.ssoFail(w, r, p, "login.sso.unreachable", err.Error())
		return
	}
	octx := oidc.ClientContext(ctx, ssoHTTP)
	tok, err := cfg.Exchange(octx, q.Get("code"), oauth2.VerifierOption(f.Verifier))
	if err != nil {
		s.ssoFail(w, r, p, "login.sso.failed", "exchanging the code: "+err.Error())
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := op.Verifier(&oidc.Config{ClientID: p.ClientID, Now: s.now}).Verify(octx, raw)
	if err == nil && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.Nonce)) != 1 {
		err = errors.New("nonce does not match the flow cookie")
	}
	var claims ssoClaims
	all := map[string]json.RawMessage{}
	if err == nil {
		err = errors.Join(idt.Claims(&claims), idt.Claims(&all))
	}
	if err != nil {
		s.ssoFail(w, r, p, "login.sso.failed", "ID token: "+err.Error())
		return
	}
	id := service.SSOIdentity{Email: claims.Email, EmailVerified: bool(claims.EmailVerified || claims.EntraVerified)}
	if p.RolesClaim != "" {
		id.Roles = claimStrings(all[p.RolesClaim])
	}
	u, err := s.svc.SSOSignIn(auth.WithRemote(ctx, r.RemoteAddr), p, id)
	if refusal := (*service.SSORefusal)(nil); errors.As(err, &refusal) {
		s.renderLogin(w, r, http.StatusForbidden, "", "login.sso."+refusal.Reason)
		return
	}
	if err != nil {
		s.renderError(w, r, pickLang("", r.Header.Get("Accept-Language")), err)
		return
	}
	if u.TOTPEnabled && !p.EnforcesMFA {
		s.askSecondFactor(w, r, u)
		return
	}
	s.startSession(w, r, u, core.Session{OIDCProvider: p.ID, ProviderMFA: p.EnforcesMFA})
}

// ssoFail audits a failed flow and shows errKey on the login page; detail
// is for the audit log only.
func (s *server) ssoFail(w http.ResponseWriter, r *http.Request, p core.OIDCProvider, errKey, detail string) {
	s.log.Info("single sign-on failed", "provider", p.Name, "detail", detail, "remote", r.RemoteAddr)
	s.svc.SSOFailed(auth.WithRemote(r.Context(), r.RemoteAddr), p, detail)
	s.renderLogin(w, r, http.StatusUnauthorized, "", errKey)
}

// ssoLogoutURL is where the browser goes after signing out of a session
// signed in with provider id: the provider's end_session_endpoint with the
// login page to return to, or "" when there is none (RP-initiated logout).
func (s *server) ssoLogoutURL(ctx context.Context, id int64) string {
	p, err := s.svc.SSOProvider(ctx, id)
	if err != nil {
		return ""
	}
	op, err := s.discovery.get(ctx, p.Issuer, s.now())
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err != nil || op.Claims(&meta) != nil || meta.EndSession == "" {
		return ""
	}
	back, err := s.svc.SSOLogoutReturnURL(ctx)
	if err != nil {
		return ""
	}
	u, err := url.Parse(meta.EndSession)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	q := u.Query()
	q.Set("client_id", p.ClientID)
	q.Set("post_logout_redirect_uri", back)
	u.RawQuery = q.Encode()
	return u.String()
}

// signOutAtProvider sends the browser on to the provider's end-session
// URL after the Wacht session ended. Not by a redirect: browsers apply the
// logout form's CSP form-action 'self' to its redirects and would block
// it; a Refresh header (and the page's link) is a navigation of its own.
func (s *server) signOutAtProvider(w http.ResponseWriter, r *http.Request, end string) {
	w.Header().Set("Refresh", "0;url="+end)
	w.Header().Set("Cache-Control", "no-store")
	v := s.view(r, pickLang("", r.Header.Get("Accept-Language")), nil)
	v.Title, v.Page = "logout.title", end
	s.render(w, http.StatusOK, "signout", v)
}
