//go:build unix

package agent

import (
	"os/exec"
	"syscall"
)

// prepareShell runs the command in its own process group and ends the
// whole group on timeout, so that no child outlives it.
func prepareShell(cmd *exec.Cmd, _ []string) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
