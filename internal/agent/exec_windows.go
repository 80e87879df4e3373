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

var getOEMCP = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetOEMCP")

// consoleText decodes a shell's output (decodeOutput): what is not UTF-8
// is read in the OEM code page, the one the command's new console starts
// with (850 on German Windows).
func consoleText(b []byte) string {
	cp, _, _ := getOEMCP.Call()
	return decodeOutput(b, uint32(cp))
}
