package updates

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func readCapture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type wantRow struct{ id, installed, version, title string }

func checkWinget(t *testing.T, file string, want []wantRow) {
	t.Helper()
	us, err := wingetScanResult(readCapture(t, file), 0)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(us) != len(want) {
		t.Fatalf("%s: %d updates, want %d: %+v", file, len(us), len(want), us)
	}
	for i, w := range want {
		u := us[i]
		if u.ID != w.id || u.Installed != w.installed || u.Version != w.version || u.Title != w.title ||
			u.Source != core.SourceWinget || u.Classification != core.ClassApplication || u.Key != core.UpdateKey(core.SourceWinget, w.id, w.version) {
			t.Errorf("%s row %d = %+v, want %+v", file, i, u, w)
		}
	}
}

func TestWingetUpgradeTables(t *testing.T) {
	checkWinget(t, "winget-upgrade-1869.txt", []wantRow{
		{"OpenWhisperSystems.Signal", "5.27.1", "5.29.0", "Signal"},
		{"Microsoft.Edge", "97.0.1072.62", "97.0.1072.69", "Microsoft Edge"},
		{"Microsoft.EdgeWebView2Runtime", "97.0.1072.62", "97.0.1072.69", "Microsoft Edge WebView2 Runtime"},
		{"Microsoft.Office", "16.0.14701.20290", "16.0.14729.20228", "Microsoft 365 Apps for enterprise"}, // listed twice, once here
		{"Postman.Postman", "9.8.3", "9.9.3", "Postman"},
	})
	checkWinget(t, "winget-upgrade-source-winget-wau297.txt", []wantRow{
		{"Mozilla.Firefox", "110.0.1", "111.0", "Mozilla Firefox (x64 en-US)"},
		{"ElectronicArts.EADesktop", "12.115.0.5372", "12.130.0.5387", "EA app"},
		{"Microsoft.Teams", "1.6.0.376", "1.6.00.4472", "Teams Machine-Wide Installer"},
		{"Microsoft.WindowsSDK", "< 10.0.22000.832", "10.0.22621.2", "Windows Software Development Kit - Windows 10.0.1904…"},
		{"Microsoft.DotNet.SDK.3_1", "< 3.1.419", "3.1.426", "Microsoft .NET Core SDK - 2.1.200 (x64)"},
		{"IDMComputerSolutions,Inc.UltraEdit", "24.20.0.40", "29.2.52", "UltraEdit"},
	})
	checkWinget(t, "winget-upgrade-remote-5392.txt", []wantRow{
		{"Microsoft.VCRedist.2015+.x64", "14.42.34433.0", "14.42.34438.0", "Microsoft Visual C++ 2015-2022 Redistributable (x64) -â€¦"},
		{"Microsoft.VCRedist.2015+.x86", "14.42.34433.0", "14.42.34438.0", "Microsoft Visual C++ 2015-2022 Redistributable (x86) -â€¦"},
		{"Microsoft.PowerToys", "0.88.0", "0.90.1", "PowerToys (Preview) x64"},
	})
	checkWinget(t, "winget-upgrade-explicit-tui383.txt", []wantRow{
		{"chrisant996.Clink", "1.9.30", "1.9.31", "Clink v1.9.30"},
		{"Martchus.syncthingtray", "2.1.3", "2.1.4", "Syncthing Tray"},
		{"Discord.Discord", "1.0.9251", "1.0.9252", "Discord"},
		{"Meta.Oculus", "1.103.0", "1.115.0", "Meta Horizon Link"},
		{"SlackTechnologies.Slack", "4.51.180", "4.51.185", "Slack"},
	})
	checkWinget(t, "winget-upgrade-unknown-unigetui1672.txt", []wantRow{
		{"ImageMagick.ImageMagick", "7.1.0.62", "7.1.1.24", "ImageMagick 7.1.0-62 Q16-HDRI (64-bit) (2023-02-12)"},
		{"RawTherapee.RawTherapee", "5.8", "5.9", "RawTherapee version 5.8"},
		{"VB-Audio.Voicemeeter.Banana", "", "2.0.6.8", "Voicemeeter, The Virtual Mixing Console"},
		{"XnSoft.XnViewMP", "1.5.5", "1.6.3.0", "XnViewMP 1.5.5"},
		{"PeterDaveHello.TransmissionRemoteGUI", "", "5.18.0", "Transmission Remote GUI 5.18"},
		{"Cyanfish.NAPS2", "6.1.2", "7.2.2", "NAPS2"},
	})
}

