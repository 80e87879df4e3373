package antivirus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ole/go-ole"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeProductState(t *testing.T) {
	for _, tc := range []struct {
		v         uint32
		enabled   bool
		scanner   string
		upToDate  bool
		microsoft bool
	}{
		{266240, true, "on", true, false},      // third-party AV on (ESET, Avira)
		{262144, false, "off", true, false},    // third-party AV off
		{393472, false, "off", true, true},     // Defender stepped aside for another AV
		{397312, true, "on", true, false},      // third-party AV with auto-update provider bit
		{397568, true, "on", true, true},       // Defender on, up to date
		{401664, false, "snoozed", true, true}, // Defender snoozed
		{393216, false, "off", true, false},
		{270336, false, "snoozed", true, false},
		{397584, true, "on", false, true},  // Defender on, signatures out of date
		{266256, true, "on", false, false}, // third-party on, out of date
		{393488, false, "off", false, true},
	} {
		got := decodeProductState(tc.v)
		if got.Enabled != tc.enabled || got.Scanner != tc.scanner || got.UpToDate != tc.upToDate || got.Microsoft != tc.microsoft {
			t.Errorf("%d (0x%X): got %+v", tc.v, tc.v, got)
		}
	}
}

var now = time.Date(2024, 5, 13, 8, 0, 0, 0, time.UTC)

func TestWSC(t *testing.T) {
	var one wscProduct
	if err := json.Unmarshal(read(t, "wsc-windows11-defender.json"), &one); err != nil {
		t.Fatal(err)
	}
	r := evaluate(fromWSC([]wscProduct{one}), 3*24*time.Hour, now)
	if r.Status != core.StatusOK || r.Message.EN != "Antivirus active: Windows Defender" {
		t.Errorf("Windows 11: %v %q", r.Status, r.Message.EN)
	}
	var two []wscProduct
	if err := json.Unmarshal(read(t, "wsc-windows10-eset.json"), &two); err != nil {
		t.Fatal(err)
	}
	r = evaluate(fromWSC(two), 3*24*time.Hour, now)
	if r.Status != core.StatusOK || r.Message.EN != "Antivirus active: ESET Security; Windows Defender: inactive" ||
		r.Message.DE != "Antivirenprogramm aktiv: ESET Security; Windows Defender: inaktiv" {
		t.Errorf("ESET: %v %q / %q", r.Status, r.Message.EN, r.Message.DE)
	}
	two[1].ProductState = 262144 // ESET switched off
	r = evaluate(fromWSC(two), 3*24*time.Hour, now)
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "ESET Security: real-time protection is off (off)") {
		t.Errorf("all off: %v %q", r.Status, r.Message.EN)
	}
	two[1].ProductState = 266256
	r = evaluate(fromWSC(two), 3*24*time.Hour, now)
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "signatures are out of date") {
		t.Errorf("out of date: %v %q", r.Status, r.Message.EN)
	}
}

