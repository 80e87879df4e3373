package services

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
)

// TestSysVFallbackReal runs real init scripts through the systemd-less
// fallback: a stopped enabled service is found, restarted and running.
func TestSysVFallbackReal(t *testing.T) {
	root := t.TempDir()
	initDir, rc2 := filepath.Join(root, "init.d"), filepath.Join(root, "rc2.d")
	for _, d := range []string{initDir, rc2} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The service manager's test init script.
	initScript, err := os.ReadFile("../../platform/svcmgr/testdata/wachttest.init")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(initDir, "wachttest"), initScript, 0o755); err != nil {
		t.Fatal(err)
	}
	// A boot-time script without a status action, and a disabled one.
	os.WriteFile(filepath.Join(initDir, "bootonly"), []byte("#!/bin/sh\nexit 0\n"), 0o755)
	os.WriteFile(filepath.Join(initDir, "README"), []byte("not a script"), 0o644)
	if err := os.Symlink("../init.d/wachttest", filepath.Join(rc2, "S01wachttest")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("../init.d/bootonly", filepath.Join(rc2, "S01bootonly"))
	pidFile := filepath.Join(root, "wachttest.pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	m := &svcmgr.SysV{InitDir: initDir, RCDirs: []string{rc2}, Timeout: 10 * time.Second, StopWait: 10 * time.Second}
	check.SetStateDir(t.TempDir())
	t.Cleanup(func() { check.SetStateDir("") })

	c, err := newCheck(nil, func(context.Context) (manager, error) { return m, nil }, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if r := got[0]; r.Status != core.StatusFailure || r.Message.EN != "1 of 2 automatic services are not running: wachttest (stopped)" {
		t.Fatalf("stopped: %+v", r)
	}

	c, _ = newCheck([]byte(`{"restart":true}`), func(context.Context) (manager, error) { return m, nil }, time.Now)
	got = nil
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if r := got[0]; r.Status != core.StatusWarning || *r.Value != 0 || !strings.Contains(r.Message.EN, "restarted wachttest (restart 1 of at most 2 in a row") {
		t.Fatalf("restart: %+v", r)
	}
	if s, err := m.Get(context.Background(), "wachttest"); err != nil || !s.Running {
		t.Fatalf("not running after restart: %+v %v", s, err)
	}

	// Dead with its pid file left: LSB exit 1.
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if s, _ := m.Get(context.Background(), "wachttest"); !s.Running {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s, err := m.Get(context.Background(), "wachttest"); err != nil || s.Running || s.State != "dead, pid file exists" {
		t.Fatalf("after kill: %+v %v", s, err)
	}
}
