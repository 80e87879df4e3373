//go:build windows

package updates

import (
	"context"
	_ "embed"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/wacht-rmm/wacht/internal/core"
)

// These run on a real Windows or under Wine (the Windows lane,
// test/e2e/wine_test.go), as an administrator.

// TestRunWindowsExitCodes starts the real cmd.exe through runWindows: an
// argument array, the output of both streams, and exit codes as Windows
// gives them, winget's negative HRESULTs included.
func TestRunWindowsExitCodes(t *testing.T) {
	ctx := context.Background()
	out, exit, err := runWindows(ctx, `C:\windows\system32\cmd.exe`, "/c", "echo upgraded& echo warn 1>&2& exit 3010")
	if err != nil || exit != 3010 || !strings.Contains(string(out), "upgraded") || !strings.Contains(string(out), "warn") {
		t.Errorf("exit 3010: %q %d %v", out, exit, err)
	}
	_, exit, err = runWindows(ctx, `C:\windows\system32\cmd.exe`, "/c", "exit -1978335212")
	if err != nil || exit != 0x8A150014 {
		t.Errorf("exit -1978335212: 0x%08X %v", exit, err)
	}
	if _, _, err := runWindows(ctx, `C:\no\such\tool.exe`); err == nil {
		t.Error("a missing program ran")
	}
}

// TestRebootPendingReal reads the real registry, then sets Windows
// Update's RebootRequired key and must find it, with its write time.
func TestRebootPendingReal(t *testing.T) {
	before := RebootPending(context.Background())
	if before.Error != "" {
		t.Fatalf("reading the restart markers failed: %s", before.Error)
	}
	t.Logf("before: %+v", before)
	if slices.Contains(before.Reasons, "WindowsUpdate") {
		t.Skip("Windows Update already waits for a restart here; the test does not touch it")
	}
	start := time.Now().Add(-time.Minute)
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, regWURebootRequired, registry.ALL_ACCESS|registry.WOW64_64KEY)
	if err != nil {
		t.Fatalf("creating the RebootRequired key: %v", err)
	}
	k.Close()
	defer registry.DeleteKey(registry.LOCAL_MACHINE, regWURebootRequired)
	st := RebootPending(context.Background())
	if !st.Pending || !slices.Contains(st.Reasons, "WindowsUpdate") || st.Error != "" {
		t.Fatalf("after setting RebootRequired: %+v", st)
	}
	if st.Since.Before(start) || st.Since.After(time.Now().Add(time.Minute)) {
		t.Errorf("since %v, the key was written after %v", st.Since, start)
	}
	registry.DeleteKey(registry.LOCAL_MACHINE, regWURebootRequired)
	if after := RebootPending(context.Background()); slices.Contains(after.Reasons, "WindowsUpdate") {
		t.Errorf("still pending after deleting the key: %+v", after)
	}
}

// TestSourcesReal scans every Windows source for real. Each answer must be
// honest: a list, "not installed" (unsupported), or an error with its
// code in English and German — never an empty list for a failed scan.
// WACHT_TEST_WUA=1 includes the Windows Update search (it contacts the
// update server on a real Windows).
func TestSourcesReal(t *testing.T) {
	for _, s := range Sources(Options{}) {
		if s.Name() == core.SourceWindowsUpdate && os.Getenv("WACHT_TEST_WUA") != "1" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		us, err := s.Scan(ctx)
		cancel()
		switch {
		case err == nil:
			t.Logf("%s: %d missing", s.Name(), len(us))
			for _, u := range us {
				if u.Key == "" || u.Source != s.Name() || u.Title == "" {
					t.Errorf("%s: %+v", s.Name(), u)
				}
			}
		case errors.Is(err, errors.ErrUnsupported):
			txt := ErrorText(err)
			if !strings.Contains(txt.EN, "not installed") || !strings.Contains(txt.DE, "nicht installiert") {
				t.Errorf("%s unsupported without saying why: %+v", s.Name(), txt)
			}
			t.Logf("%s: %s", s.Name(), txt.EN)
		default:
			if us != nil {
				t.Errorf("%s: a failed scan with a list: %v", s.Name(), us)
			}
			te, ok := errors.AsType[*TextError](err)
			if !ok || te.Text.DE == "" || te.Text.DE == te.Text.EN {
				t.Errorf("%s: an error without its German text: %#v", s.Name(), err)
			}
			if s.Name() == core.SourceWindowsUpdate && (!ok || !strings.HasPrefix(te.Code, "0x")) {
				t.Errorf("%s: an error without its HRESULT: %v", s.Name(), err)
			}
			if strings.Contains(err.Error(), "0x00000000") {
				t.Errorf("%s: an error with code 0: %v", s.Name(), err)
			}
			t.Logf("%s: error (honest): %s | %s", s.Name(), te.Text.EN, te.Text.DE)
		}
		if sv, ok := s.(Serverer); ok {
			t.Logf("%s: server %q", s.Name(), sv.Server())
		}
	}
}

//go:embed testdata/winget-upgrade-1869.txt
var wingetTable []byte

// TestMain lets the test binary stand in for winget.exe: copied to where
// the App Installer package lives, it answers like winget (fakeWinget).
func TestMain(m *testing.M) {
	if strings.EqualFold(filepath.Base(os.Args[0]), "winget.exe") {
		os.Exit(fakeWinget(os.Args[0], os.Args[1:]))
	}
	os.Exit(m.Run())
}

