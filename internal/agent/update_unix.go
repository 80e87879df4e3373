//go:build unix

package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// replaceExe renames from over exe (atomic on Unix, also while exe runs)
// and makes it durable.
func replaceExe(from, exe string) error {
	if err := os.Rename(from, exe); err != nil {
		return err
	}
	return syncDir(filepath.Dir(exe))
}

// detach starts cmd in its own session, so that it outlives its parent
// and a signal to the parent's process group.
func detach(cmd *exec.Cmd, _ bool) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return nil
}

// watchdogCommand runs the watchdog detached. Under systemd (the agent's
// service, INVOCATION_ID set) it runs in a transient unit of its own:
// a restart of the agent's unit kills its whole control group
// (KillMode=control-group), a new session does not escape it.
func watchdogCommand(prev string, args []string, service bool) (*exec.Cmd, error) {
	if service && runtime.GOOS == "linux" && os.Getenv("INVOCATION_ID") != "" {
		if run, err := exec.LookPath("systemd-run"); err == nil {
			unit := "wacht-agent-update-" + strconv.FormatInt(time.Now().Unix(), 10)
			return exec.Command(run, append([]string{"--unit", unit, "--collect", "--quiet", "--", prev}, args...)...), nil
		}
	}
	cmd := exec.Command(prev, args...)
	return cmd, detach(cmd, true)
}

// signalStop asks process pid to stop (SIGTERM).
func signalStop(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }
