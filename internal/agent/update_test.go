package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
)

// buildTiny cross-builds a tiny Go program (main body src) for goos/goarch
// into dir and returns its path. Builds are cached per process.
var tinyBuilds sync.Map

func buildTiny(t testing.TB, goos, goarch, body string) string {
	t.Helper()
	key := goos + "/" + goarch + "/" + body
	if p, ok := tinyBuilds.Load(key); ok {
		return p.(string)
	}
	dir, err := os.MkdirTemp("", "wacht-tiny-")
	if err != nil {
		t.Fatal(err)
	}
	src := "package main\n\nimport \"os\"\n\nfunc main() {\n\t_ = os.Args\n\t" + body + "\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644)
	out := filepath.Join(dir, "tiny")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a tiny %s/%s program: %v\n%s", goos, goarch, err, b)
	}
	tinyBuilds.Store(key, out)
	return out
}

// signBuild describes and signs the file at path as an agent binary.
func signBuild(t testing.TB, key ed25519.PrivateKey, path, version, goos, goarch string) release.Signed {
	t.Helper()
	m, err := release.Describe(path)
	if err != nil {
		t.Fatal(err)
	}
	m.Kind, m.Version, m.OS, m.Arch = release.KindBinary, version, goos, goarch
	s, err := release.Sign(key, m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newReleaseKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pub, priv
}

func TestCheckUpdateRefusals(t *testing.T) {
	pub, priv := newReleaseKey(t)
	otherPub, otherPriv := newReleaseKey(t)
	bin := filepath.Join(t.TempDir(), "b")
	os.WriteFile(bin, []byte("an agent build"), 0o755)
	good := signBuild(t, priv, bin, "1.2.0", "linux", "amd64")
	keys := []ed25519.PublicKey{pub}
	args := func(s release.Signed) protocol.AgentUpdateArgs {
		return protocol.AgentUpdateArgs{Build: s, Ticket: "x"}
	}

	tampered := good
	tampered.Manifest.Size++
	installer := signBuild(t, priv, bin, "1.2.0", "linux", "amd64")
	installer.Manifest.Kind = release.KindDeb
	installer, _ = release.Sign(priv, installer.Manifest)
	cases := []struct {
		name     string
		ua       protocol.AgentUpdateArgs
		keys     []ed25519.PublicKey
		local    bool
		lock     bool
		running  string
		arch     string
		rejected []string
		code     string // "" accepted
		current  bool
	}{
		{name: "accepted", ua: args(good), keys: keys, running: "1.1.0"},
		{name: "no key", ua: args(good), running: "1.1.0", code: protocol.CodeNoReleaseKey},
		{name: "other key signed", ua: args(signBuild(t, otherPriv, bin, "1.2.0", "linux", "amd64")), keys: keys, running: "1.1.0", code: protocol.CodeBadSignature},
		{name: "agent trusts another key", ua: args(good), keys: []ed25519.PublicKey{otherPub}, running: "1.1.0", code: protocol.CodeBadSignature},
		{name: "manifest changed after signing", ua: args(tampered), keys: keys, running: "1.1.0", code: protocol.CodeBadSignature},
		{name: "not a binary", ua: args(installer), keys: keys, running: "1.1.0", code: protocol.CodeBadArgs},
		{name: "other arch", ua: args(good), keys: keys, running: "1.1.0", arch: "arm64", code: protocol.CodeWrongPlatform},
		{name: "same version", ua: args(good), keys: keys, running: "1.2.0", current: true},
		{name: "downgrade refused", ua: args(good), keys: keys, running: "1.10.0", code: protocol.CodeDowngrade},
		{name: "a dev build is newer than any release", ua: args(good), keys: keys, running: "dev", code: protocol.CodeDowngrade},
		{name: "downgrade allowed", ua: protocol.AgentUpdateArgs{Build: good, AllowDowngrade: true}, keys: keys, running: "1.10.0"},
		{name: "ordered make versions", ua: args(signBuild(t, priv, bin, "0.412.0+gabc1234", "linux", "amd64")), keys: keys, running: "0.99.0+gffff000", code: ""},
		{name: "lock mode with the server's key", ua: args(good), keys: keys, lock: true, running: "1.1.0", code: protocol.CodeScriptSigner},
		{name: "lock mode with a local key", ua: args(good), keys: keys, lock: true, local: true, running: "1.1.0"},
		{name: "rolled back before", ua: args(good), keys: keys, running: "1.1.0", rejected: []string{good.Manifest.SHA256}, code: protocol.CodeFailed},
		{name: "rolled back, sent again with allow downgrade", ua: protocol.AgentUpdateArgs{Build: good, AllowDowngrade: true}, keys: keys, running: "1.1.0", rejected: []string{good.Manifest.SHA256}},
		{name: "watchdog too short", ua: protocol.AgentUpdateArgs{Build: good, WatchdogSeconds: 1}, keys: keys, running: "1.1.0", code: protocol.CodeBadArgs},
	}
	for _, c := range cases {
		arch := c.arch
		if arch == "" {
			arch = "amd64"
		}
		plan, err := checkUpdate(c.ua, c.keys, c.local, c.lock, c.running, "linux", arch, c.rejected)
		if c.code == "" {
			if err != nil || plan.current != c.current {
				t.Errorf("%s: %+v, %v; want accepted (current %v)", c.name, plan, err, c.current)
			}
			continue
		}
		wantCode(t, c.name, err, c.code)
	}
}

func TestCheckBuildFile(t *testing.T) {
	_, priv := newReleaseKey(t)
	host := buildTiny(t, runtime.GOOS, runtime.GOARCH, "os.Exit(0)")
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	arm := buildTiny(t, runtime.GOOS, other, "os.Exit(0)")
	win := buildTiny(t, "windows", "amd64", "os.Exit(0)")
	s := signBuild(t, priv, host, "2.0.0", runtime.GOOS, runtime.GOARCH)
	if err := checkBuildFile(host, s.Manifest, runtime.GOOS, runtime.GOARCH); err != nil {
		t.Fatalf("the right build: %v", err)
	}
	b, _ := os.ReadFile(host)
	dir := t.TempDir()
	tampered := filepath.Join(dir, "tampered")
	bad := bytes.Clone(b)
	bad[len(bad)/2] ^= 0xff
	os.WriteFile(tampered, bad, 0o755)
	wantCode(t, "tampered", checkBuildFile(tampered, s.Manifest, runtime.GOOS, runtime.GOARCH), protocol.CodeHashMismatch)
	truncated := filepath.Join(dir, "truncated")
	os.WriteFile(truncated, b[:len(b)-100], 0o755)
	wantCode(t, "truncated", checkBuildFile(truncated, s.Manifest, runtime.GOOS, runtime.GOARCH), protocol.CodeHashMismatch)
	// A build for another architecture, signed as if for this one: the
	// header gives it away.
	for _, p := range []string{arm, win} {
		m := signBuild(t, priv, p, "2.0.0", runtime.GOOS, runtime.GOARCH).Manifest
		wantCode(t, p, checkBuildFile(p, m, runtime.GOOS, runtime.GOARCH), protocol.CodeWrongPlatform)
	}
	script := filepath.Join(dir, "script")
	os.WriteFile(script, []byte("#!/bin/sh\nrm -rf /\n"), 0o755)
	m := signBuild(t, priv, script, "2.0.0", runtime.GOOS, runtime.GOARCH).Manifest
	wantCode(t, "a script", checkBuildFile(script, m, runtime.GOOS, runtime.GOARCH), protocol.CodeWrongPlatform)
}

// updateAgent is an Agent with just what agentUpdate uses, its
// executable a copy of a tiny program in its own folder, and a blob server
// serving data.
func updateAgent(t *testing.T, pub ed25519.PublicKey, data []byte) (*Agent, BlobRef, *blobServer) {
	t.Helper()
	bs, ref := newBlobServer(t, data)
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "wacht-agent")
	os.MkdirAll(filepath.Dir(exe), 0o755)
	if err := copyFileSync(buildTiny(t, runtime.GOOS, runtime.GOARCH, "os.Exit(0)"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	a := &Agent{
		opts:   Options{DataDir: filepath.Join(dir, "data"), Executable: exe, Args: []string{"run"}, downloadBackoff: time.Millisecond},
		cfg:    Config{ServerURL: bs.URL},
		client: NewHTTPClient(protocol.Fingerprint(bs.Certificate().Raw)),
		log:    slog.New(slog.DiscardHandler),
		upd:    &updater{keys: [][]byte{pub}},
	}
	os.MkdirAll(a.opts.DataDir, 0o700)
	return a, ref, bs
}

func setVersion(t *testing.T, v string) {
	old := Version
	Version = v
	t.Cleanup(func() { Version = old })
}

func TestAgentUpdateStagesAndRefuses(t *testing.T) {
	setVersion(t, "1.0.0")
	pub, priv := newReleaseKey(t)
	newBuild := buildTiny(t, runtime.GOOS, runtime.GOARCH, "os.Exit(3)")
	data, _ := os.ReadFile(newBuild)
	s := signBuild(t, priv, newBuild, "1.1.0", runtime.GOOS, runtime.GOARCH)

	t.Run("tampered download", func(t *testing.T) {
		// The server (or a man in the middle) serves other bytes than
		// the signed ones, whole or truncated.
		bad := bytes.Clone(data)
		bad[100] ^= 1
		a, ref, bs := updateAgent(t, pub, data)
		bs.hook = func(n int, w http.ResponseWriter, r *http.Request) bool {
			if n%2 == 0 {
				w.Write(bad)
			} else {
				w.Write(data[:len(data)/2])
			}
			return true
		}
		ua := protocol.AgentUpdateArgs{Build: s, Ticket: ref.Ticket}
		_, err := a.agentUpdate(ctxT(t), ua)
		wantCode(t, "tampered", err, protocol.CodeHashMismatch)
		assertNoStage(t, a)
	})
	t.Run("disk full", func(t *testing.T) {
		a, ref, _ := updateAgent(t, pub, data)
		old := diskFree
		diskFree = func(string) (uint64, error) { return 1 << 20, nil }
		t.Cleanup(func() { diskFree = old })
		_, err := a.agentUpdate(ctxT(t), protocol.AgentUpdateArgs{Build: s, Ticket: ref.Ticket})
		wantCode(t, "disk full", err, protocol.CodeDiskFull)
		assertNoStage(t, a)
	})
	t.Run("staged", func(t *testing.T) {
		a, ref, _ := updateAgent(t, pub, data)
		oldExe, _ := os.ReadFile(a.opts.Executable)
		out, err := a.agentUpdate(ctxT(t), protocol.AgentUpdateArgs{RolloutID: 9, Build: s, Ticket: ref.Ticket, WatchdogSeconds: 30})
		if err != nil {
			t.Fatal(err)
		}
		if r := out.(protocol.AgentUpdateResult); r.State != protocol.UpdateRestarting || r.From != "1.0.0" || r.To != "1.1.0" {
			t.Errorf("result %+v", r)
		}
		if got, _ := os.ReadFile(a.opts.Executable); !bytes.Equal(got, data) {
			t.Error("the executable is not the new build")
		}
		if got, _ := os.ReadFile(a.opts.Executable + suffixPrev); !bytes.Equal(got, oldExe) {
			t.Error("the previous build is not kept as .prev")
		}
		st, err := readUpdateState(a.opts.DataDir)
		if err != nil || st.Phase != PhaseTrial || st.RolloutID != 9 || st.SHA256 != s.Manifest.SHA256 || st.WatchdogSeconds != 30 || st.PID != os.Getpid() {
			t.Errorf("state %+v, %v", st, err)
		}
		// A second update while this one is pending is refused.
		_, err = a.agentUpdate(ctxT(t), protocol.AgentUpdateArgs{Build: s, Ticket: ref.Ticket})
		wantCode(t, "second update", err, protocol.CodeBusy)
	})
}

func assertNoStage(t *testing.T, a *Agent) {
	t.Helper()
	for _, f := range []string{a.opts.Executable + suffixNew, filepath.Join(a.opts.DataDir, UpdateFile)} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s exists after a refused update", f)
		}
	}
	if a.upd.staged != nil {
		t.Error("a refused update is staged")
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestStageSurvivesPowerCut cuts the replacement after each step and
// checks that the executable is a complete old or new build and that the
// next start of whichever build is there resolves the state.
func TestStageSurvivesPowerCut(t *testing.T) {
	oldB := []byte("\x7fELF old build " + strings.Repeat("o", 5000))
	newB := []byte("\x7fELF new build " + strings.Repeat("n", 7000))
	for _, step := range []string{"new", "prev", "state", "replace"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			exe := filepath.Join(dir, "bin", "wacht-agent")
			os.MkdirAll(filepath.Dir(exe), 0o755)
			os.WriteFile(exe, oldB, 0o755)
			src := filepath.Join(dir, "download")
			os.WriteFile(src, newB, 0o600)
			st := UpdateState{From: "1.0.0", To: "1.1.0", SHA256: sha(newB), Exe: exe, WatchdogSeconds: 60, Phase: PhaseTrial, Staged: time.Now()}
			err := stageUpdate(src, &st, data, func(s string) error {
				if s == step {
					return errPowerCut
				}
				return nil
			})
			if !errors.Is(err, errPowerCut) {
				t.Fatalf("stage: %v", err)
			}
			got, _ := os.ReadFile(exe)
			replaced := bytes.Equal(got, newB)
			if !replaced && !bytes.Equal(got, oldB) {
				t.Fatalf("after a cut at %s the executable is neither build (%d bytes)", step, len(got))
			}
			if replaced != (step == "replace") {
				t.Errorf("cut at %s: replaced %v", step, replaced)
			}
			// The next start: whichever build the executable holds.
			running := "1.0.0"
			if replaced {
				running = "1.1.0"
			}
			now := time.Now()
			res, trial, err := resolveUpdate(data, exe, running, now)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case replaced:
				if !trial || res.Phase != PhaseTrial || !res.Restarted.Equal(now) || res.Deadline.Sub(now) != time.Minute || watchdogAlive(res) {
					t.Errorf("the new build after a cut: trial %v, %+v (it must start a watchdog)", trial, res)
				}
				if b, _ := os.ReadFile(exe + suffixPrev); !bytes.Equal(b, oldB) {
					t.Error("no complete previous build to roll back to")
				}
			case step == "state":
				if trial || res.Phase != PhaseFailed || res.Report == nil || res.Report.State != core.UpdateFailed || res.Report.Message.DE == "" {
					t.Errorf("the old build after a cut before the rename: trial %v, %+v", trial, res)
				}
			default:
				if trial || res.Phase != "" {
					t.Errorf("no state was written, yet: trial %v, %+v", trial, res)
				}
			}
			if !replaced {
				if _, err := os.Stat(exe + suffixNew); err == nil {
					t.Error("the .new file survives the next start")
				}
			}
		})
	}
}