// fakeWinget answers the scan with a captured table (after a spinner, as
// a redirected winget writes it) and an upgrade of Microsoft.Edge with
// "restart to finish"; an older package folder's copy fails every call.
func fakeWinget(self string, args []string) int {
	if !strings.Contains(self, "_1.99.") {
		return 1
	}
	switch {
	case slices.Equal(args, wingetScanArgs):
		os.Stdout.WriteString("   -\r   \\\r   |\r")
		os.Stdout.Write(wingetTable)
		return 0
	case len(args) > 2 && slices.Equal(args, wingetInstallArgs(args[2])):
		if args[2] == "Microsoft.Edge" {
			os.Stdout.WriteString("Successfully installed\r\n")
			return int(int32(-1978334967)) // 0x8A150109
		}
		return 0
	}
	os.Stderr.WriteString("unexpected arguments: " + strings.Join(args, " "))
	return 2
}

// TestWingetForSystemReal puts two "App Installer" versions with a fake
// winget.exe under Program Files\WindowsApps (where SYSTEM finds it) and
// runs the winget source for real: the newest is found and started with
// the scan's arguments, its table read through the spinner, an upgrade's
// "restart to finish" exit code read as installed with a restart.
func TestWingetForSystemReal(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pf := os.Getenv("ProgramFiles")
	if pf == "" {
		t.Skip("no ProgramFiles")
	}
	if p, err := findWinget(); err == nil && !strings.Contains(p, "_1.99.") && !strings.Contains(p, "_1.2.") {
		t.Skipf("a real winget is installed (%s); the test does not put a fake one beside it", p)
	}
	var dirs []string
	for _, v := range []string{"1.2.10271.0", "1.99.1.0"} {
		d := filepath.Join(pf, "WindowsApps", "Microsoft.DesktopAppInstaller_"+v+"_x64__8wekyb3d8bbwe")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
		b, err := os.ReadFile(self)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "winget.exe"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		// os.RemoveAll fails under Wine ("Invalid function"): one by one.
		for _, d := range dirs {
			if err := os.Remove(filepath.Join(d, "winget.exe")); err != nil {
				t.Errorf("removing the stand-in: %v", err)
			}
			if err := os.Remove(d); err != nil {
				t.Errorf("removing its folder: %v", err)
			}
		}
		if p, err := findWinget(); err == nil && strings.Contains(p, "_1.99.") {
			t.Errorf("the stand-in is still found: %s", p)
		}
	}()
	exe, err := findWinget()
	if err != nil || !strings.Contains(exe, "_1.99.1.0_") {
		t.Fatalf("found %q, %v", exe, err)
	}
	var s Source
	for _, x := range Sources(Options{}) {
		if x.Name() == core.SourceWinget {
			s = x
		}
	}
	us, err := s.Scan(context.Background())
	if err != nil || len(us) != 5 || us[1].ID != "Microsoft.Edge" || us[1].Version != "97.0.1072.69" {
		t.Fatalf("scan: %v %+v", err, us)
	}
	rs, err := s.Install(context.Background(), us[:2], nil)
	if err != nil || len(rs) != 2 {
		t.Fatalf("install: %v %+v", err, rs)
	}
	if !rs[0].OK || rs[0].RebootNeeded || !rs[1].OK || !rs[1].RebootNeeded || rs[1].Code != "0x8A150109" {
		t.Errorf("install results: %+v", rs)
	}
}

// TestWUAInstallUnknownReal asks the real Windows Update Agent to install
// an update no server offers: a result saying so, or the HRESULT of the
// call that failed (Wine) — never "installed".
func TestWUAInstallUnknownReal(t *testing.T) {
	if os.Getenv("WACHT_TEST_WUA") != "1" {
		t.Skip("WACHT_TEST_WUA=1 runs the real Windows Update search")
	}
	u := core.Update{Key: "windows-update:00000000-0000-0000-0000-000000000000@1", ID: "00000000-0000-0000-0000-000000000000", Title: "none"}
	rs, err := WindowsUpdate().Install(context.Background(), []core.Update{u}, nil)
	if err != nil {
		te, ok := errors.AsType[*TextError](err)
		if !ok || !strings.HasPrefix(te.Code, "0x") {
			t.Fatalf("an install error without its HRESULT: %v", err)
		}
		t.Logf("install: error (honest): %s", te.Text.EN)
		return
	}
	if len(rs) != 1 || rs[0].OK || rs[0].Code != "not-offered" {
		t.Errorf("install of an update no one offers: %+v", rs)
	}
}

// TestMSIBusyReal holds Windows Installer's Global\_MSIExecute mutex as
// its service does during an installation: msiBusy must see it, and not
// after it is released.
func TestMSIBusyReal(t *testing.T) {
	if msiBusy() {
		t.Skip("Windows Installer is installing something right now")
	}
	name, _ := windows.UTF16PtrFromString(`Global\_MSIExecute`)
	h, err := windows.CreateMutex(nil, false, name)
	if err != nil {
		t.Fatalf("CreateMutex: %v", err)
	}
	if !msiBusy() {
		t.Error("the mutex is held, but msiBusy says no")
	}
	windows.CloseHandle(h)
	if msiBusy() {
		t.Error("the mutex is gone, but msiBusy says busy")
	}
}
