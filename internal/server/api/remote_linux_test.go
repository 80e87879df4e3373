package api_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

type idleCheck struct{}

func (idleCheck) Run(_ context.Context, r check.Reporter) error {
	r.Report(check.Result{Status: core.StatusOK, Message: core.Text{EN: "ok", DE: "ok"}})
	return nil
}

// remoteWorld is the JSON API over a real gateway (signing with a real
// action key) and real agents enrolled through it, all on loopback: one
// agent of client "Müller GmbH" and, if asked, one of the same client
// whose owner locked exec. Users: an administrator, a technician and a
// read-only user of Müller GmbH, and a technician of another client.
type remoteWorld struct {
	st      *store.DB
	api     *httptest.Server
	hub     *gateway.Hub
	dev     int64 // the agent's device
	locked  int64 // the device with exec locked; 0 if not asked
	svcRoot string
	tokens  map[string]string
	handler http.Handler // the API
}

func newRemoteWorld(t testing.TB, open func(testing.TB) *store.DB, withLocked bool) *remoteWorld {
	t.Helper()
	ctx := context.Background()
	st := open(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	gw := gateway.New(gateway.Options{Store: st, ActionKey: actionkey.NewSigner(key, nil)})
	gsrv := httptest.NewTLSServer(gw)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		gw.Hub().Shutdown(sctx)
		gsrv.Close()
	})
	w := &remoteWorld{st: st, hub: gw.Hub(), tokens: map[string]string{}}
	own, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Hannover")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := st.EnsureClientSite(ctx, "Andere AG", "Lager")
	if err != nil {
		t.Fatal(err)
	}

	// A SysV service manager in a temporary folder, with svcmgr's test
	// script; the agent's local allowlist allows running it.
	w.svcRoot = t.TempDir()
	m := &svcmgr.SysV{InitDir: filepath.Join(w.svcRoot, "init.d"), RCDirs: []string{filepath.Join(w.svcRoot, "rc2.d")},
		Timeout: 20 * time.Second, StopWait: 2 * time.Second}
	for _, d := range []string{m.InitDir, m.RCDirs[0]} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile("../../platform/svcmgr/testdata/wachttest.init")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.InitDir, "wachttest"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(w.svcRoot, "wachttest.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	startAgent := func(disable []string) int64 {
		secret := auth.NewSecret("wet_")
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site.ID}); err != nil {
			t.Fatal(err)
		}
		tok := protocol.Token{URL: gsrv.URL, Fingerprint: protocol.Fingerprint(gsrv.Certificate().Raw), Secret: secret}
		dir := t.TempDir()
		er, err := agent.Enroll(ctx, tok.String(), "", dir, false)
		if err != nil {
			t.Fatal(err)
		}
		if disable != nil {
			if err := agent.SetDisabled(dir, disable); err != nil {
				t.Fatal(err)
			}
		}
		cfg, err := agent.LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Allow.Executables = []string{w.svcRoot}
		if err := agent.SaveConfig(dir, cfg); err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Options{DataDir: dir, Checks: []agent.NamedCheck{{Name: "ok", Check: idleCheck{}}}, Interval: time.Hour,
			BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
			Services: func(context.Context) (svcmgr.Manager, error) { return m, nil }})
		if err != nil {
			t.Fatal(err)
		}
		actx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.Run(actx); close(done) }()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("agent did not stop")
			}
		})
		waitFor(t, "agent connected", func() bool { return w.hub.Connected(er.DeviceID) })
		return er.DeviceID
	}
	w.dev = startAgent(nil)
	if withLocked {
		w.locked = startAgent([]string{protocol.LockExec})
	}

	for _, u := range []struct {
		email, role string
		scope       core.Scope
	}{
		{"admin@example.com", core.RoleAdmin, core.Scope{}},
		{"tech@example.com", core.RoleTechnician, core.Only(own.ID)},
		{"ro@example.com", core.RoleReadOnly, core.Only(own.ID)},
		{"fremd@example.com", core.RoleTechnician, core.Only(other.ID)},
	} {
		user := core.User{Email: u.email, PasswordHash: "x", Role: u.role, Scope: u.scope}
		if err := st.CreateUser(ctx, &user); err != nil {
			t.Fatal(err)
		}
		sec := auth.NewSecret(auth.APITokenPrefix)
		if err := st.CreateAPIToken(ctx, &core.APIToken{UserID: user.ID, Name: "t", Hash: auth.HashSecret(sec)}); err != nil {
			t.Fatal(err)
		}
		w.tokens[strings.Split(u.email, "@")[0]] = sec
	}
	w.handler = api.New(service.New(service.Deps{Store: st, Commander: gw.Hub()}), nil)
	w.api = httptest.NewServer(openapitest.Handler(t, w.handler))
	t.Cleanup(w.api.Close)
	return w
}

