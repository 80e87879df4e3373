//go:build linux

package svcmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// SysV is the fallback where systemd does not run (containers,
// systemd-less distributions): init scripts in InitDir are the services,
// those with an S link in one of RCDirs start automatically, and
// `SCRIPT status` answers with LSB exit codes (0 running, 1/2 dead with
// pid/lock file left, 3 stopped, 4 unknown).
type SysV struct {
	InitDir string
	RCDirs  []string
	// Timeout bounds one `SCRIPT status` (start and stop get three times
	// as long); StopWait how long a stopped service may keep running.
	Timeout  time.Duration
	StopWait time.Duration
}

// initDir holds the SysV init scripts, which the agent's allowlist lets
// the check and the service actions start.
const initDir = "/etc/init.d"

// NewSysV manages this machine's init scripts.
func NewSysV() *SysV {
	return &SysV{
		InitDir:  initDir,
		RCDirs:   []string{"/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d"},
		Timeout:  20 * time.Second,
		StopWait: StopTimeout,
	}
}

func (m *SysV) Kind() string { return "sysv" }

func (m *SysV) Close() error { return nil }

// skipScripts are files in init.d that are not services.
var skipScripts = map[string]bool{"README": true, "skeleton": true, "rc": true, "rcS": true, "functions": true, ".depend.boot": true, ".depend.start": true, ".depend.stop": true}

func (m *SysV) List(ctx context.Context) ([]Service, error) {
	es, err := os.ReadDir(m.InitDir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", m.InitDir, err)
	}
	auto := m.enabled()
	var out []Service
	for _, e := range es {
		n := e.Name()
		if skipScripts[n] || strings.HasPrefix(n, ".") || strings.Contains(n, ".dpkg-") || e.IsDir() {
			continue
		}
		s, err := m.read(ctx, n, auto)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		out = append(out, s)
	}
	return out, nil
}

// read reads one script: an executable file in InitDir.
func (m *SysV) read(ctx context.Context, name string, auto map[string]bool) (Service, error) {
	path := filepath.Join(m.InitDir, name)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && (fi.IsDir() || fi.Mode()&0o111 == 0)) {
		return Service{}, fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return Service{}, err
	}
	s := Service{Name: name, Auto: auto[name], StartType: protocol.StartManual}
	if s.Auto {
		s.StartType = protocol.StartAutomatic
	}
	if b, err := os.ReadFile(path); err == nil {
		s.Description = lsbDescription(b)
	}
	s.Running, s.State = m.status(ctx, path)
	return s, nil
}

func (m *SysV) Get(ctx context.Context, name string) (Service, error) {
	if err := checkName(name); err != nil {
		return Service{}, err
	}
	return m.read(ctx, name, m.enabled())
}

// enabled returns the scripts started in a multi-user runlevel: links
// named S<NN><script> in the rc folders.
func (m *SysV) enabled() map[string]bool {
	auto := map[string]bool{}
	for _, d := range m.RCDirs {
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

// noStatus is the state of a script without a status action.
const noStatus = "no status action"

// status runs `SCRIPT status`. A script without a status action cannot
// tell, and is counted as running rather than raising a false alarm (as
// `service --status-all` shows it with "?").
func (m *SysV) status(ctx context.Context, path string) (running bool, state string) {
	if b, err := os.ReadFile(path); err == nil && !bytes.Contains(b, []byte("status")) {
		return true, noStatus
	}
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
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

// run runs `SCRIPT action`.
func (m *SysV) run(ctx context.Context, name, action string) error {
	if _, err := m.Get(ctx, name); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*m.Timeout)
	defer cancel()
	cmd, err := check.Command(ctx, filepath.Join(m.InitDir, name), action)
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
		return fmt.Errorf("%s %s: %w: %s", name, action, err, lastLine(out.String()))
	}
	return nil
}

func (m *SysV) Start(ctx context.Context, name string) error { return m.run(ctx, name, "start") }

// Stop runs `SCRIPT stop` and waits until `SCRIPT status` no longer says
// running.
func (m *SysV) Stop(ctx context.Context, name string) error {
	if err := m.run(ctx, name, "stop"); err != nil {
		return err
	}
	path := filepath.Join(m.InitDir, name)
	deadline := time.Now().Add(m.StopWait)
	for {
		running, state := m.status(ctx, path)
		if !running || state == noStatus {
			return nil
		}
		if time.Now().After(deadline) {
			return stopTimeout(name, m.StopWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// SetStartType is not done for init scripts: their links belong to the
// distribution's tool (update-rc.d, chkconfig), which differ.
func (m *SysV) SetStartType(context.Context, string, string) error {
	return fmt.Errorf("setting the start type of an init script: %w", errors.ErrUnsupported)
}
