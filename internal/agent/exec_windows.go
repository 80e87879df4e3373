//go:build windows

package agent

import (
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// prepareShell starts the shell without a console window. cmd.exe parses
// its command line itself, not by the C runtime's rules Go quotes for, so
// its command line is passed as written.
func prepareShell(cmd *exec.Cmd, argv []string) {
	attr := &syscall.SysProcAttr{HideWindow: true, CreationFlags: windows.CREATE_NO_WINDOW}
	if argv[0] == "cmd" {
		attr.CmdLine = "cmd /d /s /c \"" + strings.Join(argv[2:], " ") + "\""
	}
	cmd.SysProcAttr = attr
}
