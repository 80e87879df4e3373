package web

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The test's OpenID provider is zitadel's certified OP library with its
// example storage and login form, on loopback over plain http (go-oidc
// accepts http issuers). Two changes: its client asserts the profile and
// e-mail claims in the ID token, as Entra ID and Google do, and users can
// carry a "groups" claim.

// opUsers are the provider's users by ID.
type opUsers map[string]*storage.User

func (u opUsers) GetUserByID(id string) *storage.User { return u[id] }

func (u opUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}

func (opUsers) ExampleClientID() string { return "service" }

type opStorage struct {
	*storage.Storage
	groups   map[string][]string // by user ID
	loggedIn string              // Wacht's login page, where logouts return
}

// wachtClient puts the userinfo claims into the ID token and lets a
// logout return to Wacht's login page.
type wachtClient struct {
	op.Client
	loggedIn string
}

func (wachtClient) IDTokenUserinfoClaimsAssertion() bool { return true }

func (c wachtClient) PostLogoutRedirectURIs() []string { return []string{c.loggedIn} }

func (s *opStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return wachtClient{Client: c, loggedIn: s.loggedIn}, nil
}

func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, tok op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, tok, scopes); err != nil {
		return err
	}
	if g := s.groups[tok.GetSubject()]; g != nil {
		ui.AppendClaims("groups", g)
	}
	return nil
}

const opPassword = "op-passwort-1"

// ssoEnv is a dashboard with two providers on one OP: "Firma" creates
// users (read-only) and maps the group wacht-admins to admin; "Streng"
// creates nobody and enforces MFA.
type ssoEnv struct {
	*fixture
	op            *httptest.Server
	firma, streng core.OIDCProvider
	endSessions   atomic.Int32 // requests to the provider's end-session endpoint
}

func newSSOEnv(t *testing.T) *ssoEnv {
	t.Helper()
	ctx := context.Background()
	e := &ssoEnv{fixture: newFixture(t)}
	if err := e.st.SetSetting(ctx, service.SettingServerURL, e.srv.URL); err != nil {
		t.Fatal(err)
	}
	e.op = httptest.NewUnstartedServer(nil)
	issuer := "http://" + e.op.Listener.Addr().String()
	e.firma = core.OIDCProvider{Name: "Firma", Issuer: issuer, ClientID: "wacht", ClientSecret: "client-geheim",
		Domains: []string{"example.com"}, AutoCreate: true, DefaultRole: core.RoleReadOnly,
		RolesClaim: "groups", RoleMap: map[string]string{"wacht-admins": core.RoleAdmin}}
	e.streng = core.OIDCProvider{Name: "Streng", Issuer: issuer, ClientID: "wacht", ClientSecret: "client-geheim",
		Domains: []string{"example.com"}, DefaultRole: core.RoleReadOnly, EnforcesMFA: true}
	var redirects []string
	for _, p := range []*core.OIDCProvider{&e.firma, &e.streng} {
		if err := e.st.CreateOIDCProvider(ctx, p); err != nil {
			t.Fatal(err)
		}
		redirects = append(redirects, e.srv.URL+"/auth/oidc/"+strconv.FormatInt(p.ID, 10)+"/callback")
	}
	users := opUsers{}
	for i, email := range []string{"ReadOnly@Example.com", "newbie@example.com", "boss@example.com", "totp@example.com",
		"gone@example.com", "unverified@example.com", "eve@other.org"} {
		id := "u" + strconv.Itoa(i)
		users[id] = &storage.User{ID: id, Username: email, Password: opPassword, FirstName: "T", LastName: "U",
			Email: email, EmailVerified: !strings.HasPrefix(email, "unverified")}
	}
	st := &opStorage{Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{
		"wacht": storage.WebClient("wacht", "client-geheim", redirects...)}),
		groups: map[string][]string{"u2": {"wacht-admins", "staff"}}, loggedIn: e.srv.URL + "/login"}
	h := exampleop.SetupServer(issuer, st, nil, false)
	e.op.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/end_session" {
			e.endSessions.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	e.op.Start()
	t.Cleanup(e.op.Close)
	return e
}

// get requests an absolute URL in b's session and returns the answer and
// its redirect target, resolved.
func get(t *testing.T, b *browser, method, u string, form url.Values) (int, *url.URL, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := resp.Location()
	return resp.StatusCode, loc, string(data)
}

