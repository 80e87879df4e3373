// Package e2e runs the real wacht and wacht-agent binaries on loopback:
// enrollment, results arriving through the API, commands, and a server that
// is killed and restarted mid-stream without losing or duplicating results.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/store"
)

var binDir string

// binDirEnv hands binDir to copies of the test binary that this one runs.
const binDirEnv = "WACHT_E2E_BIN"

// fastChecks keeps the CPU check's sampling window short so that tests do not
// wait 10 s per round.
const fastChecks = `{"cpu":{"window":"200ms"},"memory":{"window":"0s"},"disk":null}`

// parallelTests is how many tests that call t.Parallel run at once unless
// -test.parallel says otherwise. Those tests (each its own server and agents
// on loopback, own folders and databases) spend most of their time waiting
// for agent rounds and schedules, not computing, so more of them than the
// machine has cores share its time well. Lanes that need the machine to
// themselves (Wine, a systemd container, the desktop, latency probes,
// goroutine counts, a process-wide environment) do not call t.Parallel and
// run first, one at a time.
const parallelTests = 4

func TestMain(m *testing.M) {
	flag.Parse()
	if addr := os.Getenv(attackerEnv); addr != "" {
		os.Exit(runAttacker(addr)) // preauth_test.go
	}
	if !flagSet("test.parallel") {
		flag.Set("test.parallel", strconv.Itoa(max(parallelTests, runtime.GOMAXPROCS(0))))
	}
	if testing.Short() {
		fmt.Println("skipping the end-to-end tests under -short: they build and run the real binaries")
		os.Exit(0)
	}
	// A copy of this binary run again inside a booted container
	// (systemdtest.Run) uses the binaries its parent built.
	if dir := os.Getenv(binDirEnv); dir != "" {
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "wacht-e2e-bin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	// Built with the flags of `make dist` (CGO off, -trimpath), as are the
	// other builds of this package, so that the packages it compiled come
	// from the build cache and only the link is new.
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+"/", "github.com/wacht-rmm/wacht/cmd/wacht", "github.com/wacht-rmm/wacht/cmd/wacht-agent", "github.com/wacht-rmm/wacht/cmd/wacht-tray")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building binaries: %v\n%s", err, out)
		os.Exit(1)
	}
	os.Setenv(binDirEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// flagSet reports whether the command line set the flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// proc is a running binary whose stderr is captured.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func start(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, name, args...)
}

// startEnv is start with the environment env (nil: this process's).
func startEnv(t testing.TB, env []string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(filepath.Join(binDir, name), args...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s %v output:\n%s", name, args, p.output())
		}
	})
	return p
}

// stop sends sig and waits for the process to exit.
func (p *proc) stop(t testing.TB, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("process did not exit after %v", sig)
	}
}

// run runs a CLI command to completion and returns its stdout.
func run(t testing.TB, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %v: %v: %s", name, args, err, errb.String())
	}
	return out.String(), nil
}

func mustRun(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, err := run(t, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var listenRE = regexp.MustCompile(`msg="?listening"?.*addr=([0-9.:\[\]]+)`)

// startServer starts wacht serve on listen (with more flags, if any) and
// returns the process and its address once it logs that it listens.
func startServer(t testing.TB, data, listen string, flags ...string) (*proc, string) {
	t.Helper()
	p := start(t, "wacht", append([]string{"serve", "--data", data, "--listen", listen}, flags...)...)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(p.output()); m != nil {
			return p, m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("server exited:\n%s", p.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("server did not log its address:\n%s", p.output())
	return nil, ""
}

// adminPassword is the password of newEnv's admin@example.com.
const adminPassword = "correct horse battery"

// env is one test installation: a server, an API token, an enrolled agent.
type env struct {
	t        testing.TB
	data     string
	agentDir string
	addr     string
	server   *proc
	apiToken string
	http     *http.Client
}

// newEnv starts the installation's server with serveFlags added to its
// command line.
func newEnv(t testing.TB, serveFlags ...string) *env {
	t.Helper()
	e := &env{t: t, data: t.TempDir(), agentDir: t.TempDir()}
	e.server, e.addr = startServer(t, e.data, "127.0.0.1:0", serveFlags...)
	pw := []string{"WACHT_PASSWORD=" + adminPassword}
	mustRun(t, pw, "wacht", "user", "add", "--data", e.data, "--email", "admin@example.com", "--role", "admin")
	e.apiToken = strings.TrimSpace(mustRun(t, nil, "wacht", "apitoken", "create", "--data", e.data, "--user", "admin@example.com"))
	e.http = newEnvHTTP(t)
	return e
}

// newEnvHTTP is the API client of newEnv (the certificate is self-signed).
// Every JSON answer of the API it reads is held against docs/openapi.yaml,
// so the e2e tests check the spec on real answers too.
func newEnvHTTP(t testing.TB) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: openapitest.Transport(t,
		&http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}})}
}

func (e *env) token(args ...string) string {
	e.t.Helper()
	args = append([]string{"token", "create", "--create", "--data", e.data, "--client", "Müller GmbH", "--site", "Hannover", "--url", "https://" + e.addr}, args...)
	tok := strings.TrimSpace(mustRun(e.t, nil, "wacht", args...))
	if !strings.HasPrefix(tok, "wacht1_") || strings.Contains(tok, "\n") {
		e.t.Fatalf("token create printed %q, want one token line", tok)
	}
	return tok
}

func (e *env) api(method, path string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, "https://"+e.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(body, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, body, err)
		}
	}
	return resp.StatusCode
}

