package swdetect

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func readData(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseDpkg(t *testing.T) {
	for _, c := range []struct {
		file, name, want string
		absent           bool
	}{
		{"dpkg-debian12-host.txt", "libc6", "2.36-9+deb12u14", false},
		{"dpkg-debian12-host.txt", "bash", "5.2.15-2+b8", false},
		{"dpkg-debian12-demo-installed.txt", "wacht-demo", "1:2.3-4ubuntu1", false},
		{"dpkg-debian12-demo-config-files.txt", "wacht-demo", "", true},
		{"dpkg-debian12-host.txt", "zsh", "", true},
	} {
		got, err := parseDpkg(readData(t, c.file), c.name)
		if c.absent != errors.Is(err, errAbsent) || got != c.want || (!c.absent && err != nil) {
			t.Errorf("%s %s: %q, %v; want %q absent=%v", c.file, c.name, got, err, c.want, c.absent)
		}
	}
	if _, err := parseDpkg("garbage without tabs", "x"); err == nil || errors.Is(err, errAbsent) {
		t.Errorf("garbage: %v, want a parse error (never absent)", err)
	}
}

func TestParseRpm(t *testing.T) {
	if v, err := parseRpm(readData(t, "rpm-kernel.txt"), "kernel"); err != nil || v != "0:5.14.0-427.13.1.el9_4" {
		t.Errorf("kernel: %q, %v", v, err)
	}
	if _, err := parseRpm(readData(t, "rpm-missing.txt"), "wacht-nonexistent"); !errors.Is(err, errAbsent) {
		t.Errorf("missing: %v", err)
	}
	if _, err := parseRpm("garbage", "x"); err == nil || errors.Is(err, errAbsent) {
		t.Errorf("garbage: %v", err)
	}
}

func TestPlistVersion(t *testing.T) {
	if v, err := plistVersion([]byte(readData(t, "Info-firefox.plist"))); err != nil || v != "133.0.3" {
		t.Errorf("firefox: %q, %v", v, err)
	}
	if _, err := plistVersion([]byte("bplist00\x01")); !errors.Is(err, errBinaryPlist) {
		t.Errorf("binary: %v", err)
	}
	if _, err := plistVersion([]byte(`<plist><dict><key>CFBundleName</key><string>x</string></dict></plist>`)); err == nil {
		t.Error("a plist without a version gave no error")
	}
}

func TestHighestVersion(t *testing.T) {
	if v, err := highestVersion([]string{".metadata", "2.43.0", "2.9.1", "2.43.0_1"}); err != nil || v != "2.43.0_1" {
		t.Errorf("got %q, %v", v, err)
	}
	if _, err := highestVersion([]string{".metadata"}); !errors.Is(err, errAbsent) {
		t.Errorf("only metadata: %v", err)
	}
}

// readReg reads a `reg export` of the uninstall keys (both views).
func readReg(t *testing.T) []UninstallEntry {
	t.Helper()
	var out []UninstallEntry
	sc := bufio.NewScanner(strings.NewReader(readData(t, "uninstall-export.reg")))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			key := strings.Trim(line, "[]")
			view := "64"
			if strings.Contains(key, `\WOW6432Node\`) {
				view = "32"
			}
			out = append(out, UninstallEntry{Key: key[strings.LastIndexByte(key, '\\')+1:], View: view})
		case strings.HasPrefix(line, `"DisplayName"=`):
			out[len(out)-1].DisplayName = strings.Trim(strings.TrimPrefix(line, `"DisplayName"=`), `"`)
		case strings.HasPrefix(line, `"DisplayVersion"=`):
			out[len(out)-1].DisplayVersion = strings.Trim(strings.TrimPrefix(line, `"DisplayVersion"=`), `"`)
		}
	}
	return out
}

// fake is a system with fixed answers.
type fake struct {
	entries []UninstallEntry
	err     error
	version string
}

func (f fake) uninstallEntries(context.Context) ([]UninstallEntry, error) { return f.entries, f.err }
func (f fake) fileVersion(context.Context, string) (string, error)        { return f.version, f.err }
func (f fake) serviceExists(context.Context, string) error                { return f.err }
func (f fake) osPackage(context.Context, string) (string, error)          { return f.version, f.err }
func (f fake) bundleVersion(context.Context, string) (string, error)      { return f.version, f.err }