func TestWingetTableWithSpinnerAndVT(t *testing.T) {
	// The same table as a redirected winget writes it: the spinner
	// overwriting itself with carriage returns and VT sequences.
	raw := readCapture(t, "winget-upgrade-1869.txt")
	junk := "\x1b[0G   -\r   \\\r   |\r   /\r\x1b[2K\r"
	us, err := wingetScanResult(append([]byte(junk), raw...), 0)
	if err != nil || len(us) != 5 || us[0].ID != "OpenWhisperSystems.Signal" {
		t.Fatalf("%v %+v", err, us)
	}
	// Wide characters take two cells in winget's layout.
	wide := "Name       Id             Version Available Source\n" +
		"-------------------------------------------------\n" +
		"微信       Tencent.WeChat 3.9.0   3.9.1     winget\n"
	// 微信 is 4 cells + 7 spaces = 11: Id starts at cell 11.
	us, err = wingetScanResult([]byte(wide), 0)
	if err != nil || len(us) != 1 || us[0].ID != "Tencent.WeChat" || us[0].Title != "微信" {
		t.Fatalf("wide: %v %+v", err, us)
	}
	// …and by the header's offsets, not only by splitting from the right.
	lines := strings.Split(wide, "\n")
	if r, ok := wingetRowAt(lines[2], header(lines[0])); !ok || r.ID != "Tencent.WeChat" || r.Name != "微信" || r.Source != "winget" {
		t.Errorf("wide row by offsets: %v %+v", ok, r)
	}
	// A row shifted against its header is not read by offsets.
	if r, ok := wingetRowAt("Microsoft Visual C++ 2015-2022 Redistributable (x64) -â€¦ Microsoft.VCRedist.2015+.x64 14.42.34433.0 14.42.34438.0 winget",
		header("Name                                                    Id                           Version       Available     Source")); ok {
		t.Errorf("a shifted row was read by offsets: %+v", r)
	}
}

func TestWingetNothingAndFailures(t *testing.T) {
	us, err := wingetScanResult(readCapture(t, "winget-upgrade-none-de-2869.txt"), 0)
	if err != nil || us == nil || len(us) != 0 {
		t.Errorf("German nothing: %v %v", us, err)
	}
	if us, err := wingetScanResult(nil, 0x8A150014); err != nil || len(us) != 0 {
		t.Errorf("NO_APPLICATIONS_FOUND: %v %v", us, err)
	}
	// Output it does not understand is an error, never "nothing missing".
	if us, err := wingetScanResult([]byte("Failed in attempting to update the source: winget\n"), 0); err == nil {
		t.Errorf("garbage gave %v", us)
	}
	// A failing winget is an error with its code in both languages.
	_, err = wingetScanResult([]byte("Failed when searching source: winget\nAn unexpected error occurred while executing the command:\n0x8a15000f : Data required by the source is missing\n"), 0x8A15000F)
	te, ok := errors.AsType[*TextError](err)
	if !ok || te.Code != "0x8A15000F" || !strings.Contains(te.Text.EN, "SOURCE_DATA_MISSING") || !strings.Contains(te.Text.DE, "Daten der Quelle fehlen") || !strings.Contains(te.Text.EN, "Data required by the source is missing") {
		t.Errorf("%#v", err)
	}
	// A header of an unexpected shape is an error.
	if _, err := wingetScanResult([]byte("A B\n----------------\nx y\n"), 0); err == nil {
		t.Error("a two-column table was taken")
	}
}

func TestWingetInstallResults(t *testing.T) {
	u := core.Update{Key: "winget:Mozilla.Firefox@111.0", ID: "Mozilla.Firefox"}
	cases := []struct {
		out          string
		exit         uint32
		ok, reboot   bool
		code, en, de string
	}{
		{"Successfully installed\n", 0, true, false, "", "installed", "installiert"},
		{"Successfully installed. Restart your PC to finish installation.\n", 0, true, true, "", "restart", "Neustart"},
		{"", 0x8A150109, true, true, "0x8A150109", "REBOOT_REQUIRED_TO_FINISH", "Neustart"},
		{"Installer failed with exit code: 1603\n", 0x8A150101, false, false, "0x8A150101", "application is running", "Anwendung läuft"},
		{"", 0x8A150105, false, false, "0x8A150105", "disk space", "Speicherplatz"},
		{"", 0x8A150199, false, false, "0x8A150199", "winget error", "winget-Fehler"},
		{"", 1603, false, false, "1603", "exit code 1603", "Exit-Code 1603"},
	}
	for _, c := range cases {
		r := wingetInstallResult(u, []byte(c.out), c.exit)
		if r.OK != c.ok || r.RebootNeeded != c.reboot || r.Code != c.code || !strings.Contains(r.Message.EN, c.en) || !strings.Contains(r.Message.DE, c.de) || r.Key != u.Key {
			t.Errorf("exit 0x%X: %+v", c.exit, r)
		}
	}
}