type apiDevice struct {
	ID       int64  `json:"id"`
	Hostname string `json:"hostname"`
	Online   bool   `json:"online"`
}

type apiCheck struct {
	Name   string   `json:"name"`
	Key    string   `json:"key"`
	Status string   `json:"status"`
	Value  *float64 `json:"value"`
}

// minWait is the least time waitFor gives a condition.
const minWait = 3 * time.Minute

// waitFor polls cond until it holds or the time is up (at least minWait).
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	// The bound only catches a hang: on a machine loaded by other work
	// (CI runners, several engineers' test runs) a step that takes seconds
	// when idle took over a minute, so none is tighter than minWait.
	deadline := time.Now().Add(max(d, minWait))
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestEnrollResultsAndCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token("--max-uses", "1")
	out := mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", tok)
	t.Logf("enroll: %s", out)

	// The token had one use: a second machine is refused, and told why.
	_, err := run(t, nil, "wacht-agent", "enroll", "--data", t.TempDir(), "--token", tok, "--new-device")
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "use") {
		t.Fatalf("second enrollment with a one-use token: %v, want a 'used up' refusal", err)
	}

	start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "2s", "--checks", fastChecks)

	var devices []apiDevice
	waitFor(t, "the device to be listed online", 60*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	id := devices[0].ID
	host, _ := os.Hostname()
	if devices[0].Hostname != host {
		t.Errorf("hostname %q, want %q", devices[0].Hostname, host)
	}

	var checks []apiCheck
	waitFor(t, "cpu, memory and disk results", 60*time.Second, func() bool {
		checks = nil
		e.api("GET", fmt.Sprintf("/api/v1/devices/%d/checks", id), &checks)
		seen := map[string]bool{}
		for _, c := range checks {
			if c.Value != nil && c.Status != "unknown" {
				seen[c.Name] = true
			}
		}
		return seen["cpu"] && seen["memory"] && seen["disk"]
	})

	if code := e.api("POST", fmt.Sprintf("/api/v1/devices/%d/run-checks", id), nil); code != http.StatusOK {
		t.Fatalf("run-checks: HTTP %d", code)
	}
	if code := e.api("GET", "/api/v1/devices/999999", nil); code != http.StatusNotFound {
		t.Errorf("unknown device: HTTP %d, want 404", code)
	}
	status := mustRun(t, nil, "wacht-agent", "status", "--data", e.agentDir)
	if !strings.Contains(strings.ToLower(status), "connected") {
		t.Errorf("status does not say connected:\n%s", status)
	}
}

func TestExpiredTokenEnrollsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.token("--expires", "1ms")
	time.Sleep(10 * time.Millisecond)
	_, err := run(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", tok)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "expired") {
		t.Fatalf("enrollment with an expired token: %v, want an 'expired' refusal", err)
	}
	var devices []apiDevice
	e.api("GET", "/api/v1/devices", &devices)
	if len(devices) != 0 {
		t.Fatalf("expired token enrolled %d devices", len(devices))
	}
}

// readTrace returns the result IDs the agent logged as produced.
func readTrace(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return map[string]bool{}
	}
	defer f.Close()
	ids := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			ids[id] = true
		}
	}
	return ids
}

// storedResults opens the server's database beside the running server and
// returns every stored result ID of its devices with how often it is
// stored.
func storedResults(t *testing.T, data string) map[string]int {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	defer db.Close()
	devs, err := db.ListDevices(ctx)
	if err != nil || len(devs) == 0 {
		t.Fatalf("devices: %v %v", devs, err)
	}
	n := map[string]int{}
	for _, d := range devs {
		rs, err := db.ListResults(ctx, d.ID, time.Time{}, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			n[r.ID]++
		}
	}
	return n
}

func TestServerKilledMidStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	trace := filepath.Join(t.TempDir(), "trace")
	agentArgs := []string{"run", "--data", e.agentDir, "--interval", "1s", "--trace-results", trace, "--checks", fastChecks}
	agent := start(t, "wacht-agent", agentArgs...)

	waitFor(t, "first results", 60*time.Second, func() bool { return len(storedResults(t, e.data)) > 0 })
	e.server.stop(t, syscall.SIGKILL)
	// The agent keeps producing into its spool while the server is gone.
	before := len(readTrace(t, trace))
	waitFor(t, "results produced while the server is down", 30*time.Second, func() bool {
		return len(readTrace(t, trace)) > before+3
	})
	e.server, _ = startServer(t, e.data, e.addr)
	time.Sleep(3 * time.Second)
	// And once more: stop the agent cleanly and restart it, with results
	// still in its spool.
	agent.stop(t, syscall.SIGTERM)
	agent = start(t, "wacht-agent", agentArgs...)

	produced := readTrace(t, trace)
	if len(produced) < 10 {
		t.Fatalf("agent traced only %d results", len(produced))
	}
	var stored map[string]int
	waitFor(t, "every produced result to be stored", 90*time.Second, func() bool {
		stored = storedResults(t, e.data)
		for id := range produced {
			if stored[id] == 0 {
				return false
			}
		}
		return true
	})
	agent.stop(t, syscall.SIGTERM)
	all := readTrace(t, trace)
	for id, n := range storedResults(t, e.data) {
		if n != 1 {
			t.Errorf("result %s stored %d times", id, n)
		}
		if !all[id] {
			t.Errorf("stored result %s was never produced by the agent", id)
		}
	}
	t.Logf("%d results produced before the final restart, all stored exactly once", len(produced))
}

// Compile-time check that the store still satisfies the interface used above.
var _ core.Store = (*store.DB)(nil)
