package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/wacht-rmm/wacht/internal/core"
)

var (
	secretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryRE = regexp.MustCompile(`<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>`)
)

// enrolTOTP turns on 2FA for the browser's signed-in user and returns the
// secret and recovery codes.
func enrolTOTP(t *testing.T, b *browser, csrf string) (string, []string) {
	t.Helper()
	p := b.do("GET", "/account/2fa", nil)
	m := secretRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil || !strings.Contains(p.body, "otpauth://totp/Wacht:") || !strings.Contains(p.body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page: %d\n%s", p.status, p.body)
	}
	secret := m[1]
	if r := b.do("POST", "/account/2fa", url.Values{"csrf": {csrf}, "code": {"000000"}}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.body, secret) {
		t.Errorf("wrong enrolment code: %d (the page must keep the same secret)", r.status)
	}
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p = b.do("POST", "/account/2fa", url.Values{"csrf": {csrf}, "code": {code}})
	var codes []string
	for _, m := range recoveryRE.FindAllStringSubmatch(p.body, -1) {
		codes = append(codes, m[1])
	}
	if p.status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("enabling: %d, %d recovery codes\n%s", p.status, len(codes), p.body)
	}
	return secret, codes
}

// passwordStep signs in with the password and expects to be asked for the
// second factor.
func passwordStep(t *testing.T, b *browser, email string) {
	t.Helper()
	lp := b.do("GET", "/login", nil)
	p := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, lp)}, "email": {email}, "password": {testPassword}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login/totp" {
		t.Fatalf("password step: %d %q", p.status, p.header.Get("Location"))
	}
	if r := b.do("GET", "/", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("signed in before the second factor: %d %q", r.status, r.header.Get("Location"))
	}
}

func codeStep(t *testing.T, b *browser, code string) page {
	t.Helper()
	fp := b.do("GET", "/login/totp", nil)
	if fp.status != http.StatusOK {
		t.Fatalf("code form: %d", fp.status)
	}
	return b.do("POST", "/login/totp", url.Values{"csrf": {csrfOf(t, fp)}, "code": {code}})
}

func TestTOTPEnrolmentAndLogin(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	secret, recovery := enrolTOTP(t, b, csrf)
	if u, _ := f.st.GetUserByEmail(context.Background(), "admin@example.com"); !u.TOTPEnabled {
		t.Fatal("TOTP not enabled in the store")
	}

	// Password alone no longer signs in; a wrong code is refused.
	b2 := f.browser(t, "en")
	passwordStep(t, b2, "admin@example.com")
	if r := codeStep(t, b2, "123456"); r.status != http.StatusUnauthorized {
		t.Errorf("wrong code: %d", r.status)
	}
	// The code of the next time step (the enrolment used this one).
	code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	if r := codeStep(t, b2, code); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("right code: %d %q\n%s", r.status, r.header.Get("Location"), r.body)
	}
	if r := b2.do("GET", "/", nil); r.status != http.StatusOK {
		t.Errorf("after second factor: %d", r.status)
	}

	// The same code cannot sign in twice.
	b3 := f.browser(t, "en")
	passwordStep(t, b3, "admin@example.com")
	if r := codeStep(t, b3, code); r.status != http.StatusUnauthorized {
		t.Errorf("replayed code: %d", r.status)
	}

	// A recovery code works once, in any case and with spaces.
	if r := codeStep(t, b3, " "+strings.ToUpper(recovery[3])+" "); r.status != http.StatusSeeOther {
		t.Errorf("recovery code: %d", r.status)
	}
	b4 := f.browser(t, "en")
	passwordStep(t, b4, "admin@example.com")
	if r := codeStep(t, b4, recovery[3]); r.status != http.StatusUnauthorized {
		t.Errorf("reused recovery code: %d", r.status)
	}
	if r := codeStep(t, b4, recovery[4]); r.status != http.StatusSeeOther {
		t.Errorf("another recovery code: %d", r.status)
	}
	if len(auditOf(t, f, "user.recovery-code")) != 2 || len(auditOf(t, f, "user.2fa-enable")) != 1 {
		t.Error("2FA events not audited")
	}

	// A forged or missing pending cookie leads back to the password form.
	b5 := f.browser(t, "en")
	if r := b5.do("GET", "/login/totp", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("code form without password step: %d", r.status)
	}
	u, _ := url.Parse(f.srv.URL + "/login")
	b5.c.Jar.SetCookies(u, []*http.Cookie{{Name: pendingCookie, Value: "AAAAAAAAAAEAAAAAf____wAAAAAAAAAA" + strings.Repeat("A", 43), Path: "/login"}})
	if r := b5.do("GET", "/login/totp", nil); r.status != http.StatusSeeOther {
		t.Errorf("forged pending cookie: %d", r.status)
	}
}