func TestDetectRegistry(t *testing.T) {
	reg := fake{entries: readReg(t)}
	for _, c := range []struct {
		rule  core.Detection
		state string
		ver   string
	}{
		{core.Detection{Kind: core.DetectRegistry, ProductCode: "{23170f69-40c1-2702-2409-000001000000}"}, StateInstalled, "24.09.00.0"},
		{core.Detection{Kind: core.DetectRegistry, DisplayName: "7-zip *", MinVersion: "24.08"}, StateInstalled, "24.09.00.0"},
		{core.Detection{Kind: core.DetectRegistry, DisplayName: "7-Zip*", MinVersion: "24.10"}, StateOlder, "24.09.00.0"},
		// The 64- and the 32-bit view both have RustDesk: the newer counts.
		{core.Detection{Kind: core.DetectRegistry, DisplayName: "RustDesk"}, StateInstalled, "1.3.6"},
		{core.Detection{Kind: core.DetectRegistry, DisplayName: "Notepad++*"}, StateInstalled, "8.7.4"},
		{core.Detection{Kind: core.DetectRegistry, DisplayName: "Acronis*"}, StateAbsent, ""},
		{core.Detection{Kind: core.DetectRegistry, ProductCode: "AddressBook", MinVersion: "1"}, StateError, ""},
	} {
		r := detect(t.Context(), reg, c.rule)
		if r.State != c.state || r.Version != c.ver {
			t.Errorf("%+v: %+v, want %s %s", c.rule, r, c.state, c.ver)
		}
	}
}

func TestDetectFailuresAreNotAbsent(t *testing.T) {
	boom := errors.New("access denied")
	for _, kind := range []string{core.DetectRegistry, core.DetectFile, core.DetectService, core.DetectOSPackage, core.DetectAppBundle} {
		r := detect(t.Context(), fake{err: boom}, core.Detection{Kind: kind, Name: "x", Path: "/x", DisplayName: "x"})
		if r.State != StateError || !errors.Is(r.Err, boom) || !strings.Contains(r.Err.Error(), "access denied") {
			t.Errorf("%s: %+v, want error with the reason", kind, r)
		}
		r = detect(t.Context(), fake{err: errors.ErrUnsupported}, core.Detection{Kind: kind, Name: "x", Path: "/x", DisplayName: "x"})
		if r.State != StateUnsupported {
			t.Errorf("%s unsupported: %+v", kind, r)
		}
	}
	if r := detect(t.Context(), fake{}, core.Detection{Kind: "guess"}); r.State != StateError {
		t.Errorf("unknown kind: %+v", r)
	}
	// A file without version information cannot meet a minimum version.
	if r := detect(t.Context(), fake{}, core.Detection{Kind: core.DetectFile, Path: "/x", MinVersion: "1"}); r.State != StateUnsupported {
		t.Errorf("file version: %+v", r)
	}
}

// TestDetectHost runs rules against this machine: a file, the OS package
// manager (dpkg or rpm on Linux) and the kinds it does not have.
func TestDetectHost(t *testing.T) {
	ctx := t.Context()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if r := Detect(ctx, core.Detection{Kind: core.DetectFile, Path: exe}); r.State != StateInstalled {
		t.Errorf("own executable: %+v", r)
	}
	if r := Detect(ctx, core.Detection{Kind: core.DetectFile, Path: filepath.Join(t.TempDir(), "nope")}); r.State != StateAbsent {
		t.Errorf("missing file: %+v", r)
	}
	if runtime.GOOS != "linux" {
		return
	}
	if r := Detect(ctx, core.Detection{Kind: core.DetectRegistry, DisplayName: "x"}); r.State != StateUnsupported {
		t.Errorf("registry on Linux: %+v", r)
	}
	if _, err := os.Stat("/usr/bin/dpkg-query"); err != nil {
		t.Skip("no dpkg-query here:", err)
	}
	if r := Detect(ctx, core.Detection{Kind: core.DetectOSPackage, Name: "bash", MinVersion: "4"}); r.State != StateInstalled || r.Version == "" {
		t.Errorf("bash: %+v", r)
	}
	if r := Detect(ctx, core.Detection{Kind: core.DetectOSPackage, Name: "bash", MinVersion: "99"}); r.State != StateOlder {
		t.Errorf("bash >= 99: %+v", r)
	}
	if r := Detect(ctx, core.Detection{Kind: core.DetectOSPackage, Name: "wacht-nonexistent"}); r.State != StateAbsent {
		t.Errorf("unknown package: %+v", r)
	}
}
