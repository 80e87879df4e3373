package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// fakeCommander records commands and answers with err, or res.
type fakeCommander struct {
	mu    sync.Mutex
	calls []protocol.Command
	ids   []int64
	res   protocol.CommandResult
	err   error
}

func (f *fakeCommander) Command(_ context.Context, id int64, cmd protocol.Command) (protocol.CommandResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, cmd)
	f.ids = append(f.ids, id)
	return f.res, f.err
}

type fixture struct {
	st     *store.DB
	cmd    *fakeCommander
	srv    *httptest.Server
	device core.Device
	tokens map[string]string // name → secret
}

// engines are the stores the tests that touch SQL run against; PostgreSQL
// skips unless WACHT_TEST_POSTGRES is set.
var engines = []struct {
	name string
	open func(testing.TB) *store.DB
}{{"sqlite", storetest.NewSQLite}, {"postgres", storetest.NewPostgres}}

// enroll enrolls a device at site through a fresh enrollment token.
func enroll(t testing.TB, st *store.DB, site core.Site, hostname string, now time.Time) core.Device {
	t.Helper()
	ctx := context.Background()
	secret := auth.NewSecret("")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	d := core.Device{Hostname: hostname, OS: "linux", Platform: "Debian GNU/Linux 12", Arch: "amd64", MachineID: "m-" + hostname, PublicKey: make([]byte, 32), AgentVersion: "0.1.0"}
	if err := st.Enroll(ctx, auth.HashSecret(secret), &d, now); err != nil {
		t.Fatal(err)
	}
	return d
}

func newFixture(t *testing.T) *fixture { return newFixtureOn(t, storetest.NewSQLite) }

func newFixtureOn(t *testing.T, open func(testing.TB) *store.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	st := open(t)
	f := &fixture{st: st, cmd: &fakeCommander{res: protocol.CommandResult{OK: true}}, tokens: map[string]string{}}

	now := time.Now().UTC().Truncate(time.Millisecond)
	_, site, err := st.EnsureClientSite(ctx, "Acme", "HQ")
	if err != nil {
		t.Fatal(err)
	}
	d := enroll(t, st, site, "pc-01", now)
	if err := st.TouchDevice(ctx, d.ID, now, "0.1.0"); err != nil {
		t.Fatal(err)
	}
	v := 42.5
	if err := st.SaveResults(ctx, d.ID, []core.Result{
		{ID: "r1", Check: "disk", Key: "/", Status: core.StatusWarning, Value: &v, Unit: "%", Message: core.Text{EN: "disk 42.5% full", DE: "Datenträger zu 42,5 % belegt"}, At: now},
		{ID: "r2", Check: "cpu", Status: core.StatusOK, At: now},
	}); err != nil {
		t.Fatal(err)
	}
	f.device = d

	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	for _, u := range []struct {
		email, role, token string
		expires, revoked   *time.Time
	}{
		{"admin@example.com", core.RoleAdmin, "admin", &future, nil},
		{"tech@example.com", core.RoleTechnician, "tech", nil, nil},
		{"ro@example.com", core.RoleReadOnly, "readonly", nil, nil},
		{"old@example.com", core.RoleAdmin, "expired", &past, nil},
		{"gone@example.com", core.RoleAdmin, "revoked", nil, &past},
	} {
		user := core.User{Email: u.email, PasswordHash: "x", Role: u.role}
		if err := st.CreateUser(ctx, &user); err != nil {
			t.Fatal(err)
		}
		sec := auth.NewSecret(auth.APITokenPrefix)
		tok := core.APIToken{UserID: user.ID, Name: u.token, Hash: auth.HashSecret(sec), ExpiresAt: u.expires}
		if err := st.CreateAPIToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		if u.revoked != nil {
			if err := st.RevokeAPIToken(ctx, tok.ID, *u.revoked); err != nil {
				t.Fatal(err)
			}
		}
		f.tokens[u.token] = sec
	}

	f.srv = httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: f.cmd}), nil)))
	t.Cleanup(f.srv.Close)
	return f
}

