package tray

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestRemoteCandidates(t *testing.T) {
	env := map[string]string{"ProgramFiles": `D:\Programme`, "ProgramFiles(x86)": `D:\Programme (x86)`}
	got := remoteCandidates(core.RemoteSupportAnyDesk, "windows", func(k string) string { return env[k] })
	want := []string{`D:\Programme\AnyDesk\AnyDesk.exe`, `D:\Programme (x86)\AnyDesk\AnyDesk.exe`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("windows: %q", got)
	}
	got = remoteCandidates(core.RemoteSupportTeamViewer, "windows", func(string) string { return "" })
	if got[0] != `C:\Program Files\TeamViewer\TeamViewer.exe` {
		t.Errorf("windows without environment: %q", got)
	}
	if got := remoteCandidates(core.RemoteSupportRustDesk, "darwin", nil); !reflect.DeepEqual(got, []string{"/Applications/RustDesk.app/Contents/MacOS/RustDesk"}) {
		t.Errorf("darwin: %q", got)
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		if got := remoteCandidates("/bin/sh", goos, func(string) string { return "" }); got != nil {
			t.Errorf("%s: an unknown tool gives %q", goos, got)
		}
	}
}

func TestFindRemote(t *testing.T) {
	dir := t.TempDir()
	fake := map[string]string{"/usr/bin/anydesk": filepath.Join(dir, "missing"), "/opt/anydesk/anydesk": filepath.Join(dir, "anydesk")}
	if err := os.WriteFile(fake["/opt/anydesk/anydesk"], []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	stat := func(p string) (os.FileInfo, error) {
		if f, ok := fake[p]; ok {
			return os.Stat(f)
		}
		return nil, os.ErrNotExist
	}
	if got := findRemoteIn(core.RemoteSupportAnyDesk, "linux", nil, stat); got != "/opt/anydesk/anydesk" {
		t.Errorf("found %q", got)
	}
	if got := findRemoteIn(core.RemoteSupportTeamViewer, "linux", nil, stat); got != "" {
		t.Errorf("found %q for a tool not installed", got)
	}
	fake["/usr/bin/anydesk"] = dir // a directory is no program
	if got := findRemoteIn(core.RemoteSupportAnyDesk, "linux", nil, stat); got != "/opt/anydesk/anydesk" {
		t.Errorf("found %q", got)
	}
}