// psJSON decodes PowerShell 7's ConvertTo-Json of Get-MpComputerStatus.
func psJSON(t *testing.T, name string) mpStatus {
	t.Helper()
	var s mpStatus
	if err := json.Unmarshal(read(t, name), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDefender(t *testing.T) {
	p := fromDefender(psJSON(t, "defender-server2022.json"), now)
	if !p.Active || p.Version != "4.18.24030.9" || p.SigVersion != "1.411.250.0" ||
		!p.SigTime.Equal(time.Date(2024, 5, 13, 2, 17, 45, 0, time.UTC)) || !p.LastScan.Equal(time.Date(2024, 5, 12, 0, 3, 11, 0, time.UTC)) {
		t.Fatalf("2022: %+v", p)
	}
	r := evaluate([]product{p}, 3*24*time.Hour, now)
	if r.Status != core.StatusOK || r.Value == nil || *r.Value > 0.3 || r.Unit != "d" ||
		!strings.Contains(r.Message.EN, "Microsoft Defender Antivirus 4.18.24030.9 (signatures 1.411.250.0, signature age 0.2 days") ||
		!strings.Contains(r.Message.DE, "Signaturalter 0,2 Tage") {
		t.Errorf("2022 verdict: %v %v %q / %q", r.Status, r.Value, r.Message.EN, r.Message.DE)
	}

	p = fromDefender(psJSON(t, "defender-server2019-rtp-off.json"), now)
	r = evaluate([]product{p}, 3*24*time.Hour, now)
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "real-time protection is off (real-time protection disabled)") ||
		!strings.Contains(r.Message.EN, "signatures are 9.3 days old (limit 3)") || !strings.Contains(r.Message.DE, "Signaturen sind 9,3 Tage alt (Grenze 3)") || !strings.Contains(r.Message.DE, "Echtzeitschutz ist aus (Echtzeitschutz deaktiviert)") {
		t.Errorf("2019: %v %q / %q", r.Status, r.Message.EN, r.Message.DE)
	}

	// Without a last-updated time, Defender's own day count is used;
	// 65535 means it never updated.
	s := mpStatus{AMServiceEnabled: true, AntivirusEnabled: true, RealTimeProtectionEnabled: true, AntivirusSignatureAge: 5}
	if p := fromDefender(s, now); !p.SigTime.Equal(now.Add(-5 * 24 * time.Hour)) {
		t.Errorf("age days: %v", p.SigTime)
	}
	s.AntivirusSignatureAge = 65535
	if p := fromDefender(s, now); !p.SigTime.IsZero() {
		t.Errorf("never updated: %v", p.SigTime)
	}
	s.AMRunningMode = "Passive Mode"
	if p := fromDefender(s, now); p.Active || p.Inactive != "Passive Mode" {
		t.Errorf("passive: %+v", p)
	}
}

func TestMdatp(t *testing.T) {
	p, err := parseMdatpHealth(string(read(t, "mdatp-health-101.24032.txt")), now)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Active || p.Version != "101.24032.0007" || p.SigVersion != "1.411.250.0" || !p.SigTime.Equal(now.Add(-79*time.Minute)) ||
		p.UpToDate == nil || !*p.UpToDate || len(p.Warnings) != 0 {
		t.Errorf("healthy: %+v", p)
	}
	p, err = parseMdatpHealth(string(read(t, "mdatp-health-passive-stale.txt")), now)
	if err != nil {
		t.Fatal(err)
	}
	r := evaluate([]product{p}, 3*24*time.Hour, now)
	if p.Active || p.Inactive != "passive mode" || r.Status != core.StatusFailure ||
		!strings.Contains(r.Message.EN, "signatures are 41.0 days old") || !strings.Contains(r.Message.EN, "product reports it is not healthy") {
		t.Errorf("passive: %+v\n%q", p, r.Message.EN)
	}
	if _, err := parseMdatpHealth("zsh: command not found: mdatp", now); err == nil {
		t.Error("garbage parsed")
	}
}

func TestXProtect(t *testing.T) {
	v, err := xprotectVersion(read(t, "xprotect-sonoma-Info.plist"), nil)
	if err != nil || v != 5266 {
		t.Errorf("Sonoma: %d, %v", v, err)
	}
	v, err = xprotectVersion(nil, read(t, "xprotect-mojave-XProtect.meta.plist"))
	if err != nil || v != 2103 {
		t.Errorf("Mojave: %d, %v", v, err)
	}
	if _, err := xprotectVersion([]byte("bplist00\x01"), nil); err == nil {
		t.Error("binary plist accepted")
	}
	d, err := parsePlistDict(read(t, "xprotect-mojave-XProtect.meta.plist"))
	if err != nil || d["JavaWebComponentVersionMinimum"] != "1.6.0_45-b06-451" || d["MinimumPlugInBundleVersion"] != "" || d["CFBundleIdentifier"] != "" {
		t.Errorf("nested keys leak into the top level: %v, %v", d, err)
	}
	found := []xprotectFound{
		{Path: "/Library/Apple/System/Library/CoreServices/XProtect.bundle", Version: 5266, Modified: now.Add(-20 * 24 * time.Hour)},
		{Path: "/private/var/protected/xprotect/XProtect.bundle", Version: 5272, Modified: now.Add(-2 * 24 * time.Hour)},
	}
	p, ok := fromXProtect(found, 60*24*time.Hour)
	if !ok || p.SigVersion != "5272" || !p.Active {
		t.Fatalf("newest bundle: %+v", p)
	}
	if r := evaluate([]product{p}, 3*24*time.Hour, now); r.Status != core.StatusOK {
		t.Errorf("XProtect at 2 days: %v %q", r.Status, r.Message.EN)
	}
	p, _ = fromXProtect(found[:1], 14*24*time.Hour)
	if r := evaluate([]product{p}, 3*24*time.Hour, now); r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "limit 14") {
		t.Errorf("XProtect older than its own limit: %v %q", r.Status, r.Message.EN)
	}
	if _, ok := fromXProtect(nil, time.Hour); ok {
		t.Error("XProtect found in nothing")
	}
}