// do sends a request with the named token ("" for none) and decodes the
// JSON answer into out (if not nil).
func (f *fixture) do(t *testing.T, method, path, token string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, body, err)
		}
	}
	return resp.StatusCode
}

func TestUnauthorized(t *testing.T) {
	f := newFixture(t)
	dev := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10)
	for _, tok := range []string{"", "expired", "revoked", "unknown"} {
		for _, p := range []string{"/api/v1/devices", dev, dev + "/checks", "/api/v1/nope"} {
			var e protocol.ErrorResponse
			if code := f.do(t, "GET", p, tok, &e); code != http.StatusUnauthorized || e.Error == "" || e.Code != "unauthorized" {
				t.Errorf("GET %s with token %q: %d %+v, want 401 with error body", p, tok, code, e)
			}
		}
		var e protocol.ErrorResponse
		if code := f.do(t, "POST", dev+"/run-checks", tok, &e); code != http.StatusUnauthorized {
			t.Errorf("POST run-checks with token %q: %d", tok, code)
		}
	}
	if len(f.cmd.calls) != 0 {
		t.Errorf("commander called without authentication: %v", f.cmd.calls)
	}
}

func TestDevices(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testDevices(t, newFixtureOn(t, e.open)) })
	}
}

func testDevices(t *testing.T, f *fixture) {
	var list []map[string]any
	if code := f.do(t, "GET", "/api/v1/devices", "readonly", &list); code != http.StatusOK {
		t.Fatalf("list: %d", code)
	}
	if len(list) != 1 {
		t.Fatalf("got %d devices", len(list))
	}
	d := list[0]
	if d["hostname"] != "pc-01" || d["online"] != true || d["worst_status"] != "warning" || d["client_name"] != "Acme" || d["site_name"] != "HQ" {
		t.Errorf("device JSON: %v", d)
	}
	if _, leaked := d["public_key"]; leaked {
		t.Error("public key in JSON")
	}

	var one map[string]any
	path := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10)
	if code := f.do(t, "GET", path, "admin", &one); code != http.StatusOK {
		t.Fatalf("get: %d", code)
	}
	if one["id"] != float64(f.device.ID) || one["online"] != true || one["platform"] != "Debian GNU/Linux 12" {
		t.Errorf("device JSON: %v", one)
	}

	if one["machine_id"] != "m-pc-01" {
		t.Errorf("admin sees machine_id %v, want m-pc-01", one["machine_id"])
	}
	// Readonly users never see machine IDs (issue 12, M4), in the list or
	// for one device; technicians do.
	if _, shown := d["machine_id"]; shown {
		t.Errorf("readonly device list shows machine_id %v", d["machine_id"])
	}
	var ro, tech map[string]any
	f.do(t, "GET", path, "readonly", &ro)
	f.do(t, "GET", path, "tech", &tech)
	if _, shown := ro["machine_id"]; shown || tech["machine_id"] != "m-pc-01" {
		t.Errorf("machine_id: readonly sees %v, technician %v", ro["machine_id"], tech["machine_id"])
	}

	var checks []core.CheckState
	if code := f.do(t, "GET", path+"/checks", "tech", &checks); code != http.StatusOK {
		t.Fatalf("checks: %d", code)
	}
	if len(checks) != 2 {
		t.Fatalf("got %d checks: %+v", len(checks), checks)
	}
	var disk *core.CheckState
	for i := range checks {
		if checks[i].Name == "disk" {
			disk = &checks[i]
		}
	}
	if disk == nil || disk.Key != "/" || disk.Status != core.StatusWarning || disk.Value == nil || *disk.Value != 42.5 ||
		disk.Unit != "%" || disk.Message.DE == "" || disk.At.IsZero() {
		t.Errorf("disk check: %+v", disk)
	}
}

