package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

const testPassword = "correct horse battery"

type fakeCommander struct {
	mu     sync.Mutex
	calls  int
	err    error
	output json.RawMessage // the agent's answer's output
}

func (f *fakeCommander) Command(context.Context, int64, protocol.Command) (protocol.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return protocol.CommandResult{}, f.err
	}
	return protocol.CommandResult{OK: true, Output: f.output}, nil
}

func (f *fakeCommander) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

type fixture struct {
	st     *store.DB
	cmd    *fakeCommander
	srv    *httptest.Server
	device core.Device
	users  map[string]core.User // by role
}

// seed fills a store with one client, site and online device with cpu,
// memory and disk results, and one user per role.
func seed(t testing.TB, st *store.DB, hostname string) (core.Device, map[string]core.User) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	d := core.Device{Hostname: hostname, OS: "linux", Platform: "Debian GNU/Linux 12", Arch: "amd64", MachineID: "m1", PublicKey: make([]byte, 32), AgentVersion: "0.1.0"}
	if err := st.Enroll(ctx, auth.HashSecret(secret), &d, now); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchDevice(ctx, d.ID, now, "0.1.0"); err != nil {
		t.Fatal(err)
	}
	cpu, mem, disk := 12.0, 63.25, 91.5
	if err := st.SaveResults(ctx, d.ID, []core.Result{
		{ID: "c1", Check: "cpu", Status: core.StatusOK, Value: &cpu, Unit: "%", Message: core.Text{EN: "CPU load is normal", DE: "CPU-Last ist normal"}, At: now},
		{ID: "m1", Check: "memory", Status: core.StatusOK, Value: &mem, Unit: "%", Message: core.Text{EN: "memory use is normal", DE: "Speicherauslastung ist normal"}, At: now},
		{ID: "d1", Check: "disk", Key: "/", Status: core.StatusFailure, Value: &disk, Unit: "%", Message: core.Text{EN: "volume / is 91.5% full", DE: "Laufwerk / ist zu 91,5 % belegt"}, At: now},
	}); err != nil {
		t.Fatal(err)
	}
	h, err := authtest.Cost.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]core.User{}
	for _, role := range []string{core.RoleAdmin, core.RoleReadOnly} {
		u := core.User{Email: role + "@example.com", PasswordHash: h, Role: role}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		users[role] = u
	}
	return d, users
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	st := storetest.NewSQLite(t)
	f := &fixture{st: st, cmd: &fakeCommander{}}
	f.device, f.users = seed(t, st, "pc-<b>01</b>")
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: f.cmd})})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	t      testing.TB
	c      *http.Client
	base   string
	lang   string // Accept-Language
	header http.Header
}

func (f *fixture) browser(t testing.TB, lang string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *f.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, c: &c, base: f.srv.URL, lang: lang, header: http.Header{}}
}

// browserFrom is a browser whose connections come from the loopback
// address ip (any of 127.0.0.0/8), as another machine's would.
func (f *fixture) browserFrom(t testing.TB, lang, ip string) *browser {
	b := f.browser(t, lang)
	tr := f.srv.Client().Transport.(*http.Transport).Clone()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr.DialContext = d.DialContext
	t.Cleanup(tr.CloseIdleConnections)
	b.c.Transport = tr
	return b
}

type page struct {
	status int
	body   string
	header http.Header
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	for k, v := range b.header {
		req.Header[k] = v
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{resp.StatusCode, string(data), resp.Header}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, p page) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf field in page:\n%s", p.body)
	}
	return m[1]
}

// login signs in and returns the session's CSRF token.
func (b *browser) login(email, password string) (page, string) {
	b.t.Helper()
	lp := b.do("GET", "/login", nil)
	p := b.do("POST", "/login", url.Values{"csrf": {csrfOf(b.t, lp)}, "email": {email}, "password": {password}})
	if p.status != http.StatusSeeOther {
		return p, ""
	}
	home := b.do("GET", "/", nil)
	return p, csrfOf(b.t, home)
}

