package protocol

import "slices"

// The command line without a terminal (issue 15 part 3): one command in a
// shell, answered with its exit code and bounded output. Shared by the
// agent that runs it and the server that validates and asks.

// ActionExec runs one command line in a shell: ExecArgs → ExecResult.
const ActionExec = "exec"

// Limits of the exec action.
const (
	MaxExecOutput         = 1 << 20  // bytes kept of stdout and of stderr each
	MaxExecCommand        = 64 << 10 // bytes of a command line
	DefaultExecTimeoutSec = 30
	MaxExecTimeoutSec     = 3600
)

// ExecArgs are the exec action's arguments. Shell is one of ExecShells of
// the device's OS; "" is sh, or powershell on Windows. TimeoutSeconds 0 is
// DefaultExecTimeoutSec; the agent caps it at MaxExecTimeoutSec.
type ExecArgs struct {
	Shell          string `json:"shell,omitempty"`
	Command        string `json:"command"`
	TimeoutSeconds int    `json:"timeout_seconds,omitempty"`
}

// ExecResult is the exec action's result. ExitCode is -1 when the command
// did not exit by itself (TimedOut). Truncated says that stdout or stderr
// was longer than MaxExecOutput and was cut.
type ExecResult struct {
	ExitCode  int    `json:"exit_code"`
	Stdout    string `json:"stdout"`
	Stderr    string `json:"stderr"`
	Truncated bool   `json:"truncated"`
	TimedOut  bool   `json:"timed_out,omitempty"`
}

// ExecShells lists the shells exec offers on an OS (GOOS, as devices
// report it), the default first.
func ExecShells(goos string) []string {
	switch goos {
	case "windows":
		return []string{"powershell", "pwsh", "cmd"}
	case "darwin":
		return []string{"zsh", "bash", "sh"}
	}
	return []string{"sh", "bash", "zsh"}
}

// ValidExecShell reports whether shell is one of ExecShells(goos) or ""
// (the device's default).
func ValidExecShell(goos, shell string) bool {
	return shell == "" || slices.Contains(ExecShells(goos), shell)
}
