package web

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

type quietCheck struct{}

func (quietCheck) Run(_ context.Context, r check.Reporter) error {
	r.Report(check.Result{Status: core.StatusOK, Message: core.Text{EN: "ok", DE: "ok"}})
	return nil
}

// remoteFixture is the dashboard over a real gateway and two real agents
// on loopback: dev with every feature, locked with exec disabled by its
// owner. The agents' services are a SysV manager in a temporary folder
// with svcmgr's test script.
type remoteFixture struct {
	*fixture
	dev, locked int64
	svcRoot     string
}

func newRemoteFixture(t *testing.T) *remoteFixture {
	t.Helper()
	if testing.Short() {
		t.Skip("real agents and a gateway on loopback; not in -short")
	}
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	f := &remoteFixture{fixture: &fixture{st: st, cmd: &fakeCommander{}}}
	f.device, f.users = seed(t, st, "pc-01")
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	gw := gateway.New(gateway.Options{Store: st, ActionKey: actionkey.NewSigner(key, nil)})
	gsrv := httptest.NewTLSServer(gw)
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		gw.Hub().Shutdown(sctx)
		gsrv.Close()
	})

	f.svcRoot = t.TempDir()
	m := &svcmgr.SysV{InitDir: filepath.Join(f.svcRoot, "init.d"), RCDirs: []string{filepath.Join(f.svcRoot, "rc2.d")},
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
		if b, err := os.ReadFile(filepath.Join(f.svcRoot, "wachttest.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
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
		cfg, _ := agent.LoadConfig(dir)
		cfg.Allow.Executables = []string{f.svcRoot}
		if err := agent.SaveConfig(dir, cfg); err != nil {
			t.Fatal(err)
		}
		a, err := agent.New(agent.Options{DataDir: dir, Checks: []agent.NamedCheck{{Name: "ok", Check: quietCheck{}}}, Interval: time.Hour,
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
		for deadline := time.Now().Add(60 * time.Second); !gw.Hub().Connected(er.DeviceID); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("agent did not connect")
			}
		}
		return er.DeviceID
	}
	f.dev = startAgent(nil)
	f.locked = startAgent([]string{protocol.LockExec})
	// Scripts: a secret key for the jobs and this node's dispatcher.
	box, err := seal.NewBox([]byte(rand.Text() + rand.Text())[:32])
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Deps{Store: st, Commander: gw.Hub(), Secrets: box})
	dispatcher := svc.ScriptDispatcher(service.DispatchOptions{Poll: time.Second})
	dctx, stop := context.WithCancel(ctx)
	dispatched := make(chan struct{})
	go func() { dispatcher.Run(dctx); close(dispatched) }()
	t.Cleanup(func() { stop(); <-dispatched })
	h, err := New(Deps{Store: st, Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *remoteFixture) path(id int64, rest string) string {
	return "/devices/" + strconv.FormatInt(id, 10) + rest
}

var endHrefRE = regexp.MustCompile(`href="([^"]+)" class="button" id="end-(\d+)"`)

// TestRemotePages drives the process list, the services and the command
// box of a real agent through the dashboard: what a technician sees, the
// confirmation before a process is ended, the local lock and the
// two-factor rule, and who may not.
func TestRemotePages(t *testing.T) {
	f := newRemoteFixture(t)
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	if csrf == "" {
		t.Fatal("login failed")
	}

	// The device page links remote management; the locked feature says so.
	p := b.do("GET", f.path(f.dev, ""), nil)
	if p.status != 200 || !strings.Contains(p.body, `id="device-remote"`) || !strings.Contains(p.body, `href="`+f.path(f.dev, "/processes")+`"`) {
		t.Fatalf("device page: %d\n%s", p.status, p.body)
	}
	p = b.do("GET", f.path(f.locked, ""), nil)
	if !strings.Contains(p.body, `id="remote-run"`) || !strings.Contains(p.body, "auf diesem Gerät gesperrt") || strings.Contains(p.body, `href="`+f.path(f.locked, "/run")+`"`) {
		t.Errorf("locked device page lacks the lock:\n%s", p.body)
	}

	// The process list shows a process this test started, filtered by its
	// unusual argument; ending it asks first.
	sleeper := exec.Command("sleep", "317")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	p = b.do("GET", f.path(f.dev, "/processes?q=sleep+317&sort=pid&desc=0"), nil)
	pid := strconv.Itoa(sleeper.Process.Pid)
	if p.status != 200 || !strings.Contains(p.body, `id="proc-`+pid+`"`) || !strings.Contains(p.body, "sleep 317") || !strings.Contains(p.body, "1 von ") {
		t.Fatalf("process list: %d\n%s", p.status, p.body)
	}
	b.header.Set("HX-Request", "true")
	part := b.do("GET", f.path(f.dev, "/processes/list?q=sleep+317"), nil)
	b.header.Del("HX-Request")
	if part.status != 200 || !strings.Contains(part.body, `id="proc-`+pid+`"`) || strings.Contains(part.body, "<html") {
		t.Errorf("live refresh: %d\n%s", part.status, part.body)
	}
	m := endHrefRE.FindStringSubmatch(p.body)
	if m == nil || m[2] != pid {
		t.Fatalf("no end link for %s:\n%s", pid, p.body)
	}
	confirm := b.do("GET", html.UnescapeString(m[1]), nil)
	if !strings.Contains(confirm.body, `id="end-confirm"`) || !strings.Contains(confirm.body, "sleep (PID "+pid+") beenden?") {
		t.Fatalf("confirmation:\n%s", confirm.body)
	}
	start := regexp.MustCompile(`name="start_time" value="(\d+)"`).FindStringSubmatch(confirm.body)
	next := regexp.MustCompile(`name="next" value="([^"]+)"`).FindStringSubmatch(confirm.body)
	if sleeper.ProcessState != nil {
		t.Fatal("the process ended before it was asked to")
	}
	p = b.do("POST", f.path(f.dev, "/processes/"+pid+"/kill"), url.Values{"csrf": {csrf}, "start_time": {start[1]}, "next": {html.UnescapeString(next[1])}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "done=ended") || !strings.Contains(p.header.Get("Location"), "q=sleep+317") {
		t.Fatalf("end process: %d %v\n%s", p.status, p.header, p.body)
	}
	if err := sleeper.Wait(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("the process ended with %v", err)
	}
	p = b.do("GET", p.header.Get("Location"), nil)
	if !strings.Contains(p.body, "Der Prozess wurde beendet.") || strings.Contains(p.body, `id="proc-`+pid+`"`) {
		t.Errorf("after ending:\n%s", p.body)
	}
	// The same process again: it no longer runs, and the page says why.
	p = b.do("POST", f.path(f.dev, "/processes/"+pid+"/kill"), url.Values{"csrf": {csrf}, "start_time": {start[1]}})
	if p.status != 404 || !strings.Contains(html.UnescapeString(p.body), "Es läuft kein Prozess "+pid) {
		t.Errorf("ending it again: %d\n%s", p.status, p.body)
	}

	// Services: a real init script started and stopped.
	p = b.do("GET", f.path(f.dev, "/services"), nil)
	if !strings.Contains(p.body, `id="svc-wachttest"`) || !strings.Contains(p.body, "Wacht-Testdienst für Größen") || !strings.Contains(p.body, "(sysv)") {
		t.Fatalf("services:\n%s", p.body)
	}
	// The agent's words are shown in German, the raw word as the title.
	for _, c := range []struct{ op, now, raw, offers string }{{"start", "läuft", "running", "/stop"}, {"stop", "gestoppt", "stopped", "/start"}} {
		p = b.do("POST", f.path(f.dev, "/services/wachttest/"+c.op), url.Values{"csrf": {csrf}, "q": {"wacht"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != f.path(f.dev, "/services?done=wachttest&q=wacht") {
			t.Fatalf("%s: %d %v", c.op, p.status, p.header)
		}
		p = b.do("GET", p.header.Get("Location"), nil)
		if !strings.Contains(p.body, `id="service-done"`) || !strings.Contains(p.body, "Dienst wachttest ist jetzt: "+c.now) ||
			!strings.Contains(p.body, `title="`+c.raw+`">`+c.now+`</span>`) || !strings.Contains(p.body, "/services/wachttest"+c.offers) {
			t.Errorf("after %s:\n%s", c.op, p.body)
		}
	}
	p = b.do("POST", f.path(f.dev, "/services/wachttest/start-type"), url.Values{"csrf": {csrf}, "start_type": {"disabled"}})
	if p.status != 409 || !strings.Contains(p.body, `id="remote-error"`) {
		t.Errorf("start type of an init script: %d\n%s", p.status, p.body)
	}

	// The command box: umlauts and the exit code.
	p = b.do("POST", f.path(f.dev, "/run"), url.Values{"csrf": {csrf}, "shell": {"sh"}, "command": {"echo Grüße\r\nexit 4"}, "timeout_seconds": {"30"}})
	if p.status != 200 || !strings.Contains(p.body, `<pre class="output" id="stdout">Grüße`) || !strings.Contains(p.body, "Rückgabewert 4") {
		t.Errorf("run: %d\n%s", p.status, p.body)
	}
	p = b.do("POST", f.path(f.dev, "/run"), url.Values{"csrf": {csrf}, "shell": {"cmd"}, "command": {"dir"}, "timeout_seconds": {"30"}})
	if p.status != 400 || !strings.Contains(p.body, `id="remote-error"`) {
		t.Errorf("Windows shell on Linux: %d\n%s", p.status, p.body)
	}
	p = b.do("POST", f.path(f.locked, "/run"), url.Values{"csrf": {csrf}, "shell": {"sh"}, "command": {"id"}, "timeout_seconds": {"30"}})
	if p.status != 403 || !strings.Contains(html.UnescapeString(p.body), "auf diesem Gerät gesperrt") {
		t.Errorf("locked run: %d\n%s", p.status, p.body)
	}
	b.header.Set("HX-Request", "true")
	p = b.do("POST", f.path(f.locked, "/run"), url.Values{"csrf": {csrf}, "shell": {"sh"}, "command": {"id"}, "timeout_seconds": {"30"}})
	b.header.Del("HX-Request")
	if p.status != 200 || !strings.Contains(p.body, `id="run-output"`) {
		t.Errorf("locked run through htmx (swapped only with 200): %d", p.status)
	}

	// Read-only users see no remote management and may not reach it.
	ro := f.browser(t, "en")
	ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", f.path(f.dev, ""), nil); strings.Contains(p.body, `id="device-remote"`) {
		t.Error("read-only user sees remote management")
	}
	if p := ro.do("GET", f.path(f.dev, "/processes"), nil); p.status != 403 {
		t.Errorf("read-only process list: %d", p.status)
	}

	// The administrators' rule: remote actions only with a second factor.
	p = b.do("GET", "/users", nil)
	if !strings.Contains(p.body, `id="remote-settings"`) || !strings.Contains(p.body, `value="90"`) {
		t.Fatalf("users page lacks the remote settings:\n%s", p.body)
	}
	if p := b.do("POST", "/settings/remote", url.Values{"csrf": {csrf}, "require_2fa": {"on"}, "recording_retention_days": {"0"}}); p.status != 400 {
		t.Errorf("retention 0: %d", p.status)
	}
	if p := b.do("POST", "/settings/remote", url.Values{"csrf": {csrf}, "require_2fa": {"on"}, "recording_retention_days": {"30"}}); p.status != http.StatusSeeOther {
		t.Fatalf("remote settings: %d\n%s", p.status, p.body)
	}
	p = b.do("GET", f.path(f.dev, ""), nil)
	if !strings.Contains(p.body, `id="remote-needs-2fa"`) {
		t.Error("device page does not say a second factor is needed")
	}
	p = b.do("POST", f.path(f.dev, "/run"), url.Values{"csrf": {csrf}, "shell": {"sh"}, "command": {"id"}, "timeout_seconds": {"30"}})
	if p.status != 403 || !strings.Contains(html.UnescapeString(p.body), "zweitem Faktor") {
		t.Errorf("run without second factor: %d\n%s", p.status, p.body)
	}

	es, err := f.st.QueryAudit(context.Background(), core.AuditQuery{Action: "device."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		if e.Action != "device.enroll" {
			got = append(got, fmt.Sprintf("%s %s %s", e.Action, e.Result, e.Detail))
		}
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"device.process-kill ok pid " + pid, "device.process-kill failed pid " + pid,
		`device.service-start ok service "wachttest"`, `device.service-stop ok service "wachttest"`,
		`device.exec ok sh: "echo Grüße\nexit 4" → exit 4`, "device.exec failed sh: \"id\" → disabled_locally",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no audit entry %q in:\n%s", want, all)
		}
	}
}

// TestBrowserEndsProcess opens the process list in Chromium, finds a
// process the test started by filtering, ends it after confirming, and
// sees it gone from the live list.
func TestBrowserEndsProcess(t *testing.T) {
	needChromium(t)
	f := newRemoteFixture(t)
	sleeper := exec.Command("sleep", "423")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	pid := strconv.Itoa(sleeper.Process.Pid)
	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#device-list")
	c.step("open the device", chromedp.Navigate(f.srv.URL+f.path(f.dev, "")), chromedp.WaitVisible("#device-remote"))
	c.step("open the processes", chromedp.Click("#remote-processes"), chromedp.WaitVisible("#processes"))
	c.step("filter", chromedp.SendKeys("#proc-filter", "sleep 423"), chromedp.Click("#proc-filter-go"),
		chromedp.WaitVisible(`#proc-filter[value="sleep 423"]`), chromedp.WaitVisible("#proc-"+pid))
	if n := c.text("#proc-count"); !strings.HasPrefix(n, "1 of ") {
		t.Errorf("filtered count: %q", n)
	}
	c.step("sort by memory", chromedp.Click("#sort-mem"), chromedp.WaitVisible(`th[aria-sort] > a#sort-mem`), chromedp.WaitVisible("#proc-"+pid))
	c.step("end it", chromedp.Click("#end-"+pid), chromedp.WaitVisible("#end-confirm"))
	c.screenshot("remote-end-confirm.png")
	c.step("confirm", chromedp.Click("#end-process"), chromedp.WaitVisible("#remote-done"))
	if err := sleeper.Wait(); err == nil {
		t.Error("the process did not end")
	}
	if !strings.Contains(c.text("#proc-list"), "No process matches.") {
		t.Errorf("the ended process is still listed: %s", c.text("#proc-list"))
	}
	if hasAsset(t, "vendor/htmx.min.js") {
		// The open list refreshes itself: a new matching process appears.
		again := exec.Command("sleep", "423")
		if err := again.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { again.Process.Kill(); again.Wait() })
		c.step("live refresh", chromedp.WaitVisible("#proc-"+strconv.Itoa(again.Process.Pid)))
	}
	c.step("open the services", chromedp.Click(`nav.tabs a[href$="/services"]`), chromedp.WaitVisible("#services"))
	c.step("start a service", chromedp.Click(`form[action$="/services/wachttest/start"] button`),
		chromedp.WaitVisible(`details.confirm:has(form[action$="/stop"]) summary`))
	if n := c.text("#service-done"); !strings.Contains(n, "wachttest") || !strings.Contains(n, "running") {
		t.Errorf("after starting: %q", n)
	}
	c.step("stop it, confirmed", chromedp.Click(`details.confirm:has(form[action$="/stop"]) summary`),
		chromedp.Click(`form[action$="/services/wachttest/stop"] button`), chromedp.WaitVisible(`form[action$="/services/wachttest/start"] button`))
	if n := c.text("#service-done"); !strings.Contains(n, "stopped") {
		t.Errorf("after stopping: %q", n)
	}
	c.screenshot("remote-services.png")
	c.step("run a command", chromedp.Click(`nav.tabs a[href$="/run"]`), chromedp.WaitVisible("#command"),
		chromedp.SendKeys("#command", "echo Grüße"), chromedp.Click("#run"), chromedp.WaitVisible("#stdout"))
	if out := c.text("#stdout"); !strings.Contains(out, "Grüße") {
		t.Errorf("stdout: %q", out)
	}
	if code := c.text("#exit-code"); !strings.Contains(code, "0") {
		t.Errorf("exit code: %q", code)
	}
	c.screenshot("remote-run.png")
	c.checkConsole()
}

// TestBrowserRunsScript runs a script of the library on a real agent from
// the device page: the run dialog with the device chosen and a parameter,
// the job page following the run until its exit code and output, and the
// device page listing the run.
func TestBrowserRunsScript(t *testing.T) {
	needChromium(t)
	if !hasAsset(t, "vendor/htmx.min.js") {
		t.Skip("htmx not built in (web/build.sh)")
	}
	f := newRemoteFixture(t)
	sc := core.Script{Name: "Grüße", Language: protocol.LangBash, Body: "echo \"Hallo $WHO\"\necho Warnung >&2\nexit 3\n",
		Params:         []core.ScriptParam{{Name: "WHO", Type: core.ParamText, Label: core.Text{EN: "Whom to greet", DE: "Wen grüßen"}}},
		TimeoutSeconds: 60, RunAs: core.RunAsSystem, OS: []string{"linux"}}
	if err := f.st.CreateScript(context.Background(), &sc); err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#device-list")
	c.step("open the device", chromedp.Navigate(f.srv.URL+f.path(f.dev, "")), chromedp.WaitVisible("#device-remote"))
	c.step("choose the script", chromedp.Click("#remote-script"), chromedp.WaitVisible("#run-on-device"),
		chromedp.Click("#run-"+strconv.FormatInt(sc.ID, 10)), chromedp.WaitVisible("#run-devices"))
	c.step("run it", chromedp.WaitVisible("#dev-"+strconv.FormatInt(f.dev, 10)+":checked"),
		chromedp.SendKeys("#param-WHO", "Köln"), chromedp.Click("#run-submit"), chromedp.WaitVisible("#job-progress"))
	c.step("follow the job", chromedp.WaitVisible("#job-finished"), chromedp.Click("details.run-output summary"),
		chromedp.WaitVisible("pre.stdout"))
	if out, errOut := c.text("pre.stdout"), c.text("pre.stderr"); !strings.Contains(out, "Hallo Köln") || !strings.Contains(errOut, "Warnung") {
		t.Errorf("output %q / %q", out, errOut)
	}
	if row := c.text("#job-runs tbody tr"); !strings.Contains(row, "failed") || !strings.Contains(row, "3") {
		t.Errorf("run row %q", row)
	}
	c.screenshot("script-job.png")
	c.step("the device lists the run", chromedp.Navigate(f.srv.URL+f.path(f.dev, "")), chromedp.WaitVisible("#device-runs"))
	if runs := c.text("#device-runs"); !strings.Contains(runs, "Grüße") || !strings.Contains(runs, "failed") {
		t.Errorf("device runs %q", runs)
	}
	c.checkConsole()
}
