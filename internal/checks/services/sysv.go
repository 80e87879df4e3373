//go:build linux

package services

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

// sysvManager is the fallback where systemd does not run (containers,
// systemd-less distributions): init scripts in initDir are the services,
// those with an S link in one of the multi-user runlevel folders start
// automatically, and `SCRIPT status` answers with LSB exit codes
// (0 running, 1/2 dead with pid/lock file left, 3 stopped, 4 unknown).
type sysvManager struct {
	initDir string
	rcDirs  []string
	timeout time.Duration
}

// initDir holds the SysV init scripts, which the agent's allowlist lets the
// check start.
const initDir = "/etc/init.d"

func newSysV() *sysvManager {
	return &sysvManager{
		initDir: initDir,
		rcDirs:  []string{"/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d"},
		timeout: 20 * time.Second,
	}
}

func (m *sysvManager) Close() error { return nil }

// skipScripts are files in init.d that are not services.
var skipScripts = map[string]bool{"README": true, "skeleton": true, "rc": true, "rcS": true, "functions": true, ".depend.boot": true, ".depend.start": true, ".depend.stop": true}

func (m *sysvManager) List(ctx context.Context) ([]service, error) {
	es, err := os.ReadDir(m.initDir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", m.initDir, err)
	}
	auto := m.enabled()
	var out []service
	for _, e := range es {
		n := e.Name()
		if skipScripts[n] || strings.HasPrefix(n, ".") || strings.Contains(n, ".dpkg-") || e.IsDir() {
			continue
		}
		path := filepath.Join(m.initDir, n)
		fi, err := os.Stat(path)
		if err != nil || fi.Mode()&0o111 == 0 {
			continue
		}
		s := service{Name: n, Auto: auto[n]}
		s.Running, s.State = m.status(ctx, path)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out = append(out, s)
	}
	return out, nil
}

// enabled returns the scripts started in a multi-user runlevel: links
// named S<NN><script> in the rc folders.
func (m *sysvManager) enabled() map[string]bool {
	auto := map[string]bool{}
	for _, d := range m.rcDirs {
		es, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range es {
			n := e.Name()
			if len(n) > 3 && n[0] == 'S' && n[1] >= '0' && n[1] <= '9' && n[2] >= '0' && n[2] <= '9' {
				auto[n[3:]] = true
			}
		}
	}
	return auto
}

// status runs `SCRIPT status`. A script without a status action cannot
// tell, and is counted as running rather than raising a false alarm (as
// `service --status-all` shows it with "?").
func (m *sysvManager) status(ctx context.Context, path string) (running bool, state string) {
	if b, err := os.ReadFile(path); err == nil && !bytes.Contains(b, []byte("status")) {
		return true, "no status action"
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	cmd, err := check.Command(ctx, path, "status")
	if err != nil {
		return false, "status not allowed: " + err.Error()
	}
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true, "running"
	case ctx.Err() != nil:
		return false, "status timed out"
	case errors.As(err, &ee):
		return lsbStatus(ee.ExitCode())
	default:
		return false, "status failed: " + err.Error()
	}
}

// lsbStatus words an LSB init script status exit code.
func lsbStatus(code int) (running bool, state string) {
	switch code {
	case 0:
		return true, "running"
	case 1:
		return false, "dead, pid file exists"
	case 2:
		return false, "dead, lock file exists"
	case 3:
		return false, "stopped"
	case 4:
		return true, "status unknown"
	default:
		return false, fmt.Sprintf("status exit code %d", code)
	}
}

func (m *sysvManager) Start(ctx context.Context, name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("invalid service name %q", name)
	}
	ctx, cancel := context.WithTimeout(ctx, 3*m.timeout)
	defer cancel()
	cmd, err := check.Command(ctx, filepath.Join(m.initDir, name), "start")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Daemons that do not close stdout would otherwise hold Run forever.
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The script succeeded but its daemon kept our output pipe open.
		err = nil
	}
	if err != nil {
		return fmt.Errorf("%s start: %w: %s", name, err, lastLine(out.String()))
	}
	return nil
}