func TestWingetSource(t *testing.T) {
	var calls [][]string
	s := wingetSource{
		find: func() (string, error) { return `C:\WA\winget.exe`, nil },
		run: func(_ context.Context, exe string, args ...string) ([]byte, uint32, error) {
			calls = append(calls, append([]string{exe}, args...))
			if args[0] == "upgrade" && len(args) > 1 && args[1] == "--id" {
				if args[2] == "Busy.App" {
					return nil, 0x8A150102, nil
				}
				return []byte("Successfully installed\n"), 0, nil
			}
			return readCapture(t, "winget-upgrade-1869.txt"), 0, nil
		},
	}
	us, err := s.Scan(context.Background())
	if err != nil || len(us) != 5 {
		t.Fatal(err, us)
	}
	if !slices.Equal(calls[0][1:], []string{"upgrade", "--source", "winget", "--include-unknown", "--accept-source-agreements", "--disable-interactivity"}) {
		t.Errorf("scan args %q", calls[0])
	}
	rs, err := s.Install(context.Background(), []core.Update{us[0], {Key: "winget:Long.Id…@1", ID: "Long.Id…"}}, nil)
	if err != nil || len(rs) != 2 || !rs[0].OK || rs[1].OK || rs[1].Code != "truncated-id" {
		t.Fatalf("%v %+v", err, rs)
	}
	want := []string{`C:\WA\winget.exe`, "upgrade", "--id", "OpenWhisperSystems.Signal", "--exact", "--silent", "--accept-package-agreements", "--accept-source-agreements", "--source", "winget", "--disable-interactivity"}
	if !slices.Equal(calls[1], want) {
		t.Errorf("install args %q", calls[1])
	}
	if len(calls) != 2 {
		t.Errorf("winget ran for the truncated ID: %q", calls)
	}
	// Another installation running before the first: ErrBusy, no result.
	if rs, err := s.Install(context.Background(), []core.Update{{Key: "k", ID: "Busy.App"}}, nil); !errors.Is(err, ErrBusy) || rs != nil {
		t.Errorf("busy: %v %v", rs, err)
	}
	// Windows Installer busy: ErrBusy before winget runs.
	n := len(calls)
	s.busy = func() bool { return true }
	if rs, err := s.Install(context.Background(), us[:1], nil); !errors.Is(err, ErrBusy) || rs != nil || len(calls) != n {
		t.Errorf("msi busy: %v %v, %d calls", rs, err, len(calls)-n)
	}
	// No winget: unsupported, with the sentence.
	s.find = func() (string, error) { return "", errNotInstalled("winget") }
	_, err = s.Scan(context.Background())
	if !errors.Is(err, errors.ErrUnsupported) || err.Error() != "winget is not installed" || ErrorText(err).DE != "winget ist nicht installiert" {
		t.Errorf("%v", err)
	}
}

func TestPickWinget(t *testing.T) {
	got := pickWinget([]string{
		`C:\Program Files\WindowsApps\Microsoft.DesktopAppInstaller_1.21.3482.0_x64__8wekyb3d8bbwe\winget.exe`,
		`C:\Program Files\WindowsApps\Microsoft.DesktopAppInstaller_1.22.11132.0_x64__8wekyb3d8bbwe\winget.exe`,
		`C:\Program Files\WindowsApps\Microsoft.DesktopAppInstaller_1.9.99999.0_x64__8wekyb3d8bbwe\winget.exe`,
		`C:\Program Files\WindowsApps\Other_9.9.9.9_x64__8wekyb3d8bbwe\winget.exe`,
	})
	if !strings.Contains(got, "_1.22.11132.0_") {
		t.Errorf("picked %q", got)
	}
	if pickWinget(nil) != "" {
		t.Error("picked from nothing")
	}
}