func TestLoggedOut(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "")
	for _, p := range []string{"/", "/devices/" + strconv.FormatInt(f.device.ID, 10), "/partials/devices", "/devices/1/checks", "/nope"} {
		if r := b.do("GET", p, nil); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Errorf("GET %s logged out: %d %q", p, r.status, r.header.Get("Location"))
		}
	}
	for _, p := range []string{"/logout", "/lang", "/devices/1/run-checks"} {
		if r := b.do("POST", p, url.Values{}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Errorf("POST %s logged out: %d", p, r.status)
		}
	}
	if f.cmd.count() != 0 {
		t.Error("commander reached while logged out")
	}
	b.header.Set("HX-Request", "true")
	if r := b.do("GET", "/partials/devices", nil); r.status != http.StatusUnauthorized || r.header.Get("HX-Redirect") != "/login" {
		t.Errorf("htmx logged out: %d %v", r.status, r.header)
	}
	b.header.Del("HX-Request")

	r := b.do("GET", "/login", nil)
	if r.status != http.StatusOK || !strings.Contains(r.body, `name="password"`) {
		t.Errorf("login page: %d", r.status)
	}
	for h, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if r := b.do("GET", "/static/app.css", nil); r.status != http.StatusOK || !strings.Contains(r.body, ".st-ok") {
		t.Errorf("static css: %d", r.status)
	}
	if r := b.do("GET", "/static/", nil); r.status != http.StatusNotFound {
		t.Errorf("static directory listing: %d", r.status)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	for _, c := range [][2]string{{"admin@example.com", "wrong password"}, {"nobody@example.com", testPassword}} {
		b := f.browser(t, "en")
		p, _ := b.login(c[0], c[1])
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "Wrong e-mail or password.") {
			t.Errorf("login %s: %d, want 401 with generic error", c[0], p.status)
		}
		if r := b.do("GET", "/", nil); r.status != http.StatusSeeOther {
			t.Errorf("session after failed login %s", c[0])
		}
	}

	// Without the login form's token, even good credentials are refused.
	b := f.browser(t, "en")
	p := b.do("POST", "/login", url.Values{"email": {"admin@example.com"}, "password": {testPassword}})
	if p.status != http.StatusForbidden {
		t.Errorf("login without CSRF: %d", p.status)
	}

	p, csrf := b.login("Admin@Example.com", testPassword)
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/" || csrf == "" {
		t.Fatalf("login: %d %q", p.status, p.header.Get("Location"))
	}
	var sc *http.Cookie
	for _, c := range b.c.Jar.Cookies(mustURL(t, f.srv.URL)) {
		if c.Name == auth.SessionCookie {
			sc = c
		}
	}
	if sc == nil {
		t.Fatal("no session cookie")
	}
	home := b.do("GET", "/", nil)
	if home.status != http.StatusOK {
		t.Fatalf("overview: %d", home.status)
	}
	for _, want := range []string{"Müller GmbH", "Zentrale", "pc-&lt;b&gt;01&lt;/b&gt;", "Debian GNU/Linux 12", "st-failure", "online", "/devices/" + strconv.FormatInt(f.device.ID, 10)} {
		if !strings.Contains(home.body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(home.body, "<b>01</b>") {
		t.Error("host name not escaped")
	}

	// Logging out ends the session on the server, not just the cookie.
	if r := b.do("POST", "/logout", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Errorf("logout: %d", r.status)
	}
	b2 := f.browser(t, "en")
	b2.c.Jar.SetCookies(mustURL(t, f.srv.URL), []*http.Cookie{sc})
	if r := b2.do("GET", "/", nil); r.status != http.StatusSeeOther {
		t.Errorf("old session cookie still valid after logout: %d", r.status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCSRF(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)

	for _, tok := range []string{"", "forged"} {
		form := url.Values{"lang": {"de"}, "next": {"/"}}
		if tok != "" {
			form.Set("csrf", tok)
		}
		if r := b.do("POST", "/lang", form); r.status != http.StatusForbidden {
			t.Errorf("lang with csrf %q: %d", tok, r.status)
		}
		if r := b.do("POST", dev+"/run-checks", form); r.status != http.StatusForbidden {
			t.Errorf("run-checks with csrf %q: %d", tok, r.status)
		}
		if r := b.do("POST", "/logout", form); r.status != http.StatusForbidden {
			t.Errorf("logout with csrf %q: %d", tok, r.status)
		}
	}
	u, _ := f.st.GetUser(context.Background(), f.users[core.RoleAdmin].ID)
	if u.Lang != "" || f.cmd.count() != 0 {
		t.Errorf("forged POSTs took effect: lang %q, commands %d", u.Lang, f.cmd.count())
	}
	if r := b.do("GET", "/", nil); r.status != http.StatusOK {
		t.Errorf("session gone after forged logout: %d", r.status)
	}

	// htmx sends the token as a header.
	b.header.Set("HX-Request", "true")
	b.header.Set(auth.CSRFHeader, csrf)
	if r := b.do("POST", dev+"/run-checks", url.Values{}); r.status != http.StatusOK || !strings.Contains(r.body, "Checks requested") {
		t.Errorf("htmx run-checks: %d %s", r.status, r.body)
	}
	if f.cmd.count() != 1 {
		t.Errorf("commands: %d", f.cmd.count())
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t)
	de := f.browser(t, "de-DE,de;q=0.9,en;q=0.8")
	_, csrf := de.login("admin@example.com", testPassword)
	home := de.do("GET", "/", nil)
	if !strings.Contains(home.body, "Geräte") || !strings.Contains(home.body, `lang="de"`) || !strings.Contains(home.body, "Zuletzt gesehen") {
		t.Errorf("German browser did not get German:\n%s", home.body)
	}
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	p := de.do("GET", dev, nil)
	for _, want := range []string{"Prüfungen jetzt ausführen", "Laufwerk / ist zu 91,5 % belegt", "91,5 %", "Speicherplatz", "Fehler"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("German device page lacks %q", want)
		}
	}
	if !regexp.MustCompile(`\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}:\d{2}`).MatchString(p.body) {
		t.Error("no German date on device page")
	}

	// The switch overrides the browser and is saved for the user.
	r := de.do("POST", "/lang", url.Values{"csrf": {csrf}, "lang": {"en"}, "next": {dev}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != dev {
		t.Fatalf("switch: %d %q", r.status, r.header.Get("Location"))
	}
	p = de.do("GET", dev, nil)
	for _, want := range []string{"Run checks now", "volume / is 91.5% full", "91.5%", "Disk space", "Latest result"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("English device page lacks %q", want)
		}
	}
	if u, _ := f.st.GetUser(context.Background(), f.users[core.RoleAdmin].ID); u.Lang != "en" {
		t.Errorf("user lang = %q", u.Lang)
	}

	// Redirects stay on this server.
	r = de.do("POST", "/lang", url.Values{"csrf": {csrf}, "lang": {"de"}, "next": {"//evil.example/"}})
	if r.header.Get("Location") != "/" {
		t.Errorf("open redirect: %q", r.header.Get("Location"))
	}
	if r := de.do("POST", "/lang", url.Values{"csrf": {csrf}, "lang": {"fr"}}); r.status != http.StatusBadRequest {
		t.Errorf("unknown language: %d", r.status)
	}

	en := f.browser(t, "en-US,en;q=0.9")
	lp := en.do("GET", "/login", nil)
	if !strings.Contains(lp.body, "Sign in") {
		t.Error("English login page")
	}
	de2 := f.browser(t, "de")
	if lp := de2.do("GET", "/login", nil); !strings.Contains(lp.body, "Anmelden") {
		t.Error("German login page")
	}
}

func TestDevicePage(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)

	p := b.do("GET", dev, nil)
	for _, want := range []string{"<title>pc-&lt;b&gt;01&lt;/b&gt; · Wacht</title>", "Debian GNU/Linux 12", "CPU load is normal", "63.2%", "<code>/</code>", `id="run-checks"`, "every 5s"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("device page lacks %q", want)
		}
	}
	partial := b.do("GET", dev+"/checks", nil)
	if partial.status != http.StatusOK || strings.Contains(partial.body, "<html") || !strings.Contains(partial.body, "memory use is normal") {
		t.Errorf("checks partial: %d %s", partial.status, partial.body)
	}
	if r := b.do("GET", "/partials/devices", nil); r.status != http.StatusOK || strings.Contains(r.body, "<html") || !strings.Contains(r.body, "Zentrale") {
		t.Errorf("devices partial: %d", r.status)
	}
	if r := b.do("GET", "/devices/999999", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown device: %d", r.status)
	}

	// Without htmx, run-checks redirects back with the outcome.
	f.cmd.err = core.ErrOffline
	r := b.do("POST", dev+"/run-checks", url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != dev+"?run=offline" {
		t.Fatalf("plain run-checks: %d %q", r.status, r.header.Get("Location"))
	}
	if p := b.do("GET", dev+"?run=offline", nil); !strings.Contains(p.body, "The agent is offline") {
		t.Error("offline notice missing")
	}
	b.header.Set("HX-Request", "true")
	if r := b.do("POST", dev+"/run-checks", url.Values{"csrf": {csrf}}); !strings.Contains(r.body, "The agent is offline") {
		t.Errorf("htmx offline notice: %s", r.body)
	}
	if runs := auditOf(t, f, "device.run-checks"); len(runs) != 2 || runs[0].Actor != "user:admin@example.com" || runs[0].Detail != "offline" {
		t.Errorf("run-checks audit: %+v", runs)
	}

	// Read-only users see no button and cannot run checks.
	ro := f.browser(t, "en")
	_, rcsrf := ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", dev, nil); strings.Contains(p.body, `id="run-checks"`) {
		t.Error("read-only user sees the run-checks button")
	}
	if r := ro.do("POST", dev+"/run-checks", url.Values{"csrf": {rcsrf}}); r.status != http.StatusForbidden {
		t.Errorf("read-only run-checks: %d", r.status)
	}
	if f.cmd.count() != 2 {
		t.Errorf("commands: %d", f.cmd.count())
	}
}

func auditOf(t *testing.T, f *fixture, action string) []core.AuditEntry {
	t.Helper()
	all, err := f.st.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []core.AuditEntry
	for _, e := range all {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

func TestLoginThrottle(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en") // from 127.0.0.1
	for i := 0; i < loginMaxFailures; i++ {
		if p, _ := b.login("admin@example.com", "wrong password"); p.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, p.status)
		}
	}
	// Now even the right password is refused from here for this account...
	if p, _ := b.login("admin@example.com", testPassword); p.status != http.StatusTooManyRequests || !strings.Contains(p.body, "Too many failed sign-ins") {
		t.Errorf("throttled login: %d", p.status)
	}
	// ...but the real user, elsewhere, is not locked out...
	if p, _ := f.browserFrom(t, "en", "127.0.0.2").login("admin@example.com", testPassword); p.status != http.StatusSeeOther {
		t.Errorf("right password from another address: %d, want 303", p.status)
	}
	// ...and other accounts are not locked from here.
	if p, _ := b.login("readonly@example.com", testPassword); p.status != http.StatusSeeOther {
		t.Errorf("other account: %d", p.status)
	}
	var ok, failed []core.AuditEntry
	for _, e := range auditOf(t, f, "user.login") {
		if e.Result == core.AuditOK {
			ok = append(ok, e)
		} else {
			failed = append(failed, e)
		}
	}
	if len(ok) != 2 || ok[0].Actor != "user:readonly@example.com" || ok[1].Actor != "user:admin@example.com" {
		t.Errorf("login audit: %+v", ok)
	}
	if len(failed) != loginMaxFailures || failed[0].Result != core.AuditDenied || failed[0].Target != "account:admin@example.com" {
		t.Errorf("failed logins audited: %d, %+v", len(failed), failed)
	}
}

func TestPickLang(t *testing.T) {
	for _, c := range []struct{ user, accept, want string }{
		{"", "", "en"},
		{"", "de", "de"},
		{"", "de-AT,en;q=0.5", "de"},
		{"", "en-GB,de;q=0.9", "en"},
		{"", "fr-FR,de;q=0.8,en;q=0.5", "de"},
		{"", "en;q=0.3,de;q=0.7", "de"},
		{"", "fr", "en"},
		{"", "de;q=0", "en"},
		{"en", "de", "en"},
		{"de", "en", "de"},
		{"xx", "de", "de"},
	} {
		if got := pickLang(c.user, c.accept); got.code != c.want {
			t.Errorf("pickLang(%q, %q) = %q, want %q", c.user, c.accept, got.code, c.want)
		}
	}
}

func TestCatalogComplete(t *testing.T) {
	for key := range catalog[langEN] {
		if catalog[langDE][key] == "" {
			t.Errorf("German lacks %q", key)
		}
	}
	for key := range catalog[langDE] {
		if catalog[langEN][key] == "" {
			t.Errorf("English lacks %q", key)
		}
	}
}

func TestFormat(t *testing.T) {
	v := 91.25
	whole := 7.0
	for _, c := range []struct {
		l    Lang
		v    *float64
		unit string
		want string
	}{
		{langOf(langEN), &v, "%", "91.2%"},
		{langOf(langDE), &v, "%", "91,2 %"},
		{langOf(langEN), &whole, "GB", "7 GB"},
		{langOf(langDE), nil, "%", "–"},
	} {
		if got := c.l.Value(c.v, c.unit); got != c.want {
			t.Errorf("%s.Value(%v, %q) = %q, want %q", c.l.code, c.v, c.unit, got, c.want)
		}
	}
	ts := time.Date(2026, 3, 4, 16, 5, 6, 0, time.UTC) // 17:05:06 in Berlin, the default zone
	if got := langOf(langDE).Time(ts); got != "04.03.2026, 17:05:06" {
		t.Errorf("German time %q", got)
	}
	if got := langOf(langEN).Time(ts); got != "Mar 4, 2026, 5:05:06 PM" {
		t.Errorf("English time %q", got)
	}
	if got := langOf(langDE).Time(time.Time{}); got != "nie" {
		t.Errorf("zero time %q", got)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if got := langOf(langDE).In(ny).Time(ts); got != "04.03.2026, 11:05:06" {
		t.Errorf("German time in New York %q", got)
	}
	if got, want := langOf(langEN).In(ny).Clock(ts), "11:05:06 AM"; got != want {
		t.Errorf("English clock in New York %q, want %q", got, want)
	}
}

// A device enrolled with another's machine ID but without its key shows
// which device it may duplicate, in both languages; no role sees machine
// IDs on the page.
func TestDuplicateDeviceNotice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const machine = "machine-4f1c9e0d"
	secret := auth.NewSecret("")
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret),
		ClientID: f.device.ClientID, SiteID: f.device.SiteID}); err != nil {
		t.Fatal(err)
	}
	first := core.Device{Hostname: "pc-a", OS: "linux", MachineID: machine, PublicKey: make([]byte, 32)}
	second := core.Device{Hostname: "pc-b", OS: "linux", MachineID: machine, PublicKey: make([]byte, 32)}
	for _, d := range []*core.Device{&first, &second} {
		if err := f.st.Enroll(ctx, auth.HashSecret(secret), d, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	dev := "/devices/" + strconv.FormatInt(second.ID, 10)
	for _, c := range []struct{ email, lang, want string }{
		{"admin@example.com", "en", "Possible duplicate of device"},
		{"readonly@example.com", "de", "Mögliches Duplikat von Gerät"},
	} {
		b := f.browser(t, c.lang)
		b.login(c.email, testPassword)
		p := b.do("GET", dev, nil)
		link := fmt.Sprintf(`href="/devices/%d">#%d</a>`, first.ID, first.ID)
		if !strings.Contains(p.body, c.want) || !strings.Contains(p.body, link) {
			t.Errorf("%s: device page lacks the duplicate notice", c.email)
		}
		if strings.Contains(p.body, machine) {
			t.Errorf("%s: device page shows the machine ID", c.email)
		}
		if p := b.do("GET", "/devices/"+strconv.FormatInt(first.ID, 10), nil); strings.Contains(p.body, `id="duplicate-of"`) {
			t.Errorf("%s: the first device is marked as a duplicate", c.email)
		}
	}
}

func TestLangActor(t *testing.T) {
	for _, c := range []struct{ actor, en, de string }{
		{"user:admin@example.com", "admin@example.com", "admin@example.com"},
		{"cli", "command line", "Kommandozeile"},
		{"agent", "agent", "Agent"},
		{"something:else", "something:else", "something:else"},
	} {
		if en, de := langOf(langEN).Actor(c.actor), langOf(langDE).Actor(c.actor); en != c.en || de != c.de {
			t.Errorf("Actor(%q) = %q, %q; want %q, %q", c.actor, en, de, c.en, c.de)
		}
	}
}

// TestRunChecksProgress: an agent that starts its checks in the background
// gets a "running…" line that polls, refreshes the check table and ends
// when every check reported, or after runPollFor.
func TestRunChecksProgress(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	f.cmd.output = json.RawMessage(`{"checks":2}`)
	b.header.Set("HX-Request", "true")
	r := b.do("POST", dev+"/run-checks", url.Values{"csrf": {csrf}})
	if !strings.Contains(r.body, `id="run-progress"`) || !strings.Contains(r.body, "Running checks… 0 of 2 reported.") {
		t.Fatalf("run-checks answer: %s", r.body)
	}
	_, rest, _ := strings.Cut(r.body, `hx-get="`)
	next, _, _ := strings.Cut(rest, `"`)
	next = html.UnescapeString(next)
	if !strings.HasPrefix(next, dev+"/run-progress?since=") {
		t.Fatalf("the running line does not poll: %s", r.body)
	}
	p := b.do("GET", next, nil)
	if !strings.Contains(p.body, "0 of 2 reported") || p.header.Get("HX-Trigger") != "checks-refresh" {
		t.Errorf("poll before results: %s %v", p.body, p.header)
	}
	v := 12.0
	at := time.Now().UTC().Add(time.Second)
	if err := f.st.SaveResults(context.Background(), f.device.ID, []core.Result{
		{ID: "run-1", Check: "cpu", Status: core.StatusOK, Value: &v, Unit: "%", At: at},
	}); err != nil {
		t.Fatal(err)
	}
	if p := b.do("GET", next, nil); !strings.Contains(p.body, "1 of 2 reported") {
		t.Errorf("poll after one result: %s", p.body)
	}
	if err := f.st.SaveResults(context.Background(), f.device.ID, []core.Result{
		{ID: "run-2", Check: "memory", Status: core.StatusOK, Value: &v, Unit: "%", At: at},
	}); err != nil {
		t.Fatal(err)
	}
	p = b.do("GET", next, nil)
	if !strings.Contains(p.body, "The checks ran") || strings.Contains(p.body, "hx-get") {
		t.Errorf("poll after all results: %s", p.body)
	}
	if p := b.do("GET", dev+"/run-progress?since=x&checks=2", nil); p.status != http.StatusBadRequest {
		t.Errorf("bad since: %d", p.status)
	}
	// The line stops polling after runPollFor, saying what is missing.
	since := time.Now()
	late := runProgressView(langOf(langDE), nil, 1, since, since, 3, since.Add(runPollFor+time.Second))
	if late.Polling || late.Text != "Bisher haben 0 von 3 Prüfungen gemeldet; die anderen erscheinen in der Tabelle, sobald der Agent sie sendet." {
		t.Errorf("late: %+v", late)
	}

	// An agent whose clock is an hour behind: its results are counted by
	// the run's start on its own clock, which its answer gives.
	behind := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	f.cmd.output = json.RawMessage(fmt.Sprintf(`{"checks":1,"at":%q}`, behind.Format(time.RFC3339Nano)))
	r = b.do("POST", dev+"/run-checks", url.Values{"csrf": {csrf}})
	_, rest, _ = strings.Cut(r.body, `hx-get="`)
	next, _, _ = strings.Cut(rest, `"`)
	next = html.UnescapeString(next)
	if want := fmt.Sprintf("since=%d&", behind.UnixMilli()); !strings.Contains(next, want) {
		t.Fatalf("the poll %q does not count from the agent's clock (%s)", next, want)
	}
	if err := f.st.SaveResults(context.Background(), f.device.ID, []core.Result{
		{ID: "run-3", Check: "cpu", Status: core.StatusOK, Value: &v, Unit: "%", At: behind.Add(time.Second)},
	}); err != nil {
		t.Fatal(err)
	}
	if p := b.do("GET", next, nil); !strings.Contains(p.body, "The checks ran") {
		t.Errorf("the late clock's result was not counted: %s", p.body)
	}
}

// TestLongMessagesCollapse: a long check message is collapsed behind a
// "more"/"mehr" toggle in the check table, a short one is not.
func TestLongMessagesCollapse(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("Dienst „Druckwarteschlange“ antwortet nicht; ", 5)
	if err := f.st.SaveResults(context.Background(), f.device.ID, []core.Result{{ID: "long-1", Check: "services", Key: "spooler",
		Status: core.StatusFailure, Message: core.Text{EN: long, DE: long}, At: time.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "de")
	b.login("admin@example.com", testPassword)
	p := b.do("GET", "/devices/"+strconv.FormatInt(f.device.ID, 10), nil)
	if strings.Count(p.body, `<details class="more">`) != 1 || !strings.Contains(p.body, `<span class="more-label">mehr</span>`) {
		t.Errorf("the long message is not collapsed behind one toggle:\n%s", p.body)
	}
	if !strings.Contains(p.body, `<td class="msg">Speicherauslastung ist normal</td>`) {
		t.Errorf("a short message is not shown as it is")
	}
}

// TestSvcWord: every state word the agents' service managers send is
// translated, LSB init scripts' included; an unknown word stays as sent.
func TestSvcWord(t *testing.T) {
	de := langOf(langDE)
	for raw, want := range map[string]string{
		"running": "läuft", "inactive/dead": "gestoppt", "status unknown": "Status unbekannt",
		"dead, pid file exists": "gestoppt (PID-Datei blieb zurück)", "dead, lock file exists": "gestoppt (Sperrdatei blieb zurück)",
		"status exit code 150": "Statusabfrage endete mit Code 150", "running, PID 12": "running, PID 12",
	} {
		if got := de.SvcWord("remote.state", raw); got != want {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
}
