package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The Windows lane: the Windows build of the agent runs under Wine (Debian's
// wine64) against a real Linux server on loopback. docs/windows.md says what
// it proves and what Wine cannot show. `make wine` runs it alone.

// wineRequired makes a missing Wine a failure (.ci/run sets
// WACHT_REQUIRE_WINE=1, like WACHT_REQUIRE_CHROMIUM).
func wineRequired() bool { return os.Getenv("WACHT_REQUIRE_WINE") == "1" || os.Getenv("CI") != "" }

// wineLoader finds Wine's 64-bit loader: Debian's wine64 package installs
// it outside PATH.
func wineLoader() string {
	if _, err := os.Stat("/usr/lib/wine/wine64"); err == nil {
		return "/usr/lib/wine/wine64"
	}
	if p, err := exec.LookPath("wine64"); err == nil {
		return p
	}
	return ""
}

// goPanic matches what a crashing Go program writes.
var goPanic = regexp.MustCompile(`(?m)^(panic: |fatal error: )|goroutine \d+ \[`)

// zeroErrno is how Windows and Wine word error code 0: an error message
// built around it says nothing ("EvtQuery System: Success.").
var zeroErrno = regexp.MustCompile(`: (Success\.|The operation completed successfully\.)`)

// winePrefix is one Wine installation for the test: a fresh prefix with
// the shim DLL, and every command's stderr kept to look for Go panics.
type winePrefix struct {
	t      *testing.T
	loader string
	dir    string // the prefix
	env    []string
	exe    string // wacht-agent.exe on the Unix side
	stderr bytes.Buffer
}

func newWinePrefix(t *testing.T) *winePrefix {
	t.Helper()
	loader := wineLoader()
	_, gccErr := exec.LookPath("x86_64-w64-mingw32-gcc")
	if loader == "" || gccErr != nil {
		const how = "Wine or MinGW is not installed (apt-get install wine wine64 gcc-mingw-w64-x86-64)"
		if wineRequired() {
			t.Fatal(how + ", and CI or WACHT_REQUIRE_WINE=1 requires the Windows lane")
		}
		t.Skip(how + "; the Windows lane did not run")
	}
	tmp := t.TempDir()
	w := &winePrefix{t: t, loader: loader, dir: filepath.Join(tmp, "prefix"), exe: filepath.Join(tmp, "wacht-agent.exe")}
	w.env = []string{"WINEPREFIX=" + w.dir, "WINEARCH=win64", "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml="}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "WINE") {
			w.env = append(w.env, kv)
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-o", w.exe, "github.com/wacht-rmm/wacht/cmd/wacht-agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Windows agent: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// Ends this prefix's wineserver and every Windows process in it.
		kill := exec.Command(filepath.Join(filepath.Dir(loader), "wineserver"), "-k")
		kill.Env = w.env
		kill.Run()
		if t.Failed() {
			t.Logf("Wine stderr:\n%s", w.stderr.String())
		}
	})
	if _, err := w.run(5*time.Minute, "wineboot", "-i"); err != nil {
		t.Fatalf("wineboot: %v", err)
	}
	dll := filepath.Join(w.dir, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-shared", "-s", "-o", dll,
		filepath.Join("testdata", "bcryptprimitives.c"), "-ladvapi32").CombinedOutput(); err != nil {
		t.Fatalf("building the bcryptprimitives.dll shim: %v\n%s", err, out)
	}
	return w
}

// command prepares a Wine command; args[0] is a Windows program or "agent"
// for wacht-agent.exe.
func (w *winePrefix) command(ctx context.Context, args ...string) *exec.Cmd {
	if args[0] == "agent" {
		args[0] = w.exe
	}
	cmd := exec.CommandContext(ctx, w.loader, args...)
	cmd.Env = w.env
	cmd.Dir = filepath.Dir(w.exe)
	return cmd
}

// run runs a Wine command to its end and returns its stdout.
func (w *winePrefix) run(timeout time.Duration, args ...string) (string, error) {
	w.t.Helper()
	return w.runEnv(nil, timeout, args...)
}

