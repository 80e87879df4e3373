//go:build linux

package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// buildAgent builds this command with version v into dir.
func buildAgent(t *testing.T, dir, v string) string {
	t.Helper()
	bin := filepath.Join(dir, "wacht-agent-"+v)
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version="+v, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", v, err, out)
	}
	return bin
}

// buildCrasher builds a program that exits 1 at once: a new build that
// crashes at start.
func buildCrasher(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "crasher")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nimport \"os\"\n\nfunc main() { os.Exit(1) }\n"), 0o644)
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module crasher\n\ngo 1.22\n"), 0o644)
	bin := filepath.Join(dir, "crasher-bin")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build crasher: %v\n%s", err, out)
	}
	return bin
}

func copyExe(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readPID(data string) int {
	b, _ := os.ReadFile(filepath.Join(data, agent.AgentPIDFile))
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// TestSelfUpdateProcesses replaces a real foreground agent (version
// 1.0.0) as the agent's update does, and runs the real watchdog from the
// previous binary: a good new build (1.1.0) is started by the watchdog,
// connects, commits and reports the update; a build that crashes at start
// is rolled back and the restored 1.0.0 reports the rollback.
func TestSelfUpdateProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bins := t.TempDir()
	a := buildAgent(t, bins, "1.0.0")
	b := buildAgent(t, bins, "1.1.0")
	crash := buildCrasher(t, bins)
	oldBytes, _ := os.ReadFile(a)

	for _, tc := range []struct {
		name, newBin, phase, to, report, code string
		down                                  bool // the server is gone when the new build starts
	}{
		{name: "commit", newBin: b, phase: agent.PhaseCommitted, to: "1.1.0", report: core.UpdateDone},
		{name: "crash rolled back", newBin: crash, phase: agent.PhaseRolledBack, to: "1.0.0", report: core.UpdateRolledBack, code: agent.CodeUpdateCrashed},
		{name: "no connection rolled back", newBin: b, phase: agent.PhaseRolledBack, to: "1.0.0", report: core.UpdateRolledBack, code: agent.CodeUpdateTimeout, down: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			pub, key, _ := ed25519.GenerateKey(rand.Reader)
			ms := &miniServer{pub: pub, ids: map[string]bool{}}
			srv := httptest.NewTLSServer(ms)
			defer srv.Close()
			data := filepath.Join(tmp, "data")
			agent.SaveKey(data, key)
			if err := agent.SaveConfig(data, agent.Config{ServerURL: srv.URL, Fingerprint: protocol.Fingerprint(srv.Certificate().Raw), DeviceID: 5,
				TrayAddress: filepath.Join(tmp, "tray.sock")}); err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(tmp, "bin", "wacht-agent")
			os.MkdirAll(filepath.Dir(exe), 0o755)
			copyExe(t, a, exe)
			args := []string{"run", "--data", data, "--interval", "1s", "--checks", `{"memory":null}`}
			old := exec.Command(exe, args...)
			var oldLog bytes.Buffer
			old.Stdout, old.Stderr = &oldLog, &oldLog
			if err := old.Start(); err != nil {
				t.Fatal(err)
			}
			oldDone := make(chan error, 1)
			go func() { oldDone <- old.Wait() }()
			defer old.Process.Kill()
			waitFor(t, "the old agent to connect", time.Minute, func() bool { return len(ms.authsSeen()) > 0 })

			// Stage as the agent does: keep the previous binary, record the
			// update, rename the new build over the executable.
			copyExe(t, exe, exe+".prev")
			newBytes, _ := os.ReadFile(tc.newBin)
			st := agent.UpdateState{RolloutID: 3, From: "1.0.0", To: "1.1.0", SHA256: "ab", Exe: exe, Args: args, PID: old.Process.Pid,
				WatchdogSeconds: 60 - 57*btoi(tc.down), Staged: time.Now(), Deadline: time.Now().Add(2 * time.Minute), Phase: agent.PhaseTrial}
			writeState(t, data, st)
			if tc.down {
				srv.CloseClientConnections()
				srv.Listener.Close()
			}
			copyExe(t, tc.newBin, exe+".new")
			if err := os.Rename(exe+".new", exe); err != nil {
				t.Fatal(err)
			}
			wd := exec.Command(exe+".prev", "update-watchdog", "--data", data)
			var wdLog bytes.Buffer
			wd.Stdout, wd.Stderr = &wdLog, &wdLog
			wd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
			if err := wd.Start(); err != nil {
				t.Fatal(err)
			}
			wdDone := make(chan error, 1)
			go func() { wdDone <- wd.Wait() }()
			defer func() {
				wd.Process.Kill()
				if pid := readPID(data); pid > 0 {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}()
			select {
			case <-oldDone:
			case <-time.After(time.Minute):
				t.Fatalf("the watchdog did not stop the old agent; watchdog log:\n%s", wdLog.String())
			}
			select {
			case err := <-wdDone:
				if err != nil {
					t.Fatalf("watchdog: %v\n%s", err, wdLog.String())
				}
			case <-time.After(2 * time.Minute):
				t.Fatalf("the watchdog did not finish; log:\n%s", wdLog.String())
			}
			got := readState(t, data)
			if got.Phase != tc.phase {
				al, _ := os.ReadFile(filepath.Join(data, agent.AgentLogFile))
				t.Fatalf("phase %q, want %q; watchdog log:\n%s\nagent log:\n%s", got.Phase, tc.phase, wdLog.String(), al)
			}
			cur, _ := os.ReadFile(exe)
			if tc.phase == agent.PhaseRolledBack && !bytes.Equal(cur, oldBytes) || tc.phase == agent.PhaseCommitted && !bytes.Equal(cur, newBytes) {
				t.Error("the executable is not the expected build")
			}
			pid := readPID(data)
			if pid <= 0 || syscall.Kill(pid, 0) != nil {
				t.Fatalf("no agent runs after the watchdog (agent.pid %d)", pid)
			}
			if tc.down {
				if got.Report == nil || got.Report.Code != tc.code || got.Report.State != tc.report {
					t.Errorf("report %+v", got.Report)
				}
				al, _ := os.ReadFile(filepath.Join(data, agent.AgentLogFile))
				if !strings.Contains(string(al), "running a new build on trial") {
					t.Errorf("the new build did not run; its log:\n%s", al)
				}
				syscall.Kill(pid, syscall.SIGTERM)
				waitFor(t, "the agent to stop", 40*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
				return
			}
			// The build that runs now reports the outcome in its auth.
			waitFor(t, "the outcome in an auth", time.Minute, func() bool {
				for _, au := range ms.authsSeen() {
					if au.AgentVersion == tc.to && au.Update != nil && au.Update.State == tc.report && au.Update.Code == tc.code && au.Update.RolloutID == 3 {
						return true
					}
				}
				return false
			})
			if tc.phase == agent.PhaseRolledBack {
				if got.Report == nil || got.Report.Message.EN == "" || got.Report.Message.DE == "" {
					t.Errorf("rollback report %+v", got.Report)
				}
			}
			// Stop the agent the watchdog started, as the e2e test does.
			syscall.Kill(pid, syscall.SIGTERM)
			waitFor(t, "the agent to stop", 40*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
		})
	}
}

func writeState(t *testing.T, data string, st agent.UpdateState) {
	t.Helper()
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(data, agent.UpdateFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readState(t *testing.T, data string) agent.UpdateState {
	t.Helper()
	f, err := os.Open(filepath.Join(data, agent.UpdateFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	var st agent.UpdateState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