func TestDecideWatch(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	trial := UpdateState{Phase: PhaseTrial, Deadline: now.Add(time.Minute)}
	svc := trial
	svc.Service = true
	late := trial
	late.Deadline = now
	lateSvc := late
	lateSvc.Service = true
	committed := trial
	committed.Phase = PhaseCommitted
	cases := []struct {
		name          string
		st            UpdateState
		alive, exited bool
		want          watchStep
		code          string
	}{
		{"committed", committed, true, false, watchExit, ""},
		{"committed and exited", committed, false, true, watchExit, ""},
		{"running, in time", trial, true, false, watchWait, ""},
		{"foreground build exited", trial, false, true, watchRollback, CodeUpdateCrashed},
		{"service restarting it", svc, false, true, watchWait, ""},
		{"service restarted it, running again, in time", svc, true, true, watchWait, ""},
		{"no welcome in time", late, true, false, watchRollback, CodeUpdateTimeout},
		{"service no welcome in time", lateSvc, true, false, watchRollback, CodeUpdateTimeout},
		{"service crash loop until the deadline", lateSvc, false, true, watchRollback, CodeUpdateCrashed},
		{"service crash loop, restarted just at the deadline", lateSvc, true, true, watchRollback, CodeUpdateCrashed},
		{"rolled back already", UpdateState{Phase: PhaseRolledBack}, false, true, watchExit, ""},
	}
	for _, c := range cases {
		got, code := decideWatch(c.st, now, c.alive, c.exited)
		if got != c.want || code != c.code {
			t.Errorf("%s: %v %q, want %v %q", c.name, got, code, c.want, c.code)
		}
	}
}

