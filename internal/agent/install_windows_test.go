//go:build windows

package agent

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/windows/registry"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/swdetect"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// msiFixture is a real MSI that the Windows lane (test/e2e/wine_msi_test.go)
// builds with wixl and lists in WACHT_TEST_MSI as JSON.
type msiFixture struct {
	Path        string `json:"path"` // the .msi, as a Windows path
	ProductCode string `json:"product_code"`
	Name        string `json:"name"` // its DisplayName
	Version     string `json:"version"`
	File        string `json:"file"` // what it installs, relative to ProgramFilesFolder
	Reboot      bool   `json:"reboot"`
}

// TestInstallMSI installs each real MSI named in WACHT_TEST_MSI through
// the agent's install code (download over the real blob route, msiexec /i
// … /qn /norestart, exit code mapped, detection rule asked), finds it by
// display name and by product code in the uninstall registry, reports a
// minimum version above the installed one as a failed install, and
// removes it with msiexec /x. A package that schedules a reboot
// (ScheduleReboot) answers 3010 with /norestart: installed or removed,
// reboot needed. Run on Windows or under Wine
// (the Windows lane); without WACHT_TEST_MSI it has nothing to install.
func TestInstallMSI(t *testing.T) {
	env := os.Getenv("WACHT_TEST_MSI")
	if env == "" {
		t.Skip("WACHT_TEST_MSI names no MSI to install (test/e2e/wine_msi_test.go builds them with wixl)")
	}
	var fixtures []msiFixture
	if err := json.Unmarshal([]byte(env), &fixtures); err != nil || len(fixtures) == 0 {
		t.Fatalf("WACHT_TEST_MSI: %v (%q)", err, env)
	}
	for _, m := range fixtures {
		t.Run(m.Name, func(t *testing.T) { testMSI(t, m) })
	}
}

func testMSI(t *testing.T, m msiFixture) {
	removeFilesFirst(t)
	data, err := os.ReadFile(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	bs, ref := newBlobServer(t, data)
	d := bs.downloader(t)
	r := &scriptRunner{dir: filepath.Join(t.TempDir(), scriptsDir), log: slog.New(slog.DiscardHandler), running: map[string]bool{}}
	run := func(runID string, det core.Detection, uninstall bool) protocol.PackageResult {
		t.Helper()
		pa := protocol.PackageArgs{RunID: runID, PackageID: 1, Name: m.Name, Version: m.Version, Kind: core.PkgUpload,
			File:      &protocol.PackageFile{SHA256: ref.SHA256, Size: ref.Size, Name: filepath.Base(m.Path), Ticket: ref.Ticket},
			Detection: det}
		if err := pa.Validate(); err != nil {
			t.Fatal(err)
		}
		res, err := r.runPackage(t.Context(), d, pa, uninstall)
		if err != nil {
			t.Fatalf("%s: %v", runID, err)
		}
		t.Logf("%s: exit %d (%s), %s %s, %d ms, %s", runID, res.ExitCode, res.Meaning, res.State, res.Version, res.DurationMS, res.Message.EN)
		return res
	}
	exit, meaning := 0, core.ExitOK
	if m.Reboot {
		exit, meaning = 3010, core.ExitReboot
	}
	// The display name as a case-insensitive pattern, the product code in
	// lower case: as a technician may type them.
	byName := core.Detection{Kind: core.DetectRegistry, DisplayName: strings.ToLower(m.Name[:len(m.Name)-2]) + "*", MinVersion: "1.2"}
	byCode := core.Detection{Kind: core.DetectRegistry, ProductCode: strings.ToLower(m.ProductCode), MinVersion: "1.2"}
	installed := filepath.Join(os.Getenv("ProgramFiles(x86)"), m.File)

	res := run("msi-install", byName, false)
	if res.ExitCode != exit || res.Meaning != meaning || res.RebootNeeded != m.Reboot || res.Code != "" ||
		res.State != swdetect.StateInstalled || res.Version != m.Version {
		t.Fatalf("install: %+v, want exit %d (%s), installed %s", res, exit, meaning, m.Version)
	}
	if _, err := os.Stat(installed); err != nil {
		t.Errorf("the installed file: %v", err)
	}
	if det := swdetect.Detect(t.Context(), byCode); det.State != swdetect.StateInstalled || det.Version != m.Version {
		t.Errorf("by product code: %+v, want installed %s", det, m.Version)
	}
	// A 32-bit (x86) package registers in the 32-bit view (WOW6432Node)
	// on 64-bit Windows, and only there: the rule must read both views.
	for view, want := range map[uint32]bool{registry.WOW64_32KEY: true, registry.WOW64_64KEY: false} {
		k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\`+m.ProductCode, registry.QUERY_VALUE|view)
		if err == nil {
			k.Close()
		}
		if (err == nil) != want {
			t.Errorf("uninstall entry in registry view %#x: %v, want present=%v", view, err, want)
		}
	}

	// The installer "succeeds" again (a repeated msiexec /i repairs), but
	// a rule that wants 2.0 finds 1.2.3: the install has failed, and says
	// why. (Once is enough: each msiexec costs the Windows lane seconds.)
	if !m.Reboot {
		newer := byCode
		newer.MinVersion = "2.0"
		res = run("msi-newer", newer, false)
		if res.Meaning != core.ExitFailed || res.Code != protocol.CodeFailed || res.State != swdetect.StateOlder || res.Version != m.Version ||
			!strings.Contains(res.Message.EN, "finds version "+m.Version+", older than 2.0") || !strings.Contains(res.Message.DE, "älter als 2.0") {
			t.Errorf("install with minimum version 2.0: %+v", res)
		}
	}

	res = run("msi-remove", byCode, true)
	if res.ExitCode != exit || res.Meaning != meaning || res.RebootNeeded != m.Reboot || res.Code != "" || res.State != swdetect.StateAbsent {
		t.Fatalf("uninstall: %+v, want exit %d (%s), absent", res, exit, meaning)
	}
	if _, err := os.Stat(installed); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the installed file after msiexec /x: %v, want it gone", err)
	}
	if det := swdetect.Detect(t.Context(), byName); det.State != swdetect.StateAbsent {
		t.Errorf("by display name after msiexec /x: %+v, want absent", det)
	}
}

// removeFilesFirst lets the test's temporary folders go under Wine 8:
// Go's os.RemoveAll deletes a folder's entries with
// FileDispositionInformationEx, which Wine 8 does not implement ("Invalid
// function"), while os.Remove (DeleteFileW) works. Called before the
// test's first t.TempDir: cleanups run last-in first-out, so this empties
// the folders just before testing removes them.
func removeFilesFirst(t *testing.T) {
	root := filepath.Dir(t.TempDir())
	t.Cleanup(func() {
		var paths []string
		filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err == nil {
				paths = append(paths, p)
			}
			return nil
		})
		for _, p := range slices.Backward(paths) {
			os.Remove(p)
		}
	})
}
