//go:build windows

package updates

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
)

// Sources returns the update sources of a Windows machine: the Windows
// Update Agent, winget and Chocolatey. A tool that is not installed stays
// in the list; its Scan says so with an errors.ErrUnsupported error
// ("winget is not installed"), which the agent reports as unsupported.
func Sources(opt Options) []Source {
	_ = opt
	return []Source{
		WindowsUpdate(),
		wingetSource{find: findWinget, run: runWindows, busy: msiBusy},
		chocoSource{find: findChoco, run: runWindows, busy: msiBusy},
	}
}

// findWinget finds winget.exe for the SYSTEM account: the newest App
// Installer package under Program Files\WindowsApps for this
// architecture (SYSTEM has no App Execution Alias), else winget.exe on
// PATH (an agent running as a user).
func findWinget() (string, error) {
	arch := "x64"
	if runtime.GOARCH == "arm64" {
		arch = "arm64"
	}
	pf := os.Getenv("ProgramFiles")
	if pf == "" {
		pf = `C:\Program Files`
	}
	matches, _ := filepath.Glob(filepath.Join(pf, "WindowsApps", "Microsoft.DesktopAppInstaller_*_"+arch+"__8wekyb3d8bbwe", "winget.exe"))
	if p := pickWinget(matches); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("winget.exe"); err == nil {
		return p, nil
	}
	return "", errNotInstalled("winget")
}

// findChoco finds choco.exe: under %ChocolateyInstall%, the default
// C:\ProgramData\chocolatey, or on PATH.
func findChoco() (string, error) {
	var candidates []string
	if d := os.Getenv("ChocolateyInstall"); d != "" {
		candidates = append(candidates, filepath.Join(d, "bin", "choco.exe"))
	}
	pd := os.Getenv("ProgramData")
	if pd == "" {
		pd = `C:\ProgramData`
	}
	candidates = append(candidates, filepath.Join(pd, "chocolatey", "bin", "choco.exe"))
	for _, c := range candidates {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			return c, nil
		}
	}
	if p, err := exec.LookPath("choco.exe"); err == nil {
		return p, nil
	}
	return "", errNotInstalled("Chocolatey")
}

// msiBusy reports whether Windows Installer runs an installation: its
// service holds the Global\_MSIExecute mutex meanwhile, and a second MSI
// would fail with 1618.
func msiBusy() bool {
	name, _ := windows.UTF16PtrFromString(`Global\_MSIExecute`)
	h, err := windows.OpenMutex(windows.SYNCHRONIZE, false, name)
	if err != nil {
		return false
	}
	windows.CloseHandle(h)
	return true
}

// runWindows runs exe with an argument array, without a window, and
// returns stdout and stderr together (bounded) and the exit code.
func runWindows(ctx context.Context, exe string, args ...string) ([]byte, uint32, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true, CreationFlags: windows.CREATE_NO_WINDOW}
	cmd.WaitDelay = 10 * time.Second
	var out capped
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.Bytes(), 0, ctx.Err()
	}
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return out.Bytes(), uint32(ee.ExitCode()), nil
	}
	if err != nil {
		return out.Bytes(), 0, err
	}
	return out.Bytes(), 0, nil
}

// capped keeps at most 8 MiB of a tool's output.
type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := 8<<20 - c.Len(); room > 0 {
		if len(p) > room {
			c.Buffer.Write(p[:room])
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}
