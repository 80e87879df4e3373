package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// winePatches runs the Windows patch code under Wine (issue 19): the
// update sources' Windows tests, cross-built, in the lane's prefix.
//   - internal/platform/wua TestSearchReal: the real Windows Update Agent
//     search through COM. Wine's wuapi.dll answers E_NOTIMPL, so the scan
//     must be an error carrying that HRESULT, never "0 missing".
//   - TestServerReal: the WSUS policy values (WUServer, AU\UseWUServer)
//     written into Wine's registry and read back as the source's server.
//   - internal/updates TestSourcesReal: every Windows source scanned: the
//     WUA error worded in English and German with its code, winget and
//     Chocolatey "not installed" (unsupported).
//   - TestWUAInstallUnknownReal: an install through the WUA fails with its
//     HRESULT, never "installed".
//   - TestRebootPendingReal: the pending-restart markers read from Wine's
//     registry; Windows Update's RebootRequired key written and found with
//     its write time, and gone after it is deleted.
//   - TestRunWindowsExitCodes: tools started through the real cmd.exe with
//     an argument array; exit 3010 and winget's negative HRESULT exit codes
//     arrive as Windows gives them.
//   - TestWingetForSystemReal: a winget stand-in in two App Installer
//     package folders under Program Files\WindowsApps, where SYSTEM finds
//     winget; the newest is picked, its table read through the spinner, a
//     "restart to finish" exit read as installed with a restart.
//   - TestMSIBusyReal: Windows Installer's Global\_MSIExecute mutex held
//     by the test: winget and Chocolatey installs wait (ErrBusy).
//   - `wacht-agent updates --json`: the agent's own scan, end to end.
func winePatches(t *testing.T, w *winePrefix) {
	t.Helper()
	dir := filepath.Dir(w.exe)
	build := func(pkg, exe string) string {
		p := filepath.Join(dir, exe)
		cmd := exec.Command("go", "test", "-c", "-trimpath", "-o", p, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s's Windows tests: %v\n%s", pkg, err, out)
		}
		return p
	}
	wuaTest := build("github.com/wacht-rmm/wacht/internal/platform/wua", "wua.test.exe")
	updTest := build("github.com/wacht-rmm/wacht/internal/updates", "updates.test.exe")
	env := []string{"WACHT_TEST_WUA=1"}

	out, err := w.runEnv(env, 3*time.Minute, wuaTest, "-test.run", "^(TestSearchReal|TestServerReal)$", "-test.v")
	if err != nil || !strings.Contains(out, "--- PASS: TestSearchReal") || !strings.Contains(out, "--- PASS: TestServerReal") {
		t.Errorf("WUA search under Wine: %v\n%s", err, out)
	} else if !strings.Contains(out, "HRESULT 0x") && !strings.Contains(out, "missing updates") {
		t.Errorf("WUA search under Wine said neither an HRESULT nor a result:\n%s", out)
	} else {
		t.Logf("WUA search under Wine:\n%s", out)
	}
	const tests = "^(TestSourcesReal|TestWUAInstallUnknownReal|TestRebootPendingReal|TestRunWindowsExitCodes|TestWingetForSystemReal|TestMSIBusyReal)$"
	out, err = w.runEnv(env, 5*time.Minute, updTest, "-test.run", tests, "-test.v")
	if err != nil || strings.Count(out, "--- PASS: Test") != 6 {
		t.Errorf("update sources under Wine: %v\n%s", err, out)
	} else {
		t.Logf("update sources under Wine:\n%s", out)
	}
	if zeroErrno.MatchString(out) {
		t.Errorf("a message wraps error code 0:\n%s", out)
	}

	// The agent's own command: `wacht-agent updates --json` scans every
	// source and must say the Windows Update scan failed (exit status 1),
	// with the HRESULT in English and German, winget and Chocolatey not
	// installed, nothing missing, and the restart state read.
	out, err = w.run(3*time.Minute, "agent", "updates", "--json")
	var scan struct {
		Sources []struct {
			Source  string    `json:"source"`
			Status  string    `json:"status"`
			Message core.Text `json:"message"`
		} `json:"sources"`
		Missing []json.RawMessage `json:"missing"`
		Reboot  core.RebootState  `json:"reboot"`
	}
	if err == nil {
		t.Errorf("wacht-agent updates exited 0 although the Windows Update scan cannot work under Wine:\n%s", out)
	}
	if jerr := json.Unmarshal([]byte(out), &scan); jerr != nil {
		t.Fatalf("wacht-agent updates --json: %v\n%s\n%v", jerr, out, err)
	}
	want := map[string]string{"windows-update": "error", "winget": "unsupported", "choco": "unsupported"}
	if len(scan.Sources) != len(want) {
		t.Errorf("sources %+v", scan.Sources)
	}
	for _, s := range scan.Sources {
		if want[s.Source] != s.Status || s.Message.EN == "" || s.Message.DE == "" || s.Message.DE == s.Message.EN {
			t.Errorf("source %+v, want status %q with an English and a German message", s, want[s.Source])
		}
		if s.Source == "windows-update" && !strings.Contains(s.Message.EN, "0x80004001") {
			t.Errorf("the Windows Update error lacks its HRESULT: %+v", s)
		}
	}
	if scan.Missing == nil || len(scan.Missing) != 0 || scan.Reboot.Error != "" {
		t.Errorf("missing %s, reboot %+v", scan.Missing, scan.Reboot)
	}
	t.Logf("wacht-agent updates --json under Wine:\n%s", out)
}