// toProvider starts provider p's flow and signs in at the OP as username;
// it returns the callback URL the OP sends the browser back to (not yet
// followed).
func (e *ssoEnv) toProvider(t *testing.T, b *browser, p core.OIDCProvider, username string) *url.URL {
	t.Helper()
	status, loc, body := get(t, b, "GET", e.srv.URL+"/auth/oidc/"+strconv.FormatInt(p.ID, 10)+"/start", nil)
	if status != http.StatusFound || loc == nil {
		t.Fatalf("start: %d\n%s", status, body)
	}
	q := loc.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" ||
		q.Get("scope") != "openid email profile" {
		t.Fatalf("authorization request %s", loc)
	}
	status, loc, body = get(t, b, "GET", loc.String(), nil) // the OP sends the browser to its login form
	if status != http.StatusFound || loc == nil {
		t.Fatalf("OP authorize: %d\n%s", status, body)
	}
	authReq := loc.Query().Get("authRequestID")
	status, loc, body = get(t, b, "POST", e.op.URL+"/login/username", url.Values{"username": {username}, "password": {opPassword}, "id": {authReq}})
	if status != http.StatusFound || loc == nil {
		t.Fatalf("OP login: %d\n%s", status, body)
	}
	status, loc, body = get(t, b, "GET", loc.String(), nil)
	if status != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), e.srv.URL+"/auth/oidc/") {
		t.Fatalf("OP callback: %d %v\n%s", status, loc, body)
	}
	return loc
}

// signIn runs the whole flow and returns Wacht's answer to the callback.
func (e *ssoEnv) signIn(t *testing.T, b *browser, p core.OIDCProvider, username string) page {
	t.Helper()
	cb := e.toProvider(t, b, p, username)
	return b.do("GET", cb.RequestURI(), nil)
}

func (e *ssoEnv) user(t *testing.T, email string) core.User {
	t.Helper()
	u, err := e.st.GetUserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u
}

// signedIn reports whether b has a dashboard session.
func signedIn(b *browser) bool { return b.do("GET", "/", nil).status == http.StatusOK }