// fakeControl records the watchdog's calls. With downOnce its first
// Alive says the agent is not running (a service manager's crash loop
// caught between two restarts), every later one says it runs.
type fakeControl struct {
	mu       sync.Mutex
	calls    []string
	alive    bool
	downOnce bool
}

func (f *fakeControl) call(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }
func (f *fakeControl) Restart(UpdateState) error {
	f.call("restart")
	return nil
}
func (f *fakeControl) Stop(UpdateState) error {
	f.call("stop")
	f.mu.Lock()
	f.alive = false
	f.mu.Unlock()
	return nil
}
func (f *fakeControl) Start(UpdateState) error {
	f.call("start")
	return nil
}
func (f *fakeControl) Alive(UpdateState) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.downOnce {
		f.downOnce = false
		return false
	}
	return f.alive
}

func TestWatchdogRollsBackAndCommits(t *testing.T) {
	oldB, newB := []byte("old build"), []byte("new build")
	setup := func(t *testing.T) (string, string) {
		dir := t.TempDir()
		exe := filepath.Join(dir, "wacht-agent")
		os.WriteFile(exe, newB, 0o755)
		os.WriteFile(exe+suffixPrev, oldB, 0o755)
		data := filepath.Join(dir, "data")
		if err := writeUpdateState(data, UpdateState{RolloutID: 4, From: "1.0", To: "1.1", SHA256: sha(newB), Exe: exe, WatchdogSeconds: 1, Phase: PhaseTrial, Service: true}); err != nil {
			t.Fatal(err)
		}
		return data, exe
	}
	t.Run("timeout", func(t *testing.T) {
		data, exe := setup(t)
		ctl := &fakeControl{alive: true}
		if err := RunWatchdog(ctxT(t), WatchdogOptions{DataDir: data, Service: ctl, Poll: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if strings.Join(ctl.calls, ",") != "restart,stop,start" {
			t.Errorf("calls %v", ctl.calls)
		}
		if b, _ := os.ReadFile(exe); !bytes.Equal(b, oldB) {
			t.Error("the previous build was not restored")
		}
		st, _ := readUpdateState(data)
		if st.Phase != PhaseRolledBack || st.Report == nil || st.Report.State != core.UpdateRolledBack || st.Report.Code != CodeUpdateTimeout ||
			st.Report.RolloutID != 4 || !strings.Contains(st.Report.Message.DE, "1.1") || len(st.Rejected) != 1 || st.Rejected[0] != sha(newB) {
			t.Errorf("state %+v report %+v", st, st.Report)
		}
		// The old build's next start reports it, then forgets the report
		// once welcomed, but remembers the rejected build.
		a := &Agent{opts: Options{DataDir: data, Executable: exe}, log: slog.New(slog.DiscardHandler), upd: &updater{}}
		setVersion(t, "1.0")
		a.recoverUpdate()
		r := a.upd.pendingReport()
		if r == nil || r.State != core.UpdateRolledBack {
			t.Fatalf("pending report %+v", r)
		}
		a.updateWelcomed(r)
		st, _ = readUpdateState(data)
		if a.upd.pendingReport() != nil || st.Report != nil || len(st.Rejected) != 1 {
			t.Errorf("after the welcome: %+v, %+v", a.upd.pendingReport(), st)
		}
	})
	t.Run("service_crash_loop", func(t *testing.T) {
		// The service manager restarts the crashing build; the watchdog
		// saw it down once and finds it running at the deadline: it
		// crashed, it did not just fail to connect.
		data, exe := setup(t)
		ctl := &fakeControl{alive: true, downOnce: true}
		if err := RunWatchdog(ctxT(t), WatchdogOptions{DataDir: data, Service: ctl, Poll: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if strings.Join(ctl.calls, ",") != "restart,stop,start" {
			t.Errorf("calls %v", ctl.calls)
		}
		if b, _ := os.ReadFile(exe); !bytes.Equal(b, oldB) {
			t.Error("the previous build was not restored")
		}
		st, _ := readUpdateState(data)
		if st.Phase != PhaseRolledBack || st.Report == nil || st.Report.Code != CodeUpdateCrashed || !strings.Contains(st.Report.Message.EN, "exited") {
			t.Errorf("state %+v report %+v, want rolled back with %s", st, st.Report, CodeUpdateCrashed)
		}
	})
	t.Run("committed", func(t *testing.T) {
		data, exe := setup(t)
		ctl := &fakeControl{alive: true}
		done := make(chan error, 1)
		go func() {
			done <- RunWatchdog(ctxT(t), WatchdogOptions{DataDir: data, Service: ctl, Poll: 50 * time.Millisecond})
		}()
		waitLive(t, "the watchdog restarting the agent", func() bool {
			st, _ := readUpdateState(data)
			return st.WatchdogPID == os.Getpid() && !st.Restarted.IsZero()
		})
		// The new build starts, is welcomed and commits.
		a := &Agent{opts: Options{DataDir: data, Executable: exe}, log: slog.New(slog.DiscardHandler), upd: &updater{}}
		setVersion(t, "1.1")
		a.recoverUpdate()
		r := a.upd.pendingReport()
		if r == nil || r.State != core.UpdateDone || r.To != "1.1" {
			t.Fatalf("the new build's report %+v", r)
		}
		a.updateWelcomed(r)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(exe); !bytes.Equal(b, newB) {
			t.Error("a committed build was rolled back")
		}
		st, _ := readUpdateState(data)
		if st.Phase != PhaseCommitted || a.upd.pendingReport() != nil || slices.Contains(ctl.calls, "stop") {
			t.Errorf("state %+v, calls %v", st, ctl.calls)
		}
	})
}

// TestReleaseKeyPinning: enrollment pins the server's release keys unless
// a local key is set; a welcome pins them once for an agent that has
// none, and never replaces pinned or local ones.
func TestReleaseKeyPinning(t *testing.T) {
	actionPub, _ := newReleaseKey(t)
	serverRel, _ := newReleaseKey(t)
	otherRel, _ := newReleaseKey(t)
	localRel, _ := newReleaseKey(t)
	keys := [][]byte{serverRel}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(protocol.EnrollResponse{DeviceID: 9, ActionKey: actionPub, ReleaseKeys: keys})
	}))
	defer srv.Close()
	tok := protocol.Token{URL: srv.URL, Fingerprint: protocol.Fingerprint(srv.Certificate().Raw), Secret: "s"}.String()

	dir := t.TempDir()
	if _, err := Enroll(context.Background(), tok, "", dir, true); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(dir)
	if err != nil || len(cfg.ReleaseKeys) != 1 || !bytes.Equal(cfg.ReleaseKeys[0], serverRel) || cfg.LocalReleaseKey {
		t.Fatalf("pinned at enrollment: %+v, %v", cfg, err)
	}
	// A welcome does not replace a pinned key.
	a := &Agent{opts: Options{DataDir: dir}, cfg: cfg, log: slog.New(slog.DiscardHandler), upd: newUpdater(cfg)}
	a.pinReleaseKeys([][]byte{otherRel})
	if a.releaseKeyFingerprint() != release.Fingerprint(serverRel) {
		t.Error("a welcome replaced the pinned release key")
	}

	// A local key survives re-enrollment and is never replaced.
	if err := SetReleaseKey(dir, localRel); err != nil {
		t.Fatal(err)
	}
	if _, err := Enroll(context.Background(), tok, "", dir, false); err != nil {
		t.Fatal(err)
	}
	cfg, _ = LoadConfig(dir)
	if len(cfg.ReleaseKeys) != 1 || !bytes.Equal(cfg.ReleaseKeys[0], localRel) || !cfg.LocalReleaseKey {
		t.Fatalf("local key after re-enrollment: %+v", cfg)
	}

	// An agent enrolled before servers handed out release keys pins them
	// from its first welcome, once.
	dir2 := t.TempDir()
	keys = nil
	if _, err := Enroll(context.Background(), tok, "", dir2, true); err != nil {
		t.Fatal(err)
	}
	cfg, _ = LoadConfig(dir2)
	a = &Agent{opts: Options{DataDir: dir2}, cfg: cfg, log: slog.New(slog.DiscardHandler), upd: newUpdater(cfg)}
	if a.releaseKeyFingerprint() != "" {
		t.Fatal("a release key without any")
	}
	a.pinReleaseKeys([][]byte{serverRel})
	a.pinReleaseKeys([][]byte{otherRel})
	cfg, _ = LoadConfig(dir2)
	if a.releaseKeyFingerprint() != release.Fingerprint(serverRel) || len(cfg.ReleaseKeys) != 1 || !bytes.Equal(cfg.ReleaseKeys[0], serverRel) {
		t.Errorf("pinned from the welcome: %s, %+v", a.releaseKeyFingerprint(), cfg)
	}
}

// TestWatchdogThatCannotStartUndoesTheUpdate: a staged update whose
// watchdog cannot start (no .prev to run it from) is undone at once and
// reported as failed.
func TestWatchdogThatCannotStartUndoesTheUpdate(t *testing.T) {
	setVersion(t, "1.0.0")
	pub, priv := newReleaseKey(t)
	newBuild := buildTiny(t, runtime.GOOS, runtime.GOARCH, "os.Exit(3)")
	data, _ := os.ReadFile(newBuild)
	s := signBuild(t, priv, newBuild, "1.1.0", runtime.GOOS, runtime.GOARCH)
	a, ref, _ := updateAgent(t, pub, data)
	oldExe, _ := os.ReadFile(a.opts.Executable)
	if _, err := a.agentUpdate(ctxT(t), protocol.AgentUpdateArgs{Build: s, Ticket: ref.Ticket}); err != nil {
		t.Fatal(err)
	}
	// The watchdog runs from <exe>.prev: make it unrunnable.
	os.Chmod(a.opts.Executable+suffixPrev, 0o600)
	a.afterUpdate()
	if got, _ := os.ReadFile(a.opts.Executable); !bytes.Equal(got, oldExe) {
		t.Error("the previous build was not restored")
	}
	st, _ := readUpdateState(a.opts.DataDir)
	r := a.upd.pendingReport()
	if st.Phase != PhaseFailed || r == nil || r.State != core.UpdateFailed || a.upd.staged != nil {
		t.Errorf("state %+v, report %+v", st, r)
	}
}

// TestAgentUpdateThroughGateway sends agent-update through the real
// gateway's signed action path: the local lock, lock mode and a missing
// release key refuse it before anything is downloaded.
func TestAgentUpdateThroughGateway(t *testing.T) {
	_, priv := newReleaseKey(t)
	bin := filepath.Join(t.TempDir(), "b")
	os.WriteFile(bin, []byte("a build"), 0o755)
	args := protocol.AgentUpdateArgs{RolloutID: 1, Build: signBuild(t, priv, bin, "99.0.0", runtime.GOOS, runtime.GOARCH), Ticket: "t"}
	signer, _ := newReleaseKey(t)
	for _, c := range []struct {
		name string
		o    liveOpts
		code string
	}{
		{"locally locked", liveOpts{disable: []string{protocol.LockSelfUpdate}}, protocol.CodeDisabledLocally},
		{"lock mode", liveOpts{signer: signer}, protocol.CodeScriptSigner},
		{"no release key", liveOpts{}, protocol.CodeNoReleaseKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := startLive(t, c.o)
			err := l.hub.Do(ctxT(t), l.deviceID, protocol.ActionAgentUpdate, args, nil)
			wantCode(t, c.name, err, c.code)
			if _, err := os.Stat(filepath.Join(l.dir, UpdateFile)); err == nil {
				t.Error("a refused update wrote update.json")
			}
		})
	}
}
