package antivirus

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// macRoot lays out app bundles (path relative to the root → Info.plist
// capture, or raw bytes) under a temp folder standing in for "/".
func macRoot(t *testing.T, apps map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for app, plist := range apps {
		dir := filepath.Join(root, filepath.FromSlash(app), "Contents")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "Info.plist"), plist, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func noTool(context.Context, string, ...string) (string, error) {
	return "", errors.New("no tool expected")
}

func TestMacAV(t *testing.T) {
	xp := product{Name: "XProtect", Active: true, SigVersion: "5272", SigTime: now.Add(-2 * 24 * time.Hour), MaxAge: 60 * 24 * time.Hour, Baseline: true}
	eset := macRoot(t, map[string][]byte{
		"Applications/ESET Endpoint Antivirus.app": read(t, "eset-endpoint-antivirus-Info.plist"),
		// The same name pattern, another vendor's bundle ID: not an antivirus.
		"Applications/ESET Uninstaller Helper.app": []byte(strings.Replace(string(read(t, "eset-endpoint-antivirus-Info.plist")), "com.eset.eea.7", "org.example.helper", 1)),
	})
	ps, err := readMacAV(context.Background(), eset, fakeProcs{"launchd", "esets_daemon"}.list, noTool, nil)
	if err != nil || len(ps) != 1 {
		t.Fatalf("ESET: %+v, %v", ps, err)
	}
	if ps[0].Name != "ESET Endpoint Antivirus" || ps[0].Version != "7.4.1400.0" || !ps[0].Active {
		t.Errorf("ESET product: %+v", ps[0])
	}
	r := evaluate(append(ps, xp), 3*24*time.Hour, now)
	if r.Status != core.StatusWarning ||
		r.Message.EN != "Antivirus active with warnings: ESET Endpoint Antivirus 7.4.1400.0: signature age unknown; XProtect (signatures 5272, signature age 2.0 days)" ||
		!strings.Contains(r.Message.DE, "ESET Endpoint Antivirus 7.4.1400.0: Alter der Signaturen unbekannt") {
		t.Errorf("ESET running: %v %q / %q", r.Status, r.Message.EN, r.Message.DE)
	}
	// The daemon stopped: XProtect does not cover for the deployed product.
	ps, _ = readMacAV(context.Background(), eset, fakeProcs{"launchd"}.list, noTool, nil)
	r = evaluate(append([]product{xp}, ps...), 3*24*time.Hour, now)
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "ESET Endpoint Antivirus 7.4.1400.0: real-time protection is off (protection service not running)") ||
		!strings.Contains(r.Message.DE, "Echtzeitschutz ist aus (Schutzdienst läuft nicht)") {
		t.Errorf("ESET stopped: %v %q / %q", r.Status, r.Message.EN, r.Message.DE)
	}
	// XProtect alone still decides.
	if r := evaluate([]product{xp}, 3*24*time.Hour, now); r.Status != core.StatusOK {
		t.Errorf("XProtect alone: %v %q", r.Status, r.Message.EN)
	}

	// Sophos with its command-line scanner: signature age known, a pass.
	sophos := macRoot(t, map[string][]byte{"Applications/Sophos/Sophos Endpoint.app": read(t, "sophos-endpoint-Info.plist")})
	if err := os.MkdirAll(filepath.Join(sophos, "usr/local/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sophos, "usr/local/bin/sweep"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	var asked []string
	sweep := func(_ context.Context, bin string, args ...string) (string, error) {
		asked = append(asked, filepath.Base(bin)+" "+strings.Join(args, " "))
		return string(read(t, "sophos-sweep-v.txt")), nil
	}
	ps, err = readMacAV(context.Background(), sophos, fakeProcs{"SophosScanD"}.list, sweep, nil)
	if err != nil || len(ps) != 1 || len(asked) != 1 || asked[0] != "sweep -v" {
		t.Fatalf("Sophos: %+v, %v, %q", ps, err, asked)
	}
	if p := ps[0]; p.Name != "Sophos Endpoint" || p.Version != "9.9.8" || p.SigVersion != "5.79" ||
		!p.SigTime.Equal(time.Date(2024, 5, 12, 0, 0, 0, 0, time.Local)) || len(p.Warnings) != 0 {
		t.Errorf("Sophos product: %+v", p)
	}
	failing := func(context.Context, string, ...string) (string, error) { return "", errors.New("exit status 2") }
	if _, err := readMacAV(context.Background(), sophos, fakeProcs{"SophosScanD"}.list, failing, nil); err == nil ||
		!strings.HasSuffix(check.ErrorText(err).DE, "/usr/local/bin/sweep -v ist fehlgeschlagen: exit status 2") {
		t.Errorf("sweep failure lost or not worded in German: %v", err)
	}

	// Products without a readable state: installed, a warning, never a pass.
	other := macRoot(t, map[string][]byte{
		"Applications/Malwarebytes.app":       read(t, "malwarebytes-Info.plist"),
		"Applications/Microsoft Defender.app": []byte("bplist00\x01binary"),
	})
	ps, err = readMacAV(context.Background(), other, fakeProcs{}.list, noTool, nil)
	if err != nil || len(ps) != 2 || ps[0].Name != "Microsoft Defender" || ps[0].Version != "" || ps[1].Version != "4.21.9" {
		t.Fatalf("others: %+v, %v", ps, err)
	}
	r = evaluate(append(ps, xp), 3*24*time.Hour, now)
	if r.Status != core.StatusWarning || !strings.Contains(r.Message.EN, "Malwarebytes 4.21.9: installed, status not readable") ||
		!strings.Contains(r.Message.DE, "installiert, Status nicht lesbar") {
		t.Errorf("unreadable: %v %q / %q", r.Status, r.Message.EN, r.Message.DE)
	}
	// Defender read through mdatp is not listed twice.
	ps, _ = readMacAV(context.Background(), other, fakeProcs{}.list, noTool, map[string]bool{"Microsoft Defender": true})
	if len(ps) != 1 || ps[0].Name != "Malwarebytes" {
		t.Errorf("skip: %+v", ps)
	}

	bd := macRoot(t, map[string][]byte{"Applications/Endpoint Security for Mac.app": read(t, "bitdefender-endpoint-Info.plist")})
	if _, err := readMacAV(context.Background(), bd, func(context.Context) ([]string, error) { return nil, errors.New("no processes") }, noTool, nil); err == nil {
		t.Error("process list error lost")
	}
	ps, _ = readMacAV(context.Background(), bd, fakeProcs{"BDLDaemon"}.list, noTool, nil)
	if len(ps) != 1 || !ps[0].Active || ps[0].Version != "7.14.36.200014" {
		t.Errorf("Bitdefender: %+v", ps)
	}
	if ps, err := readMacAV(context.Background(), t.TempDir(), fakeProcs{}.list, noTool, nil); err != nil || len(ps) != 0 {
		t.Errorf("nothing installed: %+v, %v", ps, err)
	}
}

func TestParseSweepVersion(t *testing.T) {
	var p product
	if err := parseSweepVersion(strings.Replace(string(read(t, "sophos-sweep-v.txt")), "12 May 2024", "2024-05-12", 1), &p); err != nil ||
		!p.SigTime.Equal(time.Date(2024, 5, 12, 0, 0, 0, 0, time.Local)) {
		t.Errorf("ISO date: %v, %v", p.SigTime, err)
	}
	for _, bad := range []string{"", "sweep: command not found", "Virus data version : 5.79\nReleased : last week"} {
		if err := parseSweepVersion(bad, &product{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
