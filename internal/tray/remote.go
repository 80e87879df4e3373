package tray

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/wacht-rmm/wacht/internal/core"
)

// remoteCandidates lists where tool installs itself on goos, most likely
// first. Only these fixed places are searched: no path comes from the
// server. getenv supplies the Windows program folders.
func remoteCandidates(tool, goos string, getenv func(string) string) []string {
	switch goos {
	case "windows":
		var dirs []string
		for _, v := range []string{"ProgramFiles", "ProgramFiles(x86)"} {
			if d := getenv(v); d != "" {
				dirs = append(dirs, d)
			}
		}
		if len(dirs) == 0 {
			dirs = []string{`C:\Program Files`, `C:\Program Files (x86)`}
		}
		rel := map[string]string{
			core.RemoteSupportTeamViewer: `TeamViewer\TeamViewer.exe`,
			core.RemoteSupportAnyDesk:    `AnyDesk\AnyDesk.exe`,
			core.RemoteSupportRustDesk:   `RustDesk\rustdesk.exe`,
		}[tool]
		if rel == "" {
			return nil
		}
		var out []string
		for _, d := range dirs {
			out = append(out, d+`\`+rel)
		}
		return out
	case "darwin":
		app := map[string]string{
			core.RemoteSupportTeamViewer: "TeamViewer",
			core.RemoteSupportAnyDesk:    "AnyDesk",
			core.RemoteSupportRustDesk:   "RustDesk",
		}[tool]
		if app == "" {
			return nil
		}
		return []string{"/Applications/" + app + ".app/Contents/MacOS/" + app}
	default:
		return map[string][]string{
			core.RemoteSupportTeamViewer: {"/usr/bin/teamviewer", "/opt/teamviewer/tv_bin/script/teamviewer"},
			core.RemoteSupportAnyDesk:    {"/usr/bin/anydesk", "/opt/anydesk/anydesk"},
			core.RemoteSupportRustDesk:   {"/usr/bin/rustdesk", "/usr/share/rustdesk/rustdesk"},
		}[tool]
	}
}

// findRemoteIn returns the first candidate of tool that exists as a regular
// file, or "".
func findRemoteIn(tool, goos string, getenv func(string) string, stat func(string) (os.FileInfo, error)) string {
	for _, p := range remoteCandidates(tool, goos, getenv) {
		if fi, err := stat(p); err == nil && fi.Mode().IsRegular() {
			return filepath.Clean(p)
		}
	}
	return ""
}

// StartProgram starts path without arguments as the tray's user and does
// not wait for it.
func StartProgram(path string) error {
	cmd := exec.Command(path)
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// FindRemote returns the installed program of tool on this OS, or "".
func FindRemote(tool string) string {
	return findRemoteIn(tool, runtime.GOOS, os.Getenv, os.Stat)
}
