package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// fakeInstallers serves a generated file for every kind and arch it holds.
type fakeInstallers map[string][]byte // "kind/arch" → bytes

func (f fakeInstallers) OpenInstaller(_ context.Context, kind, arch string) (core.AgentFile, io.ReadSeekCloser, error) {
	if err := service.CheckInstallerKind(kind, arch); err != nil {
		return core.AgentFile{}, nil, err
	}
	b, ok := f[kind+"/"+arch]
	if !ok {
		return core.AgentFile{}, nil, &service.NoInstallerError{Kind: kind, Arch: arch}
	}
	return core.AgentFile{Kind: kind, Arch: arch, Version: "0.7.0", Name: "wacht-agent_0.7.0_" + arch + "." + kind,
		SHA256: "ab", Size: int64(len(b)), UploadedAt: time.Now()}, nopCloser{bytes.NewReader(b)}, nil
}

type nopCloser struct{ *bytes.Reader }

// darwinTarball is a macOS tarball as the installer builds it (one folder
// with install.sh) whose install.sh records its token and architecture in
// the folder $WACHT_TEST_OUT.
func darwinTarball(t *testing.T, arch string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	dir := "wacht-agent-0.7.0-darwin-" + arch + "/"
	script := "#!/bin/sh\nprintf %s \"$WACHT_TOKEN\" > \"$WACHT_TEST_OUT/token\"\nprintf " + arch + " > \"$WACHT_TEST_OUT/pkg\"\n"
	if err := tw.WriteHeader(&tar.Header{Name: dir, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		t.Fatal(err)
	}
	if err := tw.WriteHeader(&tar.Header{Name: dir + "install.sh", Mode: 0o755, Size: int64(len(script)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(script)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (nopCloser) Close() error { return nil }

// enrollFixture is a store with two clients, a technician scoped to the
// first, API tokens per role, and the API plus the installer route.
type enrollFixture struct {
	st           *store.DB
	svc          *service.Service
	api, agent   *httptest.Server
	own, foreign core.Site
	keys         map[string]string
}

func newEnrollFixture(t *testing.T, open func(testing.TB) *store.DB) *enrollFixture {
	t.Helper()
	ctx := context.Background()
	f := &enrollFixture{st: open(t), keys: map[string]string{}}
	var err error
	if _, f.own, err = f.st.EnsureClientSite(ctx, "Acme", "HQ"); err != nil {
		t.Fatal(err)
	}
	if _, f.foreign, err = f.st.EnsureClientSite(ctx, "Fremde AG", "Lager"); err != nil {
		t.Fatal(err)
	}
	for _, u := range []core.User{
		{Email: "admin@example.com", Role: core.RoleAdmin},
		{Email: "tech@example.com", Role: core.RoleTechnician, Scope: core.Only(f.own.ClientID)},
		{Email: "ro@example.com", Role: core.RoleReadOnly, Scope: core.Only(f.own.ClientID)},
	} {
		u.PasswordHash = "x"
		if err := f.st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		sec := auth.NewSecret(auth.APITokenPrefix)
		if err := f.st.CreateAPIToken(ctx, &core.APIToken{UserID: u.ID, Name: u.Role, Hash: auth.HashSecret(sec)}); err != nil {
			t.Fatal(err)
		}
		f.keys[u.Role] = sec
	}
	f.svc = service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost})
	src := fakeInstallers{"msi/amd64": bytes.Repeat([]byte("MSI-"), 5000), "deb/amd64": []byte("deb amd64"),
		"deb/arm64": []byte("deb arm64"), "rpm/amd64": []byte("rpm amd64"),
		"tar.gz/amd64": darwinTarball(t, "amd64"), "tar.gz/arm64": darwinTarball(t, "arm64")}
	f.api = httptest.NewServer(openapitest.Handler(t, api.NewWithInstallers(f.svc, src, nil)))
	t.Cleanup(f.api.Close)
	f.agent = httptest.NewTLSServer(openapitest.Handler(t, api.AgentInstallers(f.svc, src, nil)))
	t.Cleanup(f.agent.Close)
	fp := protocol.Fingerprint(f.agent.Certificate().Raw)
	pin, err := tlsconf.SPKIPin(f.agent.Certificate().Raw)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{service.SettingServerURL: f.agent.URL, service.SettingCertFingerprint: fp, service.SettingCertPin: pin} {
		if err := f.st.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// call sends a JSON request as role and decodes the answer into out.
func (f *enrollFixture) call(t *testing.T, role, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, f.api.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.keys[role])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

type issued struct {
	ID        int64      `json:"id"`
	Label     string     `json:"label"`
	CreatedBy string     `json:"created_by"`
	SiteID    int64      `json:"site_id"`
	MaxUses   int        `json:"max_uses"`
	ExpiresAt *time.Time `json:"expires_at"`
	Token     string     `json:"token"`
	State     string     `json:"state"`
	Commands  struct {
		Windows, Linux, MacOS string
	} `json:"commands"`
}

func TestEnrollmentTokensAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testEnrollmentTokensAPI(t, newEnrollFixture(t, e.open)) })
	}
}

func testEnrollmentTokensAPI(t *testing.T, f *enrollFixture) {
	ctx := context.Background()
	own := "/api/v1/sites/" + strconv.FormatInt(f.own.ID, 10) + "/enrollment-tokens"
	foreign := "/api/v1/sites/" + strconv.FormatInt(f.foreign.ID, 10) + "/enrollment-tokens"

	var it issued
	before := time.Now()
	if code := f.call(t, core.RoleAdmin, "POST", own, `{"label":"Intune rollout","max_uses":25}`, &it); code != http.StatusCreated {
		t.Fatalf("create: %d %+v", code, it)
	}
	tok, err := protocol.ParseToken(it.Token)
	if err != nil || tok.URL != f.agent.URL || tok.Fingerprint != protocol.Fingerprint(f.agent.Certificate().Raw) ||
		!strings.HasPrefix(tok.Secret, service.EnrollmentTokenPrefix) {
		t.Fatalf("token %+v, %v", tok, err)
	}
	if it.SiteID != f.own.ID || it.MaxUses != 25 || it.Label != "Intune rollout" || it.CreatedBy != "admin@example.com" || it.State != "active" || it.ExpiresAt == nil ||
		it.ExpiresAt.Before(before.Add(api.DefaultTokenExpiry-time.Minute)) || it.ExpiresAt.After(time.Now().Add(api.DefaultTokenExpiry)) {
		t.Errorf("created %+v", it)
	}
	for os, cmd := range map[string]string{"windows": it.Commands.Windows, "linux": it.Commands.Linux, "macos": it.Commands.MacOS} {
		if !strings.Contains(cmd, it.Token) || !strings.Contains(cmd, f.agent.URL+"/api/agent/installers/") {
			t.Errorf("%s command lacks the token or the URL: %s", os, cmd)
		}
	}
	if !strings.Contains(it.Commands.Windows, "msiexec") || !strings.Contains(it.Commands.Windows, "[WachtPin]::Callback") ||
		!strings.Contains(it.Commands.Windows, protocol.Fingerprint(f.agent.Certificate().Raw)) {
		t.Errorf("windows command: %s", it.Commands.Windows)
	}
	// The secret is stored as a hash only.
	ts, _ := f.st.ListEnrollmentTokens(ctx)
	for _, st := range ts {
		if bytes.Contains(st.SecretHash, []byte(tok.Secret)) {
			t.Error("secret stored in clear")
		}
	}

	// Bad input names the field; nothing is created.
	for body, field := range map[string]string{
		`{"max_uses":-1}`:                              "max_uses",
		`{"expires_at":"tomorrow"}`:                    "expires_at",
		`{"expires_at":"2001-01-01T00:00:00Z"}`:        "expires_at",
		`{"expires_in_hours":0}`:                       "expires_in_hours",
		`{"label":"a\u0007b"}`:                         "label",
		`{"label":"` + strings.Repeat("x", 201) + `"}`: "label",
		`{"lable":"typo"}`:                             "lable",
		`{"expires_in_hours":2,"never_expires":true}`:  "expires_at",
	} {
		var e struct {
			Code   string `json:"code"`
			Fields []struct {
				Field string `json:"field"`
			} `json:"fields"`
		}
		if code := f.call(t, core.RoleAdmin, "POST", own, body, &e); code != http.StatusBadRequest || len(e.Fields) == 0 || e.Fields[0].Field != field {
			t.Errorf("body %.60s: %d %+v, want 400 naming %s", body, code, e, field)
		}
	}
	var never issued
	if code := f.call(t, core.RoleAdmin, "POST", own, `{"label":"Laptop Meier","never_expires":true}`, &never); code != http.StatusCreated || never.ExpiresAt != nil {
		t.Errorf("never expiring: %d %+v", code, never)
	}

	// Technicians and read-only users of the client list, never create or
	// revoke; another client's site is not found.
	var list []issued
	for _, role := range []string{core.RoleAdmin, core.RoleTechnician, core.RoleReadOnly} {
		list = nil
		if code := f.call(t, role, "GET", own, "", &list); code != http.StatusOK || len(list) != 2 ||
			list[0].Label != "Laptop Meier" || list[1].Label != "Intune rollout" || list[1].CreatedBy != "admin@example.com" {
			t.Errorf("%s lists: %d %+v", role, code, list)
		}
		for _, l := range list {
			if l.Token != "" {
				t.Errorf("list shows a token string: %+v", l)
			}
		}
	}
	for _, role := range []string{core.RoleTechnician, core.RoleReadOnly} {
		if code := f.call(t, role, "POST", own, `{}`, nil); code != http.StatusForbidden {
			t.Errorf("%s creates: %d", role, code)
		}
		if code := f.call(t, role, "DELETE", "/api/v1/enrollment-tokens/"+strconv.FormatInt(it.ID, 10), "", nil); code != http.StatusForbidden {
			t.Errorf("%s revokes: %d", role, code)
		}
		if code := f.call(t, role, "GET", foreign, "", nil); code != http.StatusNotFound {
			t.Errorf("%s lists a foreign site: %d", role, code)
		}
	}
	if code := f.call(t, core.RoleAdmin, "POST", "/api/v1/sites/999999/enrollment-tokens", `{}`, nil); code != http.StatusNotFound {
		t.Errorf("unknown site: %d", code)
	}

	// Revoke: listed as revoked, audited.
	if code := f.call(t, core.RoleAdmin, "DELETE", "/api/v1/enrollment-tokens/"+strconv.FormatInt(it.ID, 10), "", nil); code != http.StatusNoContent {
		t.Fatalf("revoke: %d", code)
	}
	if code := f.call(t, core.RoleAdmin, "DELETE", "/api/v1/enrollment-tokens/999999", "", nil); code != http.StatusNotFound {
		t.Errorf("revoking an unknown token: %d", code)
	}
	list = nil
	f.call(t, core.RoleAdmin, "GET", own, "", &list)
	states := map[int64]string{}
	for _, l := range list {
		states[l.ID] = l.State
	}
	if states[it.ID] != "revoked" || states[never.ID] != "active" {
		t.Errorf("states after revoke: %v", states)
	}
	audit, err := f.st.ListAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		if strings.HasPrefix(a.Action, "token.") {
			actions = append(actions, a.Action+" "+a.Actor)
		}
	}
	if strings.Count(strings.Join(actions, ","), "token.create user:admin@example.com") != 2 ||
		strings.Count(strings.Join(actions, ","), "token.revoke user:admin@example.com") != 1 {
		t.Errorf("audit: %v", actions)
	}
}