// runEnv is run with more environment variables (KEY=value), which Wine
// passes on to the Windows program.
func (w *winePrefix) runEnv(env []string, timeout time.Duration, args ...string) (string, error) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := w.command(ctx, args...)
	cmd.Env = append(cmd.Env[:len(cmd.Env):len(cmd.Env)], env...)
	// A Windows process Wine keeps alive after the timeout killed the
	// loader must not hold the output pipes open forever.
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	fmt.Fprintf(&w.stderr, "--- %v\n%s", args, errb.String())
	if err != nil {
		return out.String(), fmt.Errorf("%v: %w\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errb.String())
	}
	return out.String(), nil
}

type wineDevice struct {
	ID       int64  `json:"id"`
	OS       string `json:"os"`
	Platform string `json:"platform"`
	Online   bool   `json:"online"`
}

type wineCheck struct {
	Name    string    `json:"name"`
	Key     string    `json:"key"`
	Status  string    `json:"status"`
	Value   *float64  `json:"value"`
	Message core.Text `json:"message"`
}

// TestWindowsAgentUnderWine runs the Windows agent under Wine: check
// --once, enrollment against a real server, results delivered, and status
// after the agent was killed. It fails on a Go panic, on missing results
// and on a check claiming OK without having looked.
func TestWindowsAgentUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("the Windows lane takes a minute or two")
	}
	began := time.Now()
	w := newWinePrefix(t)
	t.Logf("Wine prefix ready after %v", time.Since(began).Round(time.Second))

	// 1. check --once with the default checks.
	out, err := w.run(3*time.Minute, "agent", "check", "--once", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var results []core.Result
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("check --once --json: %v\n%s", err, out)
	}
	byCheck := map[string][]core.Result{}
	for _, r := range results {
		byCheck[r.Check] = append(byCheck[r.Check], r)
		t.Logf("check --once: %-9s %-5s %-8s %s", r.Check, r.Key, r.Status, r.Message.EN)
		if zeroErrno.MatchString(r.Message.EN) {
			t.Errorf("%s %s: an error worded around error code 0: %q", r.Check, r.Key, r.Message.EN)
		}
		if r.Status == core.StatusOK && r.Message.EN == "" {
			t.Errorf("%s %s: OK without a message", r.Check, r.Key)
		}
		if unworded.MatchString(r.Message.EN) {
			t.Errorf("%s %s: an OS error passed on without its meaning: %q", r.Check, r.Key, r.Message.EN)
		}
	}
	// looked finds a result that measured something (the growth check's
	// first run has no value yet).
	looked := func(name, key string, value bool) {
		t.Helper()
		for _, r := range byCheck[name] {
			if r.Key == key && (r.Value != nil || !value) && r.Status != core.StatusError && r.Status != core.StatusUnknown {
				return
			}
		}
		t.Errorf("no measured %s result for %q: %+v", name, key, byCheck[name])
	}
	looked("disk", "C:", true)
	looked("growth", "C:", false)
	looked("memory", "", true)
	checkServices(t, byCheck["services"])
	checkWMI(t, byCheck["antivirus"], "AntiVirusProduct")
	checkWMI(t, byCheck["smart"], "MSFT_PhysicalDisk")
	checkCPU(t, byCheck["cpu"])
	if len(byCheck["snmptrap"]) > 0 {
		t.Errorf("the default checks opened an SNMP trap listener: %+v", byCheck["snmptrap"])
	}

	// 1b. The exec action through the real cmd.exe: German umlauts arrive
	// as UTF-8 (the agent package's Windows test, run under Wine).
	agentTest := filepath.Join(filepath.Dir(w.exe), "agent.test.exe")
	build := exec.Command("go", "test", "-c", "-trimpath", "-o", agentTest, "github.com/wacht-rmm/wacht/internal/agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent's Windows tests: %v\n%s", err, out)
	}
	out, err = w.run(2*time.Minute, agentTest, "-test.run", "^TestExecConsoleUTF8$", "-test.v")
	if err != nil || !strings.Contains(out, "--- PASS: TestExecConsoleUTF8") {
		t.Errorf("exec with umlauts under Wine: %v\n%s", err, out)
	}
	// 1b'. The inventory: uninstall keys written into Wine's registry (both
	// HKLM views and HKCU) and read back by the collector, and a whole
	// collection in which every empty part is a gap (the inventory
	// package's Windows tests).
	invTest := filepath.Join(filepath.Dir(w.exe), "inventory.test.exe")
	build = exec.Command("go", "test", "-c", "-trimpath", "-o", invTest, "github.com/wacht-rmm/wacht/internal/inventory")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the inventory's Windows tests: %v\n%s", err, out)
	}
	out, err = w.run(5*time.Minute, invTest, "-test.run", "^(TestUninstallRegistryReal|TestCollectWindowsReal)$", "-test.v")
	if err != nil || strings.Count(out, "--- PASS: Test") != 2 {
		t.Errorf("inventory under Wine: %v\n%s", err, out)
	} else {
		t.Logf("inventory under Wine:\n%s", out)
	}
	// 1b''. The program check: a watched program written into Wine's
	// uninstall registry fails an "absent" check until it is removed.
	progTest := filepath.Join(filepath.Dir(w.exe), "program.test.exe")
	build = exec.Command("go", "test", "-c", "-trimpath", "-o", progTest, "github.com/wacht-rmm/wacht/internal/checks/program")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the program check's Windows tests: %v\n%s", err, out)
	}
	out, err = w.run(2*time.Minute, progTest, "-test.run", "^TestUninstallEntryWatched$", "-test.v")
	if err != nil || !strings.Contains(out, "--- PASS: TestUninstallEntryWatched") {
		t.Errorf("program check under Wine: %v\n%s", err, out)
	}
	// 1c. Authenticode: WinVerifyTrust on an unsigned, a signed and a
	// tampered DLL made here (the agent's TestAuthenticodeFiles).
	if acDir := t.TempDir(); authenticodeFiles(t, acDir) {
		w.env = append(w.env, `WACHT_AUTHENTICODE_DIR=Z:`+strings.ReplaceAll(acDir, "/", `\`))
		out, err = w.run(2*time.Minute, agentTest, "-test.run", "^TestAuthenticodeFiles$", "-test.v")
		if err != nil || !strings.Contains(out, "--- PASS: TestAuthenticodeFiles") {
			t.Errorf("Authenticode under Wine: %v\n%s", err, out)
		} else {
			t.Logf("Authenticode under Wine:\n%s", out)
		}
	}

	// 1c. Real MSIs built with wixl, installed, detected in the uninstall
	// registry and removed through the agent's install code.
	wineMSI(t, w, agentTest)

	// 1d. Patch management: the Windows update sources and the restart
	// markers (issue 19; wine_patch_test.go).
	winePatches(t, w)

	// 1e. The tray IPC's named pipe: three trays at once, each told who it
	// is by its token (issue 20; wine_trayipc_test.go).
	wineTrayIPC(t, w)

	// 2. Enrollment against a real server on loopback, results delivered.
	e := newEnv(t)
	tok := e.token()
	if _, err := w.run(time.Minute, "agent", "enroll", "--data", `C:\wachtdata`, "--token", tok); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agentRun := w.command(ctx, "agent", "run", "--data", `C:\wachtdata`, "--interval", "5s",
		"--checks", `{"cpu":{"window":"1s"},"memory":{"window":"0s"},"disk":null,"services":null}`)
	var runLog bytes.Buffer
	agentRun.Stdout, agentRun.Stderr = &runLog, &runLog
	if err := agentRun.Start(); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan struct{})
	go func() { agentRun.Wait(); close(runDone) }()
	defer func() { agentRun.Process.Kill(); <-runDone }()

	var dev wineDevice
	var checks []wineCheck
	waitFor(t, "the Windows device's disk, memory and services results", 2*time.Minute, func() bool {
		var devs []wineDevice
		e.api("GET", "/api/v1/devices", &devs)
		if len(devs) != 1 {
			return false
		}
		dev, checks = devs[0], nil
		e.api("GET", fmt.Sprintf("/api/v1/devices/%d/checks", dev.ID), &checks)
		seen := map[string]bool{}
		for _, c := range checks {
			seen[c.Name] = true
		}
		return seen["disk"] && seen["memory"] && seen["services"]
	})
	if dev.OS != "windows" || !dev.Online {
		t.Errorf("device %+v, want os windows and online", dev)
	}
	for _, c := range checks {
		t.Logf("server: %-9s %-5s %-8s %s", c.Name, c.Key, c.Status, c.Message.EN)
		if c.Name == "disk" && c.Key == "C:" && (c.Value == nil || c.Status != "ok" && c.Status != "warning" && c.Status != "failure") {
			t.Errorf("server's disk C: result %+v, want a measured one", c)
		}
	}

	// 2a. The Windows agent's inventory reaches the server whole at
	// enrollment; what Wine's WMI cannot answer arrives as gaps with
	// their reasons, never as empty values.
	var inv struct {
		Stored *core.StoredInventory `json:"stored"`
	}
	waitFor(t, "the Windows device's inventory", 2*time.Minute, func() bool {
		e.api("GET", fmt.Sprintf("/api/v1/devices/%d/inventory", dev.ID), &inv)
		return inv.Stored != nil
	})
	got := inv.Stored.Inventory
	t.Logf("server: inventory of %q: %d programs, %d gaps", got.System.OSName, len(got.Software), len(got.Missing))
	if !strings.Contains(got.System.OSName, "Windows") || got.System.Hostname == "" {
		t.Errorf("the Windows inventory names no Windows or host: %+v", got.System)
	}
	for _, g := range got.Missing {
		if g.Error == "" {
			t.Errorf("inventory gap %s without a reason", g.Part)
		}
	}

	// 2b. A cmd script from the library through the real job path:
	// parameters in the environment, a secret masked, the exit code, and
	// German umlauts from the body and from a parameter as UTF-8.
	var sc struct {
		ID int64 `json:"id"`
	}
	scBody := `{"name":"Gruss","language":"cmd","params":[{"name":"WHO","type":"text"},{"name":"PW","type":"secret"}],
		"body":"@echo off\necho Hallo %WHO%\necho Grüße aus cmd\necho pw=%PW%\nexit /b 3\n"}`
	if st, b := e.send("POST", "/api/v1/scripts", json.RawMessage(scBody), &sc); st != 201 {
		t.Fatalf("create a cmd script: %d %s", st, b)
	}
	var sub struct {
		JobID int64 `json:"job_id"`
	}
	runBody := fmt.Sprintf(`{"devices":[%d],"params":{"WHO":"Jürgen","PW":"s3cr3t-42"}}`, dev.ID)
	if st, b := e.send("POST", fmt.Sprintf("/api/v1/scripts/%d/run", sc.ID), json.RawMessage(runBody), &sub); st != 202 {
		t.Fatalf("run the cmd script: %d %s", st, b)
	}
	var job struct {
		Runs []struct {
			State    string `json:"state"`
			ExitCode *int   `json:"exit_code"`
			Stdout   string `json:"stdout"`
			Stderr   string `json:"stderr"`
		} `json:"runs"`
	}
	waitFor(t, "the cmd script's result", 2*time.Minute, func() bool {
		job.Runs = nil
		e.api("GET", fmt.Sprintf("/api/v1/jobs/%d", sub.JobID), &job)
		return len(job.Runs) == 1 && (job.Runs[0].State == "done" || job.Runs[0].State == "failed")
	})
	if r := job.Runs[0]; r.ExitCode == nil || *r.ExitCode != 3 || strings.ReplaceAll(r.Stdout, "\r\n", "\n") != "Hallo Jürgen\nGrüße aus cmd\npw=••••\n" {
		t.Errorf("cmd script under Wine: %+v (exit %v)", r, r.ExitCode)
	}

	// 2c. The same as the logged-on user: the console session's token
	// (WTSQueryUserToken) or, where Wine cannot give one, no_user with its
	// reason; never a crash, never a silent run as SYSTEM.
	if st, b := e.send("PUT", fmt.Sprintf("/api/v1/scripts/%d", sc.ID), json.RawMessage(strings.Replace(scBody, `"name"`, `"run_as":"user","name"`, 1)), nil); st != 200 {
		t.Fatalf("make the cmd script run as the user: %d %s", st, b)
	}
	if st, b := e.send("POST", fmt.Sprintf("/api/v1/scripts/%d/run", sc.ID), json.RawMessage(runBody), &sub); st != 202 {
		t.Fatalf("run the cmd script as the user: %d %s", st, b)
	}
	var asUser struct {
		Runs []struct {
			State     string    `json:"state"`
			ExitCode  *int      `json:"exit_code"`
			Stdout    string    `json:"stdout"`
			ErrorCode string    `json:"error_code"`
			Error     core.Text `json:"error"`
		} `json:"runs"`
	}
	waitFor(t, "the cmd script's result as the user", 2*time.Minute, func() bool {
		asUser.Runs = nil
		e.api("GET", fmt.Sprintf("/api/v1/jobs/%d", sub.JobID), &asUser)
		return len(asUser.Runs) == 1 && (asUser.Runs[0].State == "done" || asUser.Runs[0].State == "failed")
	})
	switch r := asUser.Runs[0]; {
	case r.ErrorCode == "no_user" && r.Error.EN != "" && r.Error.DE != "":
		t.Logf("as the logged-on user under Wine: %s", r.Error.EN)
	case r.ExitCode != nil && *r.ExitCode == 3 && strings.ReplaceAll(r.Stdout, "\r\n", "\n") == "Hallo Jürgen\nGrüße aus cmd\npw=••••\n":
		t.Logf("as the logged-on user under Wine: ran with the console session's token")
	default:
		t.Errorf("cmd script as the logged-on user under Wine: %+v", r)
	}

	// 3. Killed like a crash: status must not take another process with
	// the same PID (Wine reuses PIDs at once) for the agent.
	agentRun.Process.Signal(syscall.SIGKILL)
	<-runDone
	fmt.Fprintf(&w.stderr, "--- agent run\n%s", runLog.String())
	status, err := w.run(time.Minute, "agent", "status", "--data", `C:\wachtdata`)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(status, "Agent:      not running") {
		t.Errorf("status after the agent was killed:\n%s", status)
	}

	if m := goPanic.FindString(w.stderr.String()); m != "" {
		t.Errorf("a Go panic or fatal error under Wine (%q); stderr:\n%s", m, w.stderr.String())
	}
	t.Logf("Windows lane took %v", time.Since(began).Round(time.Second))
}

// unworded matches an OS error passed on without being explained: go-ole's
// text for an HRESULT Windows has no message for, or a nil description.
var unworded = regexp.MustCompile(`FormatMessage failed|\(<nil>\)`)

// checkWMI: a check that reads WMI and fails under Wine names the WMI class
// and the HRESULT, in English and German.
func checkWMI(t *testing.T, rs []core.Result, class string) {
	t.Helper()
	if len(rs) == 0 {
		t.Errorf("no result for the check reading %s", class)
	}
	for _, r := range rs {
		if r.Status != core.StatusError || !strings.Contains(r.Message.EN, "WMI") {
			continue
		}
		if !strings.Contains(r.Message.EN, "WMI query of "+class) || !strings.Contains(r.Message.DE, "WMI-Abfrage von "+class) {
			t.Errorf("a failed WMI query that does not name %s in English and German: %+v", class, r.Message)
		}
	}
}

// checkCPU: Wine's system times keep no idle time, which read as 100 %;
// the check must say it cannot measure rather than report a made-up load.
func checkCPU(t *testing.T, rs []core.Result) {
	t.Helper()
	if len(rs) != 1 {
		t.Errorf("cpu: %d results, want 1: %+v", len(rs), rs)
		return
	}
	r := rs[0]
	switch {
	case r.Status == core.StatusUnknown:
		if !strings.Contains(r.Message.EN, "cannot be measured") || !strings.Contains(r.Message.DE, "nicht messen") {
			t.Errorf("cpu unknown without the reason: %+v", r.Message)
		}
	case r.Value != nil && *r.Value >= 100:
		t.Errorf("cpu reports a full load from counters that keep no idle time: %q", r.Message.EN)
	}
}

// allRunning is the services check's OK wording.
var allRunning = regexp.MustCompile(`^All (\d+) automatic services are running$`)

// checkServices: the services check either read real services or says it
// could not, or that it found none, never "All 0 automatic services are
// running".
func checkServices(t *testing.T, rs []core.Result) {
	t.Helper()
	if len(rs) != 1 {
		t.Errorf("services: %d results, want 1: %+v", len(rs), rs)
		return
	}
	r := rs[0]
	switch r.Status {
	case core.StatusOK:
		if m := allRunning.FindStringSubmatch(r.Message.EN); m == nil || m[1] == "0" {
			t.Errorf("services OK without having looked: %q", r.Message.EN)
		}
	case core.StatusUnknown, core.StatusError:
		if !strings.Contains(r.Message.EN, "could not") && !strings.HasPrefix(r.Message.EN, "No services found to watch") {
			t.Errorf("services %s without saying what it could not read: %q", r.Status, r.Message.EN)
		}
	}
}
