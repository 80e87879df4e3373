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

// consoleText is the output as the shell wrote it (UTF-8 by convention;
// JSON encoding replaces invalid bytes with U+FFFD).
func consoleText(b []byte) string { return string(b) }