// get downloads from the installer route with an Authorization header.
func (f *enrollFixture) get(t *testing.T, path, authz string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.agent.URL+path, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.agent.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestInstallerDownloadByToken(t *testing.T) {
	f := newEnrollFixture(t, storetest.NewSQLite)
	ctx := context.Background()
	u := core.User{ID: 1, Email: "admin@example.com", Role: core.RoleAdmin, Scope: core.AllClients}
	mk := func(st service.SiteToken) service.IssuedToken {
		it, err := f.svc.CreateSiteEnrollmentToken(ctx, u, f.own.ID, st)
		if err != nil {
			t.Fatal(err)
		}
		return it
	}
	soon := time.Now().Add(time.Hour)
	active := mk(service.SiteToken{Label: "active", MaxUses: 1, ExpiresAt: &soon})
	revoked := mk(service.SiteToken{Label: "revoked"})
	if err := f.svc.RevokeEnrollmentToken(ctx, u, revoked.ID); err != nil {
		t.Fatal(err)
	}
	expiring := time.Now().Add(50 * time.Millisecond)
	expired := mk(service.SiteToken{Label: "expired", ExpiresAt: &expiring})
	usedUp := mk(service.SiteToken{Label: "used up", MaxUses: 1})
	tok, _ := protocol.ParseToken(usedUp.Token)
	d := core.Device{Hostname: "pc", OS: "linux", MachineID: "m", PublicKey: make([]byte, 32)}
	if err := f.st.Enroll(ctx, auth.HashSecret(tok.Secret), &d, time.Now()); err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(expiring) {
		time.Sleep(10 * time.Millisecond)
	}

	// The full token string and the bare secret both work, repeatedly: no
	// use is consumed.
	secret, _ := protocol.ParseToken(active.Token)
	for _, a := range []string{"Bearer " + active.Token, "Bearer " + secret.Secret, secret.Secret, "Bearer " + active.Token} {
		resp, body := f.get(t, "/api/agent/installers/msi/amd64", a)
		if resp.StatusCode != http.StatusOK || len(body) != 20000 || resp.Header.Get("Content-Length") != "20000" ||
			resp.Header.Get("Content-Disposition") != `attachment; filename=wacht-agent_0.7.0_amd64.msi` {
			t.Fatalf("download with %.20q: %d %d bytes, %v", a, resp.StatusCode, len(body), resp.Header)
		}
	}
	ts, _ := f.st.ListEnrollmentTokens(ctx)
	for _, st := range ts {
		if st.ID == active.ID && st.Uses != 0 {
			t.Errorf("downloads consumed %d uses", st.Uses)
		}
	}
	// Range requests resume a download.
	resp, body := f.get(t, "/api/agent/installers/msi/amd64", "Bearer "+active.Token, "Range", "bytes=19996-")
	if resp.StatusCode != http.StatusPartialContent || string(body) != "MSI-" {
		t.Errorf("range: %d %q", resp.StatusCode, body)
	}

	for _, c := range []struct {
		name, authz, path string
		status            int
		code              string
	}{
		{"none", "", "/api/agent/installers/msi/amd64", 401, "token_unknown"},
		{"unknown", "Bearer wet_nope", "/api/agent/installers/msi/amd64", 401, "token_unknown"},
		{"garbled", "Bearer wacht1_%%%", "/api/agent/installers/msi/amd64", 401, "token_unknown"},
		{"revoked", "Bearer " + revoked.Token, "/api/agent/installers/msi/amd64", 403, "token_revoked"},
		{"expired", "Bearer " + expired.Token, "/api/agent/installers/msi/amd64", 403, "token_expired"},
		{"used up", "Bearer " + usedUp.Token, "/api/agent/installers/msi/amd64", 403, "token_used_up"},
		{"not published", "Bearer " + active.Token, "/api/agent/installers/rpm/arm64", 404, "no_installer"},
		{"bad kind", "Bearer " + active.Token, "/api/agent/installers/exe/amd64", 400, "invalid"},
		{"bad arch", "Bearer " + active.Token, "/api/agent/installers/deb/mips", 400, "invalid"},
	} {
		resp, body := f.get(t, c.path, c.authz)
		var e protocol.ErrorResponse
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode != c.status || e.Code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, resp.StatusCode, body, c.status, c.code)
		}
		if c.code == "no_installer" && !strings.Contains(e.Error, "no installer published for rpm/arm64; run `wacht release publish`") {
			t.Errorf("not published: %q", e.Error)
		}
		if c.code == "invalid" && !strings.Contains(e.Error, strings.Split(c.path, "/")[4]) && !strings.Contains(e.Error, strings.Split(c.path, "/")[5]) {
			t.Errorf("%s: %q does not name the bad part", c.name, e.Error)
		}
	}

	// Signed-in users download through the API with their API token.
	req, _ := http.NewRequest("GET", f.api.URL+"/api/v1/installers/deb/arm64", nil)
	req.Header.Set("Authorization", "Bearer "+f.keys[core.RoleReadOnly])
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if r2.StatusCode != http.StatusOK || string(b2) != "deb arm64" {
		t.Errorf("user download: %d %q", r2.StatusCode, b2)
	}
	req, _ = http.NewRequest("GET", f.api.URL+"/api/v1/installers/deb/arm64", nil)
	req.Header.Set("Authorization", "Bearer "+active.Token)
	if r3, err := http.DefaultClient.Do(req); err != nil || r3.StatusCode != http.StatusUnauthorized {
		t.Errorf("enrollment token on the user route: %v %v", r3, err)
	}
}