// waitFor polls cond; a hang guard, not a timing assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// call sends a JSON request as the user named by who and decodes the answer
// into out (if not nil); it returns the status and the raw body.
func (w *remoteWorld) call(t testing.TB, who, method, path, body string, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.api.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.tokens[who])
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// refusal is an error body with its reason.
type refusal struct {
	Error   string    `json:"error"`
	Code    string    `json:"code"`
	Message core.Text `json:"message"`
}

func decodeRefusal(t *testing.T, body string) refusal {
	t.Helper()
	var r refusal
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return r
}

// gone reports whether process pid has ended (no longer exists, or is a
// zombie waiting to be collected).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return strings.HasPrefix(rest, "Z")
}

// TestRemoteOpsEndToEnd drives the command line, processes and services of
// a real agent through the JSON API, a real gateway and signed actions, on
// SQLite and (when WACHT_TEST_POSTGRES is set) PostgreSQL.
func TestRemoteOpsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real agents and a gateway on loopback; not in -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("sh, /proc and SysV scripts")
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testRemoteOps(t, newRemoteWorld(t, e.open, true)) })
	}
}

func testRemoteOps(t *testing.T, w *remoteWorld) {
	dev := "/api/v1/devices/" + strconv.FormatInt(w.dev, 10)

	// The command line: umlauts arrive intact, the exit code and stderr
	// are the command's.
	var res protocol.ExecResult
	if st, body := w.call(t, "tech", "POST", dev+"/exec", `{"shell":"sh","command":"echo Grüße; echo fehlt >&2; exit 3","timeout_seconds":30}`, &res); st != 200 {
		t.Fatalf("exec: %d %s", st, body)
	}
	if res.ExitCode != 3 || res.Stdout != "Grüße\n" || res.Stderr != "fehlt\n" || res.Truncated || res.TimedOut {
		t.Errorf("exec = %+v", res)
	}
	res = protocol.ExecResult{}
	if st, body := w.call(t, "admin", "POST", dev+"/exec", `{"command":"echo Grüße"}`, &res); st != 200 || res.ExitCode != 0 || res.Stdout != "Grüße\n" {
		t.Errorf("exec with the default shell: %d %s", st, body)
	}
	// A command that outlives its time limit is ended and reported so.
	res = protocol.ExecResult{}
	if st, body := w.call(t, "tech", "POST", dev+"/exec", `{"shell":"sh","command":"sleep 120","timeout_seconds":1}`, &res); st != 200 || !res.TimedOut || res.ExitCode != -1 {
		t.Errorf("timeout: %d %s", st, body)
	}
	// A command may outlast the server's write timeout (wacht serve: 2
	// minutes; here 1 s) by as long as its own time limit.
	slow := httptest.NewUnstartedServer(w.handler)
	slow.Config.WriteTimeout = time.Second
	slow.Start()
	defer slow.Close()
	saved := w.api.URL
	w.api.URL = slow.URL
	res = protocol.ExecResult{}
	st, body := w.call(t, "tech", "POST", dev+"/exec", `{"shell":"sh","command":"sleep 2; echo spät","timeout_seconds":10}`, &res)
	w.api.URL = saved
	if st != 200 || res.Stdout != "spät\n" {
		t.Errorf("a command longer than the write timeout: %d %s", st, body)
	}

	// Invalid input is refused field by field before the device sees it.
	if st, body := w.call(t, "tech", "POST", dev+"/exec", `{"shell":"cmd","command":"","timeout_seconds":7200}`, nil); st != 400 ||
		!strings.Contains(body, `"field": "shell"`) || !strings.Contains(body, `"field": "command"`) || !strings.Contains(body, `"field": "timeout_seconds"`) {
		t.Errorf("invalid exec: %d %s", st, body)
	}

	// Who may: read-only never, a technician of another client does not
	// even learn that the device exists.
	if st, body := w.call(t, "ro", "POST", dev+"/exec", `{"command":"id"}`, nil); st != 403 || decodeRefusal(t, body).Code != "forbidden" {
		t.Errorf("read-only exec: %d %s", st, body)
	}
	if st, _ := w.call(t, "ro", "GET", dev+"/processes", "", nil); st != 403 {
		t.Errorf("read-only processes: %d", st)
	}
	for p, b := range map[string]string{"/exec": `{"command":"id"}`, "/processes/1/kill": "", "/services/wachttest/start": ""} {
		if st, body := w.call(t, "fremd", "POST", dev+p, b, nil); st != 404 || decodeRefusal(t, body).Code != "not_found" {
			t.Errorf("foreign technician %s: %d %s", p, st, body)
		}
	}
	if st, _ := w.call(t, "fremd", "GET", dev+"/services", "", nil); st != 404 {
		t.Errorf("foreign technician services: %d", st)
	}

	// The local lock: the device's owner disabled exec.
	locked := "/api/v1/devices/" + strconv.FormatInt(w.locked, 10)
	st, body = w.call(t, "tech", "POST", locked+"/exec", `{"command":"touch /tmp/wacht-should-not-exist"}`, nil)
	if r := decodeRefusal(t, body); st != 403 || r.Code != "disabled_locally" || !strings.Contains(r.Message.EN, "disabled on this device") || !strings.Contains(r.Message.DE, "gesperrt") {
		t.Errorf("locked exec: %d %s", st, body)
	}
	if st, body := w.call(t, "tech", "GET", locked+"/processes", "", nil); st != 200 {
		t.Errorf("processes of the device with only exec locked: %d %s", st, body)
	}

	// Two-factor sign-in demanded for remote actions.
	if st, body := w.call(t, "admin", "PUT", "/api/v1/settings/remote", `{"require_2fa":true,"recording_retention_days":30}`, nil); st != 200 {
		t.Fatalf("remote settings: %d %s", st, body)
	}
	st, body = w.call(t, "tech", "POST", dev+"/exec", `{"command":"id"}`, nil)
	if r := decodeRefusal(t, body); st != 403 || r.Code != "remote_2fa_required" || r.Message.DE == "" {
		t.Errorf("exec without 2FA: %d %s", st, body)
	}
	if st, body := w.call(t, "admin", "PUT", "/api/v1/settings/remote", `{"require_2fa":false,"recording_retention_days":30}`, nil); st != 200 {
		t.Fatalf("remote settings: %d %s", st, body)
	}

	// Processes: one this test started is listed, and ended through the
	// API without naming its start time (the server looks it up).
	sleeper := exec.Command("sleep", "300")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	var list protocol.ProcessList
	if st, body := w.call(t, "tech", "GET", dev+"/processes", "", &list); st != 200 {
		t.Fatalf("processes: %d %s", st, body)
	}
	i := slices.IndexFunc(list.Processes, func(p protocol.Process) bool { return int(p.PID) == sleeper.Process.Pid })
	if i < 0 || list.Processes[i].Name != "sleep" || list.Processes[i].StartTime == 0 || !strings.Contains(list.Processes[i].Cmdline, "300") {
		t.Fatalf("the test's sleep %d is not listed right: %+v", sleeper.Process.Pid, list.Processes[max(i, 0)])
	}
	var killed protocol.ProcessKillResult
	if st, body := w.call(t, "tech", "POST", fmt.Sprintf("%s/processes/%d/kill", dev, sleeper.Process.Pid), "", &killed); st != 200 ||
		!slices.Equal(killed.Ended, []int32{int32(sleeper.Process.Pid)}) {
		t.Errorf("kill: %d %s", st, body)
	}
	if err := sleeper.Wait(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("the sleep ended with %v, want terminated by a signal", err)
	}
	if st, body := w.call(t, "tech", "POST", fmt.Sprintf("%s/processes/%d/kill", dev, sleeper.Process.Pid), "", nil); st != 404 || decodeRefusal(t, body).Message.DE == "" {
		t.Errorf("killing the ended process again: %d %s", st, body)
	}

	// A process tree, named as listed (PID and start time).
	tree := exec.Command("sh", "-c", "sleep 301 & sleep 302; wait")
	if err := tree.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tree.Process.Kill(); tree.Wait() })
	var kids []int32
	var start int64
	waitFor(t, "the tree's children", func() bool {
		list = protocol.ProcessList{}
		w.call(t, "tech", "GET", dev+"/processes", "", &list)
		kids = nil
		for _, p := range list.Processes {
			if int(p.PPID) == tree.Process.Pid {
				kids = append(kids, p.PID)
			}
			if int(p.PID) == tree.Process.Pid {
				start = p.StartTime
			}
		}
		return len(kids) == 2
	})
	killed = protocol.ProcessKillResult{}
	if st, body := w.call(t, "tech", "POST", fmt.Sprintf("%s/processes/%d/kill?tree=true", dev, tree.Process.Pid), fmt.Sprintf(`{"start_time":%d}`, start), &killed); st != 200 || len(killed.Ended) != 3 {
		t.Errorf("kill tree: %d %s", st, body)
	}
	tree.Wait()
	for _, k := range kids {
		if !gone(int(k)) {
			t.Errorf("child %d of the tree still runs", k)
		}
	}

	// Services: a real SysV init script, started and stopped.
	var svcs protocol.ServiceList
	if st, body := w.call(t, "tech", "GET", dev+"/services", "", &svcs); st != 200 || svcs.Manager != "sysv" || len(svcs.Services) != 1 ||
		svcs.Services[0].Name != "wachttest" || svcs.Services[0].Description != "Wacht-Testdienst für Größen" || svcs.Services[0].Running {
		t.Fatalf("services: %d %s", st, body)
	}
	for _, op := range []string{"start", "restart", "stop"} {
		var sc protocol.ServiceControlResult
		if st, body := w.call(t, "tech", "POST", dev+"/services/wachttest/"+op, "", &sc); st != 200 || sc.Service.Running != (op != "stop") {
			t.Errorf("%s: %d %s", op, st, body)
		}
	}
	if st, body := w.call(t, "tech", "POST", dev+"/services/fehlt/start", "", nil); st != 404 || !strings.Contains(decodeRefusal(t, body).Message.DE, "fehlt") {
		t.Errorf("unknown service: %d %s", st, body)
	}
	if st, body := w.call(t, "tech", "PUT", dev+"/services/wachttest/start-type", `{"start_type":"disabled"}`, nil); st != 409 || decodeRefusal(t, body).Code != "unsupported" {
		t.Errorf("start type of an init script: %d %s", st, body)
	}
	if st, _ := w.call(t, "tech", "POST", dev+"/services/wachttest/explode", "", nil); st != 404 {
		t.Errorf("unknown operation: %d", st)
	}

	// Every action is in the audit log with who, from where and the
	// outcome; lists are not.
	es, err := w.st.QueryAudit(context.Background(), core.AuditQuery{Action: "device."})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	var seen []string
	for _, e := range es {
		if e.Action == "device.enroll" {
			continue
		}
		count[e.Action+" "+e.Result]++
		seen = append(seen, e.Action+" "+e.Result+" "+e.Detail)
		if e.Remote == "" || !strings.HasPrefix(e.Actor, "user:") {
			t.Errorf("audit entry without caller or address: %+v", e)
		}
	}
	want := map[string]int{
		"device.exec ok": 4, "device.exec failed": 2, // locked; 2FA missing
		"device.process-kill ok": 2, "device.process-kill failed": 1,
		"device.service-start ok": 1, "device.service-restart ok": 1, "device.service-stop ok": 1,
		"device.service-start failed": 1, "device.service-start-type failed": 1,
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%d audit entries %q, want %d; all:\n%s", count[k], k, n, strings.Join(seen, "\n"))
		}
	}
	for _, s := range seen {
		if strings.HasPrefix(s, "device.exec ok") && strings.Contains(s, `sh: "echo Grüße; echo fehlt >&2; exit 3" → exit 3`) {
			return
		}
	}
	t.Errorf("no exec audit entry with the command and its exit code:\n%s", strings.Join(seen, "\n"))
}

// BenchmarkRemoteExec measures a command line's round trip through the
// API, the gateway's signature and a real agent (sh -c true) on loopback,
// and the process list (which samples CPU use for half a second).
func BenchmarkRemoteExec(b *testing.B) {
	w := newRemoteWorld(b, storetest.NewSQLite, false)
	dev := "/api/v1/devices/" + strconv.FormatInt(w.dev, 10)
	b.Run("exec", func(b *testing.B) {
		for b.Loop() {
			var res protocol.ExecResult
			if st, body := w.call(b, "tech", "POST", dev+"/exec", `{"shell":"sh","command":"true"}`, &res); st != 200 || res.ExitCode != 0 {
				b.Fatalf("%d %s", st, body)
			}
		}
	})
	b.Run("processes", func(b *testing.B) {
		for b.Loop() {
			var list protocol.ProcessList
			if st, body := w.call(b, "tech", "GET", dev+"/processes", "", &list); st != 200 || len(list.Processes) == 0 {
				b.Fatalf("%d %s", st, body)
			}
		}
	})
}
