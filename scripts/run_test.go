//go:build unix

// Package scripts_test runs the repository's shell scripts against stub
// binaries.
package scripts_test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stub writes an executable shell script.
func stub(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestRunStopsCleanlyOnCtrlC: `make run` stopped with Ctrl-C (SIGINT to
// the whole foreground process group, as a terminal sends it) ends with
// status 0, so make reports no "Error 130", and stops server and agent.
func TestRunStopsCleanlyOnCtrlC(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root := t.TempDir()
	for _, d := range []string{"scripts", "bin"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile("run.sh")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "scripts", "run.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test listens in the server's place; the stubs stand for the
	// long-running server and agent and the one-shot admin commands.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	stub(t, filepath.Join(root, "bin", "wacht"), `case "$1" in serve) exec sleep 600;; token) echo tok;; esac`)
	stub(t, filepath.Join(root, "bin", "wacht-agent"), `case "$1" in run) exec sleep 600;; enroll) mkdir -p "$3" && touch "$3/agent.json";; esac`)

	cmd := exec.Command("bash", filepath.Join(root, "scripts", "run.sh"))
	cmd.Env = append(os.Environ(), "WACHT_DATA="+filepath.Join(root, "data"),
		"WACHT_PORT="+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "Press Ctrl-C to stop") {
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("run.sh did not come up:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if err != nil {
		t.Errorf("run.sh after Ctrl-C: %v (make would say Error %d)\n%s", err, cmd.ProcessState.ExitCode(), out.String())
	}
	// Server and agent are gone with it: nothing is left in the group.
	if err := syscall.Kill(-cmd.Process.Pid, 0); err == nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		t.Error("processes of run.sh still running after Ctrl-C")
	}
}