func TestDeviceOffline(t *testing.T) {
	f := newFixture(t)
	_, site, err := f.st.EnsureClientSite(context.Background(), "Acme", "HQ")
	if err != nil {
		t.Fatal(err)
	}
	d := enroll(t, f.st, site, "pc-02", time.Now())
	var one map[string]any
	f.do(t, "GET", "/api/v1/devices/"+strconv.FormatInt(d.ID, 10), "admin", &one)
	if one["online"] != false || one["hostname"] != "pc-02" {
		t.Errorf("device never heard from is online: %v", one)
	}
	if err := f.st.TouchDevice(context.Background(), d.ID, time.Now().Add(-time.Hour), "0.1.0"); err != nil {
		t.Fatal(err)
	}
	f.do(t, "GET", "/api/v1/devices/"+strconv.FormatInt(d.ID, 10), "admin", &one)
	if one["online"] != false {
		t.Errorf("device last seen an hour ago is online: %v", one)
	}
}

func TestNotFoundAndInvalid(t *testing.T) {
	f := newFixture(t)
	for p, want := range map[string]int{
		"/api/v1/devices/999999":        http.StatusNotFound,
		"/api/v1/devices/999999/checks": http.StatusNotFound,
		"/api/v1/devices/abc":           http.StatusBadRequest,
		"/api/v1/devices/-1/checks":     http.StatusBadRequest,
		"/api/v1/nope":                  http.StatusNotFound,
	} {
		var e protocol.ErrorResponse
		if code := f.do(t, "GET", p, "admin", &e); code != want || e.Error == "" {
			t.Errorf("GET %s: %d %+v, want %d", p, code, e, want)
		}
	}
	var e protocol.ErrorResponse
	if code := f.do(t, "POST", "/api/v1/devices/999999/run-checks", "admin", &e); code != http.StatusNotFound {
		t.Errorf("run-checks on unknown device: %d", code)
	}
	if code := f.do(t, "DELETE", "/api/v1/devices/1", "admin", nil); code != http.StatusMethodNotAllowed && code != http.StatusNotFound {
		t.Errorf("DELETE: %d", code)
	}
}

func TestRunChecks(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testRunChecks(t, newFixtureOn(t, e.open)) })
	}
}

func testRunChecks(t *testing.T, f *fixture) {
	ctx := context.Background()
	path := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10) + "/run-checks"

	var res protocol.CommandResult
	if code := f.do(t, "POST", path, "tech", &res); code != http.StatusOK || !res.OK {
		t.Fatalf("run-checks: %d %+v", code, res)
	}
	if len(f.cmd.calls) != 1 || f.cmd.calls[0].Name != protocol.CommandRunChecks || f.cmd.ids[0] != f.device.ID {
		t.Fatalf("commander calls: %+v %v", f.cmd.calls, f.cmd.ids)
	}
	audit, err := f.st.ListAudit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Actor != "user:tech@example.com" || audit[0].Action != "device.run-checks" ||
		!strings.Contains(audit[0].Target, strconv.FormatInt(f.device.ID, 10)) {
		t.Errorf("audit: %+v", audit)
	}

	// Read-only users may not; nothing is sent.
	var e protocol.ErrorResponse
	if code := f.do(t, "POST", path, "readonly", &e); code != http.StatusForbidden || e.Code != "forbidden" {
		t.Errorf("readonly: %d %+v", code, e)
	}
	if len(f.cmd.calls) != 1 {
		t.Errorf("readonly user reached the agent")
	}

	// An unconnected agent is a conflict with a clear message.
	f.cmd.err = core.ErrOffline
	e = protocol.ErrorResponse{}
	if code := f.do(t, "POST", path, "admin", &e); code != http.StatusConflict || e.Code != "offline" || !strings.Contains(e.Error, "offline") {
		t.Errorf("offline: %d %+v", code, e)
	}
	// The refused attempt and the offline one are audited too.
	audit, _ = f.st.ListAudit(ctx, 10)
	if len(audit) != 3 || audit[1].Action != "access.denied" || audit[1].Result != core.AuditDenied ||
		audit[0].Detail != "offline" || audit[0].Result != core.AuditFailed {
		t.Errorf("refused and offline attempts not audited: %+v", audit)
	}
}
