package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// msiPackage is a real MSI the Windows lane builds with wixl and hands to
// the agent's Windows test TestInstallMSI (internal/agent/
// install_windows_test.go) in WACHT_TEST_MSI.
type msiPackage struct {
	Path        string `json:"path"` // Windows path (Wine's Z: drive)
	ProductCode string `json:"product_code"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	File        string `json:"file"` // relative to ProgramFilesFolder
	Reboot      bool   `json:"reboot"`
}

// msiSource is a per-machine x86 product with one file under
// ProgramFilesFolder; %[6]s is an optional InstallExecuteSequence.
const msiSource = `<?xml version="1.0" encoding="utf-8"?>
<Wix xmlns="http://schemas.microsoft.com/wix/2006/wi">
  <Product Id="%[1]s" Name="%[2]s" Language="1033" Version="%[3]s" Manufacturer="Wacht Test" UpgradeCode="%[4]s">
    <Package InstallerVersion="200" Compressed="yes" InstallScope="perMachine" Description="Wacht deployment test package"/>
    <Media Id="1" Cabinet="product.cab" EmbedCab="yes"/>
    <Directory Id="TARGETDIR" Name="SourceDir">
      <Directory Id="ProgramFilesFolder">
        <Directory Id="INSTALLDIR" Name="%[2]s">
          <Component Id="Readme" Guid="%[5]s">
            <File Id="Readme" Name="readme.txt" Source="readme.txt" KeyPath="yes"/>
          </Component>
        </Directory>
      </Directory>
    </Directory>
    <Feature Id="Main" Level="1"><ComponentRef Id="Readme"/></Feature>
    %[6]s
  </Product>
</Wix>
`

// buildMSIs writes two products' .wxs and builds them with wixl: a plain
// one and one that schedules a reboot (ScheduleReboot, so msiexec
// /norestart answers 3010).
func buildMSIs(t *testing.T) []msiPackage {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "readme.txt"), []byte("Wacht deployment test\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out []msiPackage
	for i, p := range []struct {
		name, code, upgrade, component, sequence string
	}{
		{"Wacht MSI-Test", "{6F1E2C3A-8B7D-4E21-9C0A-1D2E3F405162}", "{0B1C2D3E-4F50-4617-8293-A4B5C6D7E8F9}", "{7A8B9C0D-1E2F-4031-A2B3-C4D5E6F70819}", ""},
		{"Wacht Reboot MSI-Test", "{6F1E2C3B-8B7D-4E21-9C0A-1D2E3F405162}", "{0B1C2D3F-4F50-4617-8293-A4B5C6D7E8F9}", "{7A8B9C0E-1E2F-4031-A2B3-C4D5E6F70819}",
			`<InstallExecuteSequence><ScheduleReboot After="InstallFinalize"/></InstallExecuteSequence>`},
	} {
		wxs := filepath.Join(dir, fmt.Sprintf("msitest%d.wxs", i))
		msi := strings.TrimSuffix(wxs, ".wxs") + ".msi"
		if err := os.WriteFile(wxs, fmt.Appendf(nil, msiSource, p.code, p.name, "1.2.3", p.upgrade, p.component, p.sequence), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("wixl", "-o", msi, wxs)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wixl: %v\n%s", err, b)
		}
		out = append(out, msiPackage{Path: "Z:" + strings.ReplaceAll(msi, "/", `\`), ProductCode: p.code, Name: p.name,
			Version: "1.2.3", File: p.name + `\readme.txt`, Reboot: p.sequence != ""})
	}
	return out
}

// wineMSI builds the MSIs and runs the agent's Windows test agentTest
// (compiled by the lane) with them under Wine.
func wineMSI(t *testing.T, w *winePrefix, agentTest string) {
	t.Helper()
	if _, err := exec.LookPath("wixl"); err != nil {
		const how = "wixl is not installed (apt-get install wixl)"
		if wineRequired() {
			t.Error(how + ", and CI or WACHT_REQUIRE_WINE=1 requires the MSI step of the Windows lane")
			return
		}
		t.Log(how + "; the MSI step of the Windows lane did not run")
		return
	}
	began := time.Now()
	pkgs, err := json.Marshal(buildMSIs(t))
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.runEnv([]string{"WACHT_TEST_MSI=" + string(pkgs)}, 5*time.Minute, agentTest, "-test.run", "^TestInstallMSI$", "-test.v")
	if err != nil || !strings.Contains(out, "--- PASS: TestInstallMSI ") || strings.Contains(out, "SKIP") {
		t.Errorf("MSI install under Wine: %v\n%s", err, out)
	} else {
		t.Logf("MSI install and removal under Wine:\n%s", out)
	}
	t.Logf("MSI step took %v", time.Since(began).Round(100*time.Millisecond))
}