// TestSSOSignIn runs the authorization code flow with PKCE and nonce
// against a real OpenID provider: who may sign in, as whom, with which
// role, and when Wacht still asks for its own second factor.
func TestSSOSignIn(t *testing.T) {
	e := newSSOEnv(t)
	ctx := context.Background()
	// refused checks that b's callback answer p is status with text, and
	// that b has no session.
	refused := func(t *testing.T, b *browser, p page, status int, text string) {
		t.Helper()
		if p.status != status || !strings.Contains(p.body, text) {
			t.Errorf("want %d with %q, got %d:\n%s", status, text, p.status, p.body)
		}
		if signedIn(b) {
			t.Error("signed in")
		}
	}
	noUser := func(t *testing.T, email string) {
		t.Helper()
		if _, err := e.st.GetUserByEmail(ctx, email); err == nil {
			t.Errorf("user %s created", email)
		}
	}

	t.Run("existing user", func(t *testing.T) {
		b := e.browser(t, "en")
		p := e.signIn(t, b, e.firma, "ReadOnly@Example.com")
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" || !signedIn(b) {
			t.Fatalf("callback: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
		}
		if u := e.user(t, "readonly@example.com"); u.Role != core.RoleReadOnly {
			t.Errorf("role changed to %s", u.Role)
		}
		if len(auditOf(t, e.fixture, "user.login")) == 0 {
			t.Error("sign-in not audited")
		}
	})
	t.Run("logout at the provider too", func(t *testing.T) {
		b := e.browser(t, "en")
		if p := e.signIn(t, b, e.firma, "ReadOnly@Example.com"); p.status != http.StatusSeeOther {
			t.Fatalf("callback: %d", p.status)
		}
		csrf := csrfOf(t, b.do("GET", "/", nil))
		p := b.do("POST", "/logout", url.Values{"csrf": {csrf}})
		refresh, ok := strings.CutPrefix(p.header.Get("Refresh"), "0;url=")
		end, err := url.Parse(refresh)
		if !ok || err != nil || p.status != http.StatusOK || !strings.HasPrefix(end.String(), e.op.URL+"/") ||
			end.Query().Get("client_id") != "wacht" || end.Query().Get("post_logout_redirect_uri") != e.srv.URL+"/login" ||
			!strings.Contains(p.body, "Signing you out at your sign-in provider") {
			t.Fatalf("logout: %d %q\n%s", p.status, p.header.Get("Refresh"), p.body)
		}
		if signedIn(b) {
			t.Error("still signed in")
		}
		// A password session logs out to the login page.
		pw := e.browser(t, "en")
		_, csrf = pw.login("readonly@example.com", testPassword)
		if p := pw.do("POST", "/logout", url.Values{"csrf": {csrf}}); p.header.Get("Location") != "/login" {
			t.Errorf("password logout to %q", p.header.Get("Location"))
		}
	})
	t.Run("auto-create with the default role and no clients", func(t *testing.T) {
		b := e.browser(t, "en")
		if p := e.signIn(t, b, e.firma, "newbie@example.com"); p.status != http.StatusSeeOther || !signedIn(b) {
			t.Fatalf("callback: %d\n%s", p.status, p.body)
		}
		u := e.user(t, "newbie@example.com")
		if u.Role != core.RoleReadOnly || !u.Scope.Restricted || len(u.Scope.Clients) != 0 {
			t.Errorf("created %+v", u)
		}
		if home := b.do("GET", "/", nil); strings.Contains(home.body, "Müller GmbH") {
			t.Error("a new user sees a client before an administrator granted it")
		}
		if len(auditOf(t, e.fixture, "user.create-sso")) != 1 {
			t.Error("creation not audited")
		}
	})
	t.Run("no automatic creation", func(t *testing.T) {
		b := e.browser(t, "de")
		refused(t, b, e.signIn(t, b, e.streng, "gone@example.com"), http.StatusForbidden, "kein aktives Wacht-Konto")
		noUser(t, "gone@example.com")
	})
	t.Run("disabled user", func(t *testing.T) {
		u := core.User{Email: "gone@example.com", PasswordHash: "x", Role: core.RoleTechnician}
		if err := e.st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if err := e.st.SetUserDisabled(ctx, u.ID, true, time.Now()); err != nil {
			t.Fatal(err)
		}
		b := e.browser(t, "en")
		// The same answer as for an unknown user: nothing tells them apart.
		refused(t, b, e.signIn(t, b, e.firma, "gone@example.com"), http.StatusForbidden, "There is no active Wacht account")
	})
	t.Run("unverified e-mail", func(t *testing.T) {
		b := e.browser(t, "en")
		refused(t, b, e.signIn(t, b, e.firma, "unverified@example.com"), http.StatusForbidden, "has not verified your e-mail")
		noUser(t, "unverified@example.com")
	})
	t.Run("wrong domain", func(t *testing.T) {
		b := e.browser(t, "en")
		refused(t, b, e.signIn(t, b, e.firma, "eve@other.org"), http.StatusForbidden, "domain may not sign in")
	})
	t.Run("role mapping", func(t *testing.T) {
		u := core.User{Email: "boss@example.com", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.Scope{Restricted: true}}
		if err := e.st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		b := e.browser(t, "en")
		if p := e.signIn(t, b, e.firma, "boss@example.com"); p.status != http.StatusSeeOther || !signedIn(b) {
			t.Fatalf("callback: %d\n%s", p.status, p.body)
		}
		if got := e.user(t, "boss@example.com"); got.Role != core.RoleAdmin {
			t.Errorf("role %s, want admin", got.Role)
		}
		if len(auditOf(t, e.fixture, "user.role-sso")) != 1 {
			t.Error("role change not audited")
		}
	})
	t.Run("tampered state", func(t *testing.T) {
		b := e.browser(t, "en")
		cb := e.toProvider(t, b, e.firma, "ReadOnly@Example.com")
		q := cb.Query()
		q.Set("state", q.Get("state")+"x")
		cb.RawQuery = q.Encode()
		refused(t, b, b.do("GET", cb.RequestURI(), nil), http.StatusUnauthorized, "took too long")
	})
	t.Run("replayed callback", func(t *testing.T) {
		b := e.browser(t, "en")
		cb := e.toProvider(t, b, e.firma, "ReadOnly@Example.com")
		flow := flowCookie(t, b, cb)
		if p := b.do("GET", cb.RequestURI(), nil); p.status != http.StatusSeeOther {
			t.Fatalf("first callback: %d", p.status)
		}
		// The cookie is gone after one use…
		if p := b.do("GET", cb.RequestURI(), nil); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "took too long") {
			t.Errorf("second callback: %d\n%s", p.status, p.body)
		}
		// …and with a copy of it the provider refuses the used code.
		attacker := e.browser(t, "en")
		attacker.c.Jar.SetCookies(cb, []*http.Cookie{flow})
		refused(t, attacker, attacker.do("GET", cb.RequestURI(), nil), http.StatusUnauthorized, "could not be verified")
	})
	t.Run("nonce mismatch", func(t *testing.T) {
		b := e.browser(t, "en")
		cb := e.toProvider(t, b, e.firma, "ReadOnly@Example.com")
		c := flowCookie(t, b, cb)
		body, _, _ := strings.Cut(c.Value, ".")
		raw, err := base64.RawURLEncoding.DecodeString(body)
		if err != nil {
			t.Fatal(err)
		}
		var f ssoFlow
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		f.Nonce = "another-nonce" // a validly signed flow whose nonce is not the token's
		c.Value = signFlow(flowKey(loginKey(t, e.fixture)), f)
		b.c.Jar.SetCookies(cb, []*http.Cookie{c})
		refused(t, b, b.do("GET", cb.RequestURI(), nil), http.StatusUnauthorized, "could not be verified")
		if a := auditOf(t, e.fixture, "user.login-sso"); len(a) == 0 || !strings.Contains(a[0].Detail, "nonce") {
			t.Errorf("audit %+v", a)
		}
	})
	t.Run("TOTP still asked unless the provider enforces MFA", func(t *testing.T) {
		u := core.User{Email: "totp@example.com", PasswordHash: "x", Role: core.RoleTechnician}
		if err := e.st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if err := e.st.SetTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP", true); err != nil {
			t.Fatal(err)
		}
		b := e.browser(t, "en")
		if p := e.signIn(t, b, e.firma, "totp@example.com"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login/totp" || signedIn(b) {
			t.Errorf("without MFA: %d %q", p.status, p.header.Get("Location"))
		}
		b = e.browser(t, "en")
		if p := e.signIn(t, b, e.streng, "totp@example.com"); p.status != http.StatusSeeOther || p.header.Get("Location") != "/" || !signedIn(b) {
			t.Errorf("with MFA: %d %q", p.status, p.header.Get("Location"))
		}
	})
	t.Run("mandatory 2FA", func(t *testing.T) {
		if err := e.st.SetSetting(ctx, service.SettingRequire2FA, "true"); err != nil {
			t.Fatal(err)
		}
		defer e.st.SetSetting(ctx, service.SettingRequire2FA, "false")
		b := e.browser(t, "en")
		if p := e.signIn(t, b, e.firma, "ReadOnly@Example.com"); p.header.Get("Location") != accountPath {
			t.Errorf("without MFA: %d %q, want enrolment", p.status, p.header.Get("Location"))
		}
		if p := b.do("GET", "/", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != accountPath {
			t.Errorf("home without MFA: %d %q", p.status, p.header.Get("Location"))
		}
		b = e.browser(t, "en")
		if p := e.signIn(t, b, e.streng, "ReadOnly@Example.com"); p.header.Get("Location") != "/" || !signedIn(b) {
			t.Errorf("with MFA: %d %q", p.status, p.header.Get("Location"))
		}
	})
}

// flowCookie is the flow cookie b would send to the callback cb.
func flowCookie(t *testing.T, b *browser, cb *url.URL) *http.Cookie {
	t.Helper()
	for _, c := range b.c.Jar.Cookies(cb) {
		if c.Name == ssoCookie {
			return &http.Cookie{Name: c.Name, Value: c.Value, Path: ssoPath, Secure: true, HttpOnly: true}
		}
	}
	t.Fatal("no flow cookie")
	return nil
}

// loginKey is the key pending logins and flow cookies are signed with.
func loginKey(t *testing.T, f *fixture) []byte {
	t.Helper()
	v, err := f.st.GetSetting(context.Background(), service.SettingLoginKey)
	if err != nil {
		t.Fatal(err)
	}
	k, err := hex.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