// TestInstallerDownloadRateLimited: a source with too many failed tokens
// gets 429, even with a valid one, until the window passed.
func TestInstallerDownloadRateLimited(t *testing.T) {
	f := newEnrollFixture(t, storetest.NewSQLite)
	for i := 0; i < 10; i++ {
		if resp, _ := f.get(t, "/api/agent/installers/msi/amd64", fmt.Sprintf("Bearer wet_guess%d", i)); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
	}
	if resp, _ := f.get(t, "/api/agent/installers/msi/amd64", "Bearer wet_guess"); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("11th guess: %d", resp.StatusCode)
	}
}

// TestLinuxCommandPinsCertificate runs the Linux one-liner the API hands
// out with the real curl against the installer route over TLS, with dpkg
// replaced by a script that records what it was given, and the macOS one
// with a tarball whose install.sh does the same; with a wrong pin curl
// refuses the server and nothing is installed.
func TestLinuxCommandPinsCertificate(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Linux command runs on Linux")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("curl is not installed")
		}
		t.Skip("curl is not installed")
	}
	f := newEnrollFixture(t, storetest.NewSQLite)
	u := core.User{ID: 1, Email: "admin@example.com", Role: core.RoleAdmin, Scope: core.AllClients}
	it, err := f.svc.CreateSiteEnrollmentToken(context.Background(), u, f.own.ID, service.SiteToken{Label: "curl"})
	if err != nil {
		t.Fatal(err)
	}
	run := func(cmd string) (string, string, error) {
		dir := t.TempDir()
		shim := filepath.Join(dir, "bin")
		if err := os.Mkdir(shim, 0o755); err != nil {
			t.Fatal(err)
		}
		script := "#!/bin/sh\n[ \"$1\" = -i ] || exit 9\nprintf %s \"$WACHT_TOKEN\" > " + dir + "/token\ncp \"$2\" " + dir + "/pkg\n"
		if err := os.WriteFile(filepath.Join(shim, "dpkg"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		c := exec.Command("sh", "-c", cmd)
		c.Env = append(os.Environ(), "PATH="+shim+":"+os.Getenv("PATH"), "WACHT_TEST_OUT="+dir)
		out, err := c.CombinedOutput()
		tok, _ := os.ReadFile(filepath.Join(dir, "token"))
		pkg, _ := os.ReadFile(filepath.Join(dir, "pkg"))
		if err != nil {
			return "", "", fmt.Errorf("%v: %s", err, out)
		}
		return string(tok), string(pkg), nil
	}
	arch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH]
	tok, pkg, err := run(it.Commands.Linux)
	if err != nil {
		t.Fatal(err)
	}
	if tok != it.Token || pkg != "deb "+arch {
		t.Errorf("dpkg got token %q and package %q", tok, pkg)
	}

	// The macOS command on this machine: the tarball for its architecture,
	// its install.sh run with the token.
	tok, pkg, err = run(it.Commands.MacOS)
	if err != nil {
		t.Fatal(err)
	}
	if tok != it.Token || pkg != arch {
		t.Errorf("install.sh got token %q for %q", tok, pkg)
	}

	wrong := it.Server
	wrong.Pin = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
	if _, _, err := run(service.Commands(wrong, it.Token).Linux); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Errorf("the command with another pin: %v, want curl's pinned key mismatch", err)
	}
	// A failing command ends itself, not the shell it was pasted into.
	out, err := exec.Command("sh", "-c", service.Commands(wrong, it.Token).Linux+"; echo still here").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "still here") {
		t.Errorf("the shell did not survive a failed command: %v %s", err, out)
	}
}
