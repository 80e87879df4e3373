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
)

// initScript is a minimal LSB init script around `sleep`, which leaves its
// stdout open on purpose (as careless daemons do).
const initScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          wachttest
# Default-Start:     2 3 4 5
### END INIT INFO
PIDFILE="$(dirname "$0")/../wachttest.pid"
case "$1" in
start)  sleep 300 & echo $! > "$PIDFILE" ;;
stop)   [ -f "$PIDFILE" ] && kill "$(cat "$PIDFILE")"; rm -f "$PIDFILE" ;;
status) [ -f "$PIDFILE" ] || exit 3
        kill -0 "$(cat "$PIDFILE")" 2>/dev/null && exit 0
        exit 1 ;;
*)      echo "Usage: $0 {start|stop|status}"; exit 2 ;;
esac
`

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
	if err := os.WriteFile(filepath.Join(initDir, "wachttest"), []byte(initScript), 0o755); err != nil {
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
	m := &sysvManager{initDir: initDir, rcDirs: []string{rc2}, timeout: 10 * time.Second}
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
	if running, state := m.status(context.Background(), filepath.Join(initDir, "wachttest")); !running {
		t.Fatalf("not running after restart: %s", state)
	}

	// Dead with its pid file left: LSB exit 1.
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if running, _ := m.status(context.Background(), filepath.Join(initDir, "wachttest")); !running {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if running, state := m.status(context.Background(), filepath.Join(initDir, "wachttest")); running || state != "dead, pid file exists" {
		t.Fatalf("after kill: %v %s", running, state)
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
	m, err := newManager(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*sysvManager); !ok {
		t.Fatalf("manager %T, want the SysV fallback", m)
	}
	svcs, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var pg *service
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