func TestMandatoryTOTP(t *testing.T) {
	f := newFixture(t)
	admin := f.browser(t, "en")
	_, csrf := admin.login("admin@example.com", testPassword)
	if r := admin.do("POST", "/settings/2fa", url.Values{"csrf": {csrf}, "required": {"true"}}); r.status != http.StatusSeeOther {
		t.Fatalf("setting 2FA mandatory: %d", r.status)
	}
	ro := f.browser(t, "en")
	lp := ro.do("GET", "/login", nil)
	p := ro.do("POST", "/login", url.Values{"csrf": {csrfOf(t, lp)}, "email": {"readonly@example.com"}, "password": {testPassword}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != accountPath {
		t.Fatalf("login without TOTP under mandatory 2FA: %d %q", p.status, p.header.Get("Location"))
	}
	for _, path := range []string{"/", "/clients", "/devices/1"} {
		if r := ro.do("GET", path, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != accountPath {
			t.Errorf("GET %s before enrolling: %d %q", path, r.status, r.header.Get("Location"))
		}
	}
	ap := ro.do("GET", accountPath, nil)
	if ap.status != http.StatusOK || !strings.Contains(ap.body, "requires two-factor") {
		t.Fatalf("enrolment page: %d", ap.status)
	}
	enrolTOTP(t, ro, csrfOf(t, ap))
	if r := ro.do("GET", "/", nil); r.status != http.StatusOK {
		t.Errorf("after enrolling: %d", r.status)
	}

	// An administrator (who must enrol too now) resets the second factor
	// of a user who lost it.
	if r := admin.do("GET", "/users", nil); r.status != http.StatusSeeOther || r.header.Get("Location") != accountPath {
		t.Errorf("admin without TOTP under mandatory 2FA: %d", r.status)
	}
	enrolTOTP(t, admin, csrf)
	id := f.users[core.RoleReadOnly].ID
	if r := admin.do("POST", "/users/"+strconv.FormatInt(id, 10)+"/reset-2fa", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther ||
		r.header.Get("Location") != "/users" {
		t.Fatalf("reset 2FA: %d %q", r.status, r.header.Get("Location"))
	}
	if u, _ := f.st.GetUser(context.Background(), id); u.TOTPEnabled {
		t.Error("2FA still on after the reset")
	}
	if len(auditOf(t, f, "user.2fa-reset")) != 1 {
		t.Error("reset not audited")
	}
}

func TestNewFormsNeedCSRF(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	for _, c := range []struct {
		path string
		form url.Values
	}{
		{"/clients", url.Values{"name": {"X GmbH"}}},
		{"/users", url.Values{"email": {"x@example.com"}, "password": {"long enough"}, "role": {"admin"}}},
		{"/settings/2fa", url.Values{"required": {"true"}}},
		{"/account/2fa", url.Values{"code": {"123456"}}},
	} {
		for _, tok := range []string{"", "wrong"} {
			form := url.Values{}
			for k, v := range c.form {
				form[k] = v
			}
			if tok != "" {
				form.Set("csrf", tok)
			}
			if r := b.do("POST", c.path, form); r.status != http.StatusForbidden {
				t.Errorf("POST %s with csrf %q: %d", c.path, tok, r.status)
			}
		}
	}
	if us, _ := f.st.ListUsers(context.Background()); len(us) != 2 {
		t.Errorf("a user was created without CSRF: %d users", len(us))
	}
	cs, _ := f.st.ListClients(context.Background())
	for _, c := range cs {
		if c.Name == "X GmbH" {
			t.Error("a client was created without CSRF")
		}
	}
	// With the token the same form works.
	if r := b.do("POST", "/clients", url.Values{"csrf": {csrf}, "name": {"X GmbH"}, "report_lang": {"de"}}); r.status != http.StatusSeeOther {
		t.Errorf("POST /clients with csrf: %d", r.status)
	}
	_ = core.RoleAdmin
}