// cvd writes a database file with a real-format 512-byte header.
func cvd(t *testing.T, dir, file string, built time.Time, version, sigs int, cld bool) {
	t.Helper()
	md5, dsig := "92baacd59fd26e6bcf03077add78d209", "4Jp9JtGJY6nUk8JHDQQpQeBwlfXqskvhXL+vesDNqAeWCmjbudU+Hy/Nj4/BH2vl70c/R5B/VYY+eqqCQo6o7VGLqLJr/E+19gejqMp/iRcuHrtnLw6V/x3UjO3/qYVSlcJvAjtMI7FK32wjB+Sp8kaS/ZbfaFQp6trRQhisjqf"
	if cld {
		md5, dsig = "X", "X"
	}
	h := fmt.Sprintf("ClamAV-VDB:%s:%d:%d:90:%s:%s:raynman:%d", built.Format("02 Jan 2006 15-04 -0700"), version, sigs, md5, dsig, built.Unix())
	b := append([]byte(h), bytes.Repeat([]byte(" "), 512-len(h))...)
	b = append(b, 0x1f, 0x8b, 0x08, 0x00) // the gzip'd tar that follows
	if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCVDHeader(t *testing.T) {
	real := "ClamAV-VDB:16 Apr 2020 07-58 -0400:25784:2267600:63:92baacd59fd26e6bcf03077add78d209:4Jp9JtGJY6nUk8JHDQQpQeBwlfXqskvhXL+vesDNqAeWCmjbudU+Hy/Nj4/BH2vl70c/R5B/VYY+eqqCQo6o7VGLqLJr/E+19gejqMp/iRcuHrtnLw6V/x3UjO3/qYVSlcJvAjtMI7FK32wjB+Sp8kaS/ZbfaFQp6trRQhisjqf:raynman:1587038339"
	h, err := parseCVDHeader([]byte(real + strings.Repeat(" ", 512-len(real))))
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 25784 || h.Signatures != 2267600 || h.FLevel != 63 || h.Builder != "raynman" || h.Built.Unix() != 1587038339 {
		t.Errorf("header = %+v", h)
	}
	// Without the unix time, the text time (hyphen between hour and minute) is used.
	h, err = parseCVDHeader([]byte("ClamAV-VDB:16 Apr 2020 07-58 -0400:25784:2267600:63:X:X:raynman:"))
	if err != nil || !h.Built.Equal(time.Date(2020, 4, 16, 11, 58, 0, 0, time.UTC)) {
		t.Errorf("text time: %v, %v", h.Built, err)
	}
	for _, bad := range []string{"", "ClamAV-Diff:50:4228877:", "ClamAV-VDB:x:y:z:", "PK\x03\x04"} {
		if _, err := parseCVDHeader([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

type fakeProcs []string

func (f fakeProcs) list(context.Context) ([]string, error) { return f, nil }

func TestClamAV(t *testing.T) {
	dir := t.TempDir()
	berlin := time.FixedZone("CET", 3600)
	cvd(t, dir, "main.cvd", time.Date(2021, 9, 16, 14, 32, 0, 0, berlin), 62, 6647427, false)
	cvd(t, dir, "bytecode.cvd", time.Date(2024, 2, 26, 9, 1, 0, 0, time.UTC), 335, 86, false)
	cvd(t, dir, "daily.cvd", time.Date(2024, 4, 30, 8, 20, 0, 0, time.UTC), 27260, 2060329, false)
	// freshclam patched daily into a newer .cld, which wins over the .cvd.
	cvd(t, dir, "daily.cld", time.Date(2024, 5, 12, 8, 24, 0, 0, time.UTC), 27273, 2061210, true)

	p, ok, err := clamAV(context.Background(), dir, fakeProcs{"systemd", "clamd", "freshclam", "sshd"}.list)
	if err != nil || !ok {
		t.Fatalf("clamAV: %v %v", ok, err)
	}
	r := evaluate([]product{p}, 3*24*time.Hour, now)
	if r.Status != core.StatusOK || r.Message.EN != "Antivirus active: ClamAV (signatures daily 27273, main 62, bytecode 335, signature age 1.0 days)" {
		t.Errorf("fresh: %v %q", r.Status, r.Message.EN)
	}

	// freshclam not running (cron or stopped): a warning while signatures are fresh.
	p, _, _ = clamAV(context.Background(), dir, fakeProcs{"clamd"}.list)
	if r := evaluate([]product{p}, 3*24*time.Hour, now); r.Status != core.StatusWarning || !strings.Contains(r.Message.DE, "freshclam läuft nicht") {
		t.Errorf("no freshclam: %v %q", r.Status, r.Message.DE)
	}
	// clamd stopped: nothing scans.
	p, _, _ = clamAV(context.Background(), dir, fakeProcs{"freshclam"}.list)
	if r := evaluate([]product{p}, 3*24*time.Hour, now); r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "clamd is not running") {
		t.Errorf("no clamd: %v %q", r.Status, r.Message.EN)
	}
	// Old daily database.
	if r := evaluate([]product{p}, 3*24*time.Hour, now.AddDate(0, 0, 5)); r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "signatures are 6.0 days old") {
		t.Errorf("old: %v %q", r.Status, r.Message.EN)
	}

	// Not installed: no databases, no daemon.
	if _, ok, err := clamAV(context.Background(), t.TempDir(), fakeProcs{"sshd"}.list); ok || err != nil {
		t.Errorf("empty dir: %v %v", ok, err)
	}
	// A corrupt database is an error, not "not installed".
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "daily.cld"), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := clamAV(context.Background(), bad, fakeProcs{}.list); err == nil {
		t.Error("corrupt database accepted")
	}
	_, _, err = clamAV(context.Background(), dir, func(context.Context) ([]string, error) { return nil, errors.New("no /proc") })
	if err == nil {
		t.Error("process list error lost")
	}
}

type fakeSource struct {
	ps  []product
	err error
}

func (f fakeSource) Products(context.Context, params) ([]product, error) { return f.ps, f.err }

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

func TestRun(t *testing.T) {
	c, err := newCheck(nil, fakeSource{})
	if err != nil || c.Init() != nil {
		t.Fatal("defaults must work without configuration", err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Key != Key || got[0].Status != core.StatusFailure ||
		got[0].Message.EN != "No supported antivirus product found" || got[0].Message.DE != "Kein unterstütztes Antivirenprogramm gefunden" {
		t.Errorf("none: %+v", got)
	}
	c, _ = newCheck(json.RawMessage(`{"max_signature_age_days":7}`), fakeSource{ps: []product{{Name: "ClamAV", Active: true, SigTime: now.Add(-5 * 24 * time.Hour)}}})
	c.now = func() time.Time { return now }
	got = nil
	_ = c.Run(context.Background(), &got)
	if got[0].Status != core.StatusOK {
		t.Errorf("7-day limit: %+v", got[0])
	}
	for _, bad := range []string{`{"max_signature_age_days":0}`, `{"max_signature_age_days":"3"}`, `{"unknown":1}`, `{"xprotect_max_age_days":-1}`} {
		c, err := newCheck(json.RawMessage(bad), fakeSource{})
		if err == nil {
			err = c.Init()
		}
		if err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	c, _ = newCheck(nil, fakeSource{err: errors.New("WMI broken")})
	if err := c.Run(context.Background(), &got); err == nil {
		t.Error("source error lost")
	}
}

func TestReadXProtect(t *testing.T) {
	root := t.TempDir()
	sonoma := filepath.Join(root, "Library/Apple/System/Library/CoreServices/XProtect.bundle")
	mojave := filepath.Join(root, "System/Library/CoreServices/XProtect.bundle")
	sequoia := filepath.Join(root, "private/var/protected/xprotect/XProtect.bundle")
	write := func(path string, b []byte, mod time.Time) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	info := read(t, "xprotect-sonoma-Info.plist")
	write(filepath.Join(sonoma, "Contents/Info.plist"), info, now.Add(-30*24*time.Hour))
	write(filepath.Join(sonoma, "Contents/Resources/XProtect.yara"), []byte("rule x {}"), now.Add(-10*24*time.Hour))
	write(filepath.Join(mojave, "Contents/Resources/XProtect.meta.plist"), read(t, "xprotect-mojave-XProtect.meta.plist"), now.Add(-900*24*time.Hour))
	bundles := []string{sequoia, sonoma, mojave}

	p, ok, err := readXProtect(bundles, 60*24*time.Hour)
	if err != nil || !ok || p.SigVersion != "5266" || !p.SigTime.Equal(now.Add(-10*24*time.Hour)) {
		t.Fatalf("Sonoma layout: %+v %v %v", p, ok, err)
	}
	// macOS 15 keeps the updated bundle in /private/var/protected.
	write(filepath.Join(sequoia, "Contents/Info.plist"), bytes.ReplaceAll(info, []byte("5266"), []byte("5287")), now.Add(-24*time.Hour))
	p, _, _ = readXProtect(bundles, 60*24*time.Hour)
	if p.SigVersion != "5287" || !p.SigTime.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("Sequoia layout: %+v", p)
	}
	if _, ok, err := readXProtect([]string{filepath.Join(root, "none")}, time.Hour); ok || err != nil {
		t.Errorf("no bundle: %v %v", ok, err)
	}
	write(filepath.Join(root, "bad/Contents/Info.plist"), []byte("<plist><dict><key>x</key></dict>"), now)
	if _, _, err := readXProtect([]string{filepath.Join(root, "bad")}, time.Hour); err == nil {
		t.Error("bundle without version accepted")
	}
}

func TestMergeWindows(t *testing.T) {
	var eset []wscProduct
	if err := json.Unmarshal(read(t, "wsc-windows10-eset.json"), &eset); err != nil {
		t.Fatal(err)
	}
	var def wscProduct
	if err := json.Unmarshal(read(t, "wsc-windows11-defender.json"), &def); err != nil {
		t.Fatal(err)
	}
	mp := []mpStatus{psJSON(t, "defender-server2022.json")}
	invalidNS := errors.New("wmi: Invalid namespace")

	// Client with Defender: Security Center's entry gains Defender's signature age.
	ps, err := mergeWindows([]wscProduct{def}, nil, mp, nil, now)
	if err != nil || len(ps) != 1 || ps[0].Name != "Windows Defender" || !ps[0].Active || ps[0].SigVersion != "1.411.250.0" || ps[0].SigTime.IsZero() {
		t.Errorf("client Defender: %+v, %v", ps, err)
	}
	// Client with ESET: Defender's WMI says enabled, Security Center says it stepped aside.
	ps, _ = mergeWindows(eset, nil, mp, nil, now)
	if len(ps) != 2 || ps[0].Active || ps[0].Inactive != "off" || !ps[1].Active {
		t.Errorf("client ESET: %+v", ps)
	}
	// Server: no Security Center.
	ps, err = mergeWindows(nil, invalidNS, mp, nil, now)
	if err != nil || len(ps) != 1 || ps[0].Name != "Microsoft Defender Antivirus" {
		t.Errorf("server: %+v, %v", ps, err)
	}
	// Server without Defender: neither source, an error rather than "none".
	if _, err := mergeWindows(nil, invalidNS, nil, invalidNS, now); err == nil || !strings.Contains(err.Error(), "Security Center") {
		t.Errorf("no source: %v", err)
	}
	// Wine: both queries end with a COM error Windows has no text for; the
	// message names the classes and the HRESULT, in both languages.
	oleErr := ole.NewErrorWithDescription(0x80020005, "<nil>")
	_, err = mergeWindows(nil, oleErr, nil, oleErr, now)
	txt := check.ErrorText(err)
	if !strings.Contains(txt.EN, `WMI query of AntiVirusProduct (root\SecurityCenter2, Security Center) failed: HRESULT 0x80020005, type mismatch`) ||
		!strings.Contains(txt.EN, "WMI query of MSFT_MpComputerStatus (Microsoft Defender) failed: HRESULT 0x80020005") ||
		!strings.Contains(txt.DE, "WMI-Abfrage von AntiVirusProduct") || !strings.Contains(txt.DE, "Typkonflikt") || strings.Contains(txt.EN, "<nil>") {
		t.Errorf("COM error: %+v", txt)
	}
	// Client whose Security Center lists nothing and Defender removed.
	if ps, err := mergeWindows(nil, nil, nil, invalidNS, now); err != nil || len(ps) != 0 {
		t.Errorf("empty Security Center: %+v %v", ps, err)
	}
}
