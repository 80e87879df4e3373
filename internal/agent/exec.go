package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Limits of the exec action beside those in protocol.
const (
	DefaultExecTimeout = protocol.DefaultExecTimeoutSec * time.Second
	MaxExecTimeout     = protocol.MaxExecTimeoutSec * time.Second
)

func init() {
	RegisterAction(protocol.ActionExec, Action{Lock: protocol.LockExec, Code: true, Do: func(ctx context.Context, _ *Agent, args json.RawMessage) (any, error) {
		var a protocol.ExecArgs
		if err := json.Unmarshal(args, &a); err != nil || a.Command == "" || a.TimeoutSeconds < 0 {
			return nil, Errorf(protocol.CodeBadArgs, "exec needs a command and a non-negative timeout.", "exec braucht einen Befehl und eine nicht negative Zeitgrenze.")
		}
		return runExec(ctx, a)
	}})
}

// Preambles that make Windows shells write UTF-8 into the exec action's
// pipes. PowerShell's UTF8Encoding without byte order mark, since Windows
// PowerShell writes the mark of an encoding that has one; setting it also
// switches the console's code page for the programs the command starts.
const (
	cmdUTF8        = "chcp 65001>nul & "
	powershellUTF8 = "try{[Console]::OutputEncoding=New-Object System.Text.UTF8Encoding $false}catch{}; "
)

// shellArgv is the program and arguments that run command in shell: always
// an argument array, never a string parsed by another shell.
func shellArgv(goos, shell, command string) ([]string, error) {
	if shell == "" {
		shell = "sh"
		if goos == "windows" {
			shell = "powershell"
		}
	}
	switch shell {
	case "sh", "bash", "zsh":
		return []string{shell, "-c", command}, nil
	case "cmd":
		if goos == "windows" {
			// cmd.exe and most console programs write in the console's
			// code page: switch it to UTF-8 first (decodeOutput takes
			// care of programs that ignore it). The hidden console is
			// the command's own.
			command = cmdUTF8 + command
		}
		return []string{"cmd", "/c", command}, nil
	case "powershell", "pwsh":
		if goos == "windows" {
			command = powershellUTF8 + command
		}
		return []string{shell, "-NoProfile", "-NonInteractive", "-Command", command}, nil
	}
	return nil, Errorf(protocol.CodeBadArgs, "Unknown shell %q (sh, bash, zsh, cmd, powershell, pwsh).", "Unbekannte Shell %q (sh, bash, zsh, cmd, powershell, pwsh).", shell)
}

func runExec(ctx context.Context, a protocol.ExecArgs) (protocol.ExecResult, error) {
	argv, err := shellArgv(runtime.GOOS, a.Shell, a.Command)
	if err != nil {
		return protocol.ExecResult{}, err
	}
	timeout := DefaultExecTimeout
	if a.TimeoutSeconds > 0 {
		timeout = min(time.Duration(a.TimeoutSeconds)*time.Second, MaxExecTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	prepareShell(cmd, argv)
	// Children that keep the pipes open must not hold the answer back.
	cmd.WaitDelay = 5 * time.Second
	stdout, stderr := &boundedBuffer{max: protocol.MaxExecOutput}, &boundedBuffer{max: protocol.MaxExecOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	res := protocol.ExecResult{ExitCode: cmd.ProcessState.ExitCode(), Stdout: consoleText(stdout.buf.Bytes()), Stderr: consoleText(stderr.buf.Bytes()),
		Truncated: stdout.dropped > 0 || stderr.dropped > 0}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.TimedOut, res.ExitCode = true, -1
		return res, nil
	case err == nil, errors.As(err, &exitErr), errors.Is(err, exec.ErrWaitDelay):
		return res, nil
	case errors.Is(err, exec.ErrNotFound):
		return res, Errorf(protocol.CodeNotFound, "The shell %s was not found on this device.", "Die Shell %s wurde auf diesem Gerät nicht gefunden.", argv[0])
	default:
		return res, fmt.Errorf("running %s: %w", argv[0], err)
	}
}

// boundedBuffer keeps the first max bytes written and counts the rest, so
// that endless output neither grows memory nor blocks the process. (Not an
// embedded bytes.Buffer: its ReadFrom would bypass Write.)
type boundedBuffer struct {
	buf     bytes.Buffer
	max     int
	dropped int64
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	keep := min(len(p), b.max-b.buf.Len())
	b.buf.Write(p[:keep])
	b.dropped += int64(len(p) - keep)
	return len(p), nil
}
