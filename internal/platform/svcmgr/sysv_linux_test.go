package svcmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check/checktest"
)

// The tests start init scripts they write to temporary folders.
func init() { checktest.Allow([]string{os.TempDir()}, nil) }

// testSysV writes testdata/wachttest.init (an LSB init script around
// sleep whose stop does nothing while a file "stubborn" lies beside its
// pid file, as a service that does not stop, and whose daemon keeps the
// script's output open while a file "holds-output" lies there) as service
// name into a temporary init folder and kills what it started at cleanup.
// A stop waits 200ms for the service to end, not the agent's StopTimeout:
// only the stubborn case waits that long.
func testSysV(t *testing.T, name string) (*SysV, string) {
	t.Helper()
	root := t.TempDir()
	m := &SysV{InitDir: filepath.Join(root, "init.d"), RCDirs: []string{filepath.Join(root, "rc2.d")}, Timeout: 20 * time.Second, StopWait: 200 * time.Millisecond}
	for _, d := range []string{m.InitDir, m.RCDirs[0]} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile(filepath.Join("testdata", "wachttest.init"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.InitDir, name), script, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(root, name+".pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	return m, root
}

// TestSysVControl starts and stops a real init script, and reports a stop
// that does not stop, an unknown service and the start type it cannot set.
func TestSysVControl(t *testing.T) {
	m, root := testSysV(t, "wachttest")
	ctx := context.Background()
	s, err := m.Get(ctx, "wachttest")
	if err != nil || s.Running || s.State != "stopped" || s.StartType != "manual" || s.Description != "Wacht-Testdienst für Größen" {
		t.Fatalf("before start: %+v %v", s, err)
	}
	if err := m.Start(ctx, "wachttest"); err != nil {
		t.Fatal(err)
	}
	if s, err = m.Get(ctx, "wachttest"); err != nil || !s.Running {
		t.Fatalf("after start: %+v %v", s, err)
	}
	if err := Restart(ctx, m, "wachttest"); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctx, "wachttest"); err != nil {
		t.Fatal(err)
	}
	if s, err = m.Get(ctx, "wachttest"); err != nil || s.Running {
		t.Fatalf("after stop: %+v %v", s, err)
	}

	// A daemon that keeps the script's output open holds Start for
	// WaitDelay only, and the start counts.
	os.WriteFile(filepath.Join(root, "holds-output"), nil, 0o600)
	if err := m.Start(ctx, "wachttest"); err != nil {
		t.Fatalf("start of a daemon holding the output: %v", err)
	}
	if s, err = m.Get(ctx, "wachttest"); err != nil || !s.Running {
		t.Fatalf("after a start holding the output: %+v %v", s, err)
	}
	os.WriteFile(filepath.Join(root, "stubborn"), nil, 0o600)
	if err := m.Stop(ctx, "wachttest"); !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "did not stop within 200ms") {
		t.Errorf("stubborn stop: %v", err)
	}

	for _, op := range []func(string) error{
		func(n string) error { _, err := m.Get(ctx, n); return err },
		func(n string) error { return m.Start(ctx, n) },
		func(n string) error { return m.Stop(ctx, n) },
	} {
		for _, n := range []string{"fehlt", "../init.d/wachttest", ""} {
			if err := op(n); !errors.Is(err, ErrNotFound) {
				t.Errorf("%q: %v, want not found", n, err)
			}
		}
	}
	if err := m.SetStartType(ctx, "wachttest", "disabled"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("set start type: %v", err)
	}
	os.Symlink("../init.d/wachttest", filepath.Join(m.RCDirs[0], "S01wachttest"))
	if s, err = m.Get(ctx, "wachttest"); err != nil || s.StartType != "automatic" || !s.Auto {
		t.Errorf("enabled: %+v %v", s, err)
	}
}

// TestSysVThisMachine reads this machine's own init scripts when it runs
// without systemd (the project's VMs and CI): PostgreSQL, which CI starts,
// must show as running.
func TestSysVThisMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every init script's status on this machine; runs without -short")
	}
	if _, err := os.Stat("/run/systemd/system"); err == nil {
		t.Skip("systemd runs here; the fallback is not this machine's path")
	}
	if _, err := os.Stat("/etc/init.d/postgresql"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no /etc/init.d/postgresql in CI")
		}
		t.Skip("no PostgreSQL init script")
	}
	m, err := New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*SysV); !ok {
		t.Fatalf("manager %T, want the SysV fallback", m)
	}
	svcs, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var pg *Service
	for i, s := range svcs {
		t.Logf("%-20s auto=%-5v running=%-5v %s", s.Name, s.Auto, s.Running, s.State)
		if s.Name == "postgresql" {
			pg = &svcs[i]
		}
	}
	if pg == nil || !pg.Running {
		t.Fatalf("postgresql: %+v", pg)
	}
}
