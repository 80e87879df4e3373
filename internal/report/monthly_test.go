package report_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
)

// november is the fixture's month: 30 days of CET (no DST change).
var november = time.Date(2026, 11, 1, 0, 0, 0, 0, berlin)

func at(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, berlin) }
func tp(t time.Time) *time.Time          { return &t }

func mdev(id int64, host, role, platform string, enrolled, retired time.Time) report.MonthDevice {
	return report.MonthDevice{Device: core.Device{ID: id, ClientID: 1, Hostname: host, Role: role, Platform: platform,
		EnrolledAt: enrolled}, RetiredAt: retired}
}

// monthFixture is Müller GmbH's November: fs01 offline 2 h from an outage
// that began in October plus 5 h 12 min (7 h 12 min: 99,00 %); app02
// enrolled on the 16th and offline 1 h 48 min, still open at the end (of
// 15 days: 99,50 %); old03 retired on the 10th, never offline; a
// workstation whose outages do not count as availability.
func monthFixture() report.MonthlyData {
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, berlin)
	end := november.AddDate(0, 1, 0)
	d := report.MonthlyData{Client: core.Client{ID: 1, Name: "Müller GmbH"}, Month: november, End: end, Until: end,
		Location: berlin,
		Devices: []report.MonthDevice{
			mdev(1, "fs01", core.DeviceRoleServer, "Windows Server 2022 Standard", old, time.Time{}),
			mdev(2, "app02", core.DeviceRoleServer, "Debian GNU/Linux 12", at(16, 0, 0), time.Time{}),
			mdev(3, "old03", core.DeviceRoleServer, "Windows Server 2012 R2", old, at(10, 0, 0)),
			mdev(4, "ws01", core.DeviceRoleWorkstation, "Windows 11 Pro", old, time.Time{}),
			mdev(5, "nb01", core.DeviceRoleNotebook, "Windows 11 Pro", old, time.Time{}),
		},
		Outages: []core.Outage{
			{DeviceID: 1, Kind: core.OutageOffline, OpenedAt: time.Date(2026, 10, 31, 22, 0, 0, 0, berlin), ClosedAt: tp(at(1, 2, 0))},
			{DeviceID: 1, Kind: core.OutageCheck, CheckName: "disk", CheckKey: "D:", OpenedAt: at(3, 8, 0), ClosedAt: tp(at(3, 9, 30)),
				Message: core.Text{EN: "D: 97.5% used", DE: "D: 97,5 % belegt"}},
			{DeviceID: 1, Kind: core.OutageOffline, OpenedAt: at(12, 10, 0), ClosedAt: tp(at(12, 15, 12))},
			{DeviceID: 4, Kind: core.OutageOffline, OpenedAt: at(20, 8, 0), ClosedAt: tp(at(25, 8, 0))},
			{DeviceID: 2, Kind: core.OutageOffline, OpenedAt: at(30, 22, 12)},
			{DeviceID: 99, Kind: core.OutageOffline, OpenedAt: at(5, 0, 0)}, // another client's: left out
		},
		States: map[int64][]core.CheckState{
			1: {{Name: "antivirus", Status: core.StatusOK, Message: core.Text{EN: "Defender up to date", DE: "Defender aktuell"}},
				{Name: "backup", Status: core.StatusFailure, Message: core.Text{EN: "quota exceeded", DE: "Größe: 49,00 € fällig"}}},
			4: {{Name: "antivirus", Status: core.StatusWarning, Message: core.Text{EN: "signatures 3 days old", DE: "Signaturen 3 Tage alt"}}},
			3: {{Name: "backup", Status: core.StatusOK}}, // retired: left out
		},
		Logins: map[int64]float64{1: 12, 4: 3, 3: 5},
	}
	for i := range 12 {
		d.Failures = append(d.Failures, core.CheckFailures{DeviceID: 4, Check: "disk", Key: fmt.Sprintf("%c:", 'C'+i), Count: i + 1})
	}
	d.Failures = append(d.Failures, core.CheckFailures{DeviceID: 1, Check: "backup", Count: 40})
	return d
}

func TestBuildMonthly(t *testing.T) {
	m := report.BuildMonthly(monthFixture(), "de")
	got := map[string]report.Availability{}
	for _, a := range m.Availability {
		got[a.Hostname] = a
	}
	if len(m.Availability) != 3 {
		t.Fatalf("availability of %d servers, want 3: %+v", len(m.Availability), m.Availability)
	}
	check := func(host string, bp int, off time.Duration, outages int, partial bool) {
		t.Helper()
		a := got[host]
		if a.UptimeBP != bp || a.Offline.D() != off || a.Outages != outages || a.Partial != partial {
			t.Errorf("%s: uptime %d, offline %s, %d outages, partial %v; want %d, %s, %d, %v", host, a.UptimeBP, a.Offline.D(),
				a.Outages, a.Partial, bp, off, outages, partial)
		}
	}
	check("fs01", 9900, 7*time.Hour+12*time.Minute, 2, false)
	check("app02", 9950, time.Hour+48*time.Minute, 1, true)
	check("old03", 10000, 0, 0, true)
	if a := got["app02"]; !a.From.Equal(at(16, 0, 0)) || a.Existed.D() != 15*24*time.Hour {
		t.Errorf("app02 existed from %s for %s", a.From, a.Existed.D())
	}
	if a := got["old03"]; !a.To.Equal(at(10, 0, 0)) || a.Existed.D() != 9*24*time.Hour {
		t.Errorf("old03 existed until %s for %s", a.To, a.Existed.D())
	}
	if m.Availability[0].Hostname != "fs01" {
		t.Errorf("worst server first: %+v", m.Availability)
	}

	if len(m.Outages) != 5 {
		t.Fatalf("%d outages, want 5: %+v", len(m.Outages), m.Outages)
	}
	first := m.Outages[0]
	if first.Hostname != "fs01" || !first.Offline || first.Duration.D() != 2*time.Hour || first.End == nil ||
		!first.Start.Equal(time.Date(2026, 10, 31, 22, 0, 0, 0, berlin)) {
		t.Errorf("outage over the month's start: %+v", first)
	}
	last := m.Outages[4]
	if last.Hostname != "app02" || last.End != nil || last.Duration.D() != time.Hour+48*time.Minute {
		t.Errorf("open outage: %+v", last)
	}
	if o := m.Outages[1]; o.Offline || o.Check != "disk" || o.Key != "D:" || o.Message != "D: 97,5 % belegt" || o.Duration.D() != 90*time.Minute {
		t.Errorf("check outage: %+v", o)
	}

	if len(m.TopChecks) != report.TopChecks {
		t.Fatalf("%d top checks, want %d", len(m.TopChecks), report.TopChecks)
	}
	if c := m.TopChecks[0]; c.Hostname != "fs01" || c.Check != "backup" || c.Failures != 40 {
		t.Errorf("top check %+v", c)
	}
	if c := m.TopChecks[9]; c.Key != "F:" || c.Failures != 4 {
		t.Errorf("tenth check %+v, want disk F: with 4", c)
	}

	if len(m.Protection) != 2 || m.Protection[0].Hostname != "fs01" || m.Protection[0].Backup != "failure" ||
		m.Protection[0].Antivirus != "ok" || m.Protection[1].Hostname != "ws01" || m.Protection[1].Backup != "" {
		t.Errorf("protection %+v", m.Protection)
	}
	if m.LoginsTotal != 20 || len(m.Logins) != 3 || m.Logins[0].Hostname != "fs01" || m.Logins[0].Failures != 12 {
		t.Errorf("logins %d %+v", m.LoginsTotal, m.Logins)
	}
	inv := m.Inventory
	if inv.Devices != 4 || len(inv.ByRole) != 3 || inv.ByRole[0] != (report.Count{Name: "server", Count: 2}) {
		t.Errorf("inventory %+v", inv)
	}
	if p := inv.Platforms[0]; p.Platform != "Windows 11 Pro" || p.Count != 2 || p.Support != report.SupportUnknown {
		t.Errorf("platform %+v", p)
	}
	for _, p := range inv.Platforms {
		if p.Platform == "Windows Server 2022 Standard" &&
			(p.Support != report.SupportCurrent || !p.SupportEnd.Equal(time.Date(2031, 10, 14, 0, 0, 0, 0, time.UTC))) {
			t.Errorf("platform %+v, want supported until 2031-10-14", p)
		}
	}
	if len(inv.OutOfSupport) != 0 {
		t.Errorf("out of support %v: old03 (Windows Server 2012 R2) was retired", inv.OutOfSupport)
	}
	if m.Patches != nil {
		t.Errorf("patches without statuses: %+v", m.Patches)
	}
}

// A device still in service on an OS past its end of support is named;
// one whose OS the table does not know is "unknown", never supported.
func TestBuildMonthlyOutOfSupport(t *testing.T) {
	d := monthFixture()
	d.Devices = append(d.Devices,
		mdev(6, "legacy06", core.DeviceRoleServer, "Microsoft Windows Server 2012 R2 Standard", time.Date(2025, 1, 1, 0, 0, 0, 0, berlin), time.Time{}),
		mdev(7, "db07", core.DeviceRoleServer, "debian 11.9", time.Date(2025, 1, 1, 0, 0, 0, 0, berlin), time.Time{}))
	m := report.BuildMonthly(d, "en")
	if got := m.Inventory.OutOfSupport; len(got) != 2 || got[0] != "db07" || got[1] != "legacy06" {
		t.Errorf("out of support %v, want [db07 legacy06]", got)
	}
	want := map[string]string{
		"Microsoft Windows Server 2012 R2 Standard": report.SupportEnded,
		"debian 11.9":                  report.SupportEnded, // Debian 11 LTS ended 2026-08-31
		"Windows Server 2022 Standard": report.SupportCurrent,
		"Windows 11 Pro":               report.SupportUnknown,
		"Debian GNU/Linux 12":          report.SupportUnknown,
	}
	for _, p := range m.Inventory.Platforms {
		if w, ok := want[p.Platform]; ok && p.Support != w {
			t.Errorf("%s: support %s, want %s", p.Platform, p.Support, w)
		}
	}
	pdf, err := report.RenderPDF(m, nil)
	must(t, err)
	contains(t, "English PDF", pdfText(t, pdf), "legacy06", "ended 2023-10-10", "until 2031-10-14")
}

func TestBuildMonthlyUnderWay(t *testing.T) {
	d := monthFixture()
	d.Until = at(22, 8, 0) // app02 existed 6 days 8 hours, none offline
	m := report.BuildMonthly(d, "en")
	for _, a := range m.Availability {
		if a.Hostname == "app02" && (a.UptimeBP != 10000 || a.Existed.D() != 152*time.Hour) {
			t.Errorf("app02 under way: %+v", a)
		}
		if a.Hostname == "fs01" && a.Offline.D() != 7*time.Hour+12*time.Minute {
			t.Errorf("fs01 under way: %+v", a)
		}
	}
	for _, o := range m.Outages {
		if o.Hostname == "ws01" && (o.End != nil || o.Duration.D() != 48*time.Hour) {
			t.Errorf("ws01's outage still open at the report's end: %+v", o)
		}
		if o.Hostname == "app02" {
			t.Errorf("an outage after the report's end: %+v", o)
		}
	}
}

// pdfText runs pdftotext -layout on pdf.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	tool := needTool(t, "pdftotext")
	path := filepath.Join(t.TempDir(), "r.pdf")
	must(t, os.WriteFile(path, pdf, 0o600))
	out, err := exec.Command(tool, "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("WACHT_REQUIRE_TOOLS") != "" {
			t.Fatalf("%s is missing and WACHT_REQUIRE_TOOLS is set", name)
		}
		t.Skipf("%s is missing", name)
	}
	return p
}

func TestRenderPDFGermanAndEnglish(t *testing.T) {
	d := monthFixture()
	de, err := report.RenderPDF(report.BuildMonthly(d, "de"), nil)
	must(t, err)
	text := pdfText(t, de)
	contains(t, "German PDF", text, "Monatsbericht November 2026 – Müller GmbH", "01.11.2026 bis 30.11.2026 (Europe/Berlin)",
		"Verfügbarkeit der Server", "99,00 %", "99,50 %", "100,00 %", "7 Std. 12 Min.", "aufgenommen 16.11.2026",
		"ausgemustert 10.11.2026", "31.10.2026 22:00", "01.11.2026 02:00", "2 Std.", "1 Std. 48 Min.", "noch offen",
		"Dauer im Monat", "Speicherplatz D:", "Häufigste Fehlschläge", "gestört: Größe: 49,00 € fällig",
		"Warnung: Signaturen 3 Tage alt", "Kein Gerät meldet einen Patch-Stand.", "4 Geräte: 2 Server, 1 Arbeitsplatz, 1 Notebook",
		"Windows 11 Pro", "unbekannt", "20 fehlgeschlagene Anmeldungen im Monat", "Seite 1 von 2", "Seite 2 von 2")
	lacks(t, "German PDF", text, "Monthly", "Page ", "?")

	en, err := report.RenderPDF(report.BuildMonthly(d, "en"), nil)
	must(t, err)
	text = pdfText(t, en)
	contains(t, "English PDF", text, "Monthly report November 2026 – Müller GmbH", "2026-11-01 to 2026-11-30",
		"Server availability", "99.00%", "99.50%", "7 h 12 min", "still open", "2026-10-31 22:00", "enrolled 2026-11-16",
		"failing: quota exceeded", "Checks that failed most", "20 failed log-ins in the month", "Page 1 of 2")
	lacks(t, "English PDF", text, "Seite", "Verfügbarkeit")

	again, err := report.RenderPDF(report.BuildMonthly(d, "de"), nil)
	must(t, err)
	if !bytes.Equal(de, again) {
		t.Error("the same report renders to different bytes")
	}
}

func TestRenderPDFEmptyMonth(t *testing.T) {
	end := november.AddDate(0, 1, 0)
	m := report.BuildMonthly(report.MonthlyData{Client: core.Client{ID: 2, Name: "Leer & Söhne"}, Month: november, End: end,
		Until: end, Location: berlin}, "de")
	pdf, err := report.RenderPDF(m, nil)
	must(t, err)
	contains(t, "empty month", pdfText(t, pdf), "Monatsbericht November 2026 – Leer & Söhne", "Keine Server.", "Keine Ausfälle.",
		"Keine Prüfung ist fehlgeschlagen.", "Keine Geräte.", "Keine Ergebnisse der Anmeldeprüfung.", "Seite 1 von 1")
}

func logoPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 120, 40))
	for x := range 120 {
		for y := range 40 {
			img.Set(x, y, color.RGBA{R: uint8(x * 2), G: 80, B: uint8(y * 6), A: 255})
		}
	}
	var b bytes.Buffer
	must(t, png.Encode(&b, img))
	return b.Bytes()
}

// images counts the images pdfimages -list finds.
func images(t *testing.T, pdf []byte) int {
	t.Helper()
	tool := needTool(t, "pdfimages")
	path := filepath.Join(t.TempDir(), "r.pdf")
	must(t, os.WriteFile(path, pdf, 0o600))
	out, err := exec.Command(tool, "-list", path).Output()
	if err != nil {
		t.Fatalf("pdfimages: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return max(len(lines)-2, 0) // two header lines
}

func TestRenderPDFLogo(t *testing.T) {
	m := report.BuildMonthly(monthFixture(), "en")
	logo := logoPNG(t)
	if typ, err := report.LogoType(logo); err != nil || typ != "PNG" {
		t.Fatalf("LogoType of a PNG: %q, %v", typ, err)
	}
	with, err := report.RenderPDF(m, logo)
	must(t, err)
	if n := images(t, with); n != 1 {
		t.Errorf("%d images with a logo, want 1", n)
	}
	without, err := report.RenderPDF(m, nil)
	must(t, err)
	if n := images(t, without); n != 0 {
		t.Errorf("%d images without a logo", n)
	}
	for name, bad := range map[string][]byte{
		"garbage":      []byte("this is not an image at all"),
		"truncated":    logo[:len(logo)/2],
		"png header":   logo[:40],
		"gif":          []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
		"too large":    append(append([]byte{}, logo...), make([]byte, report.MaxLogoBytes)...),
		"jpeg garbage": append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{0x42}, 64)...),
	} {
		if _, err := report.LogoType(bad); err == nil {
			t.Errorf("%s: LogoType accepts it", name)
		}
		pdf, err := report.RenderPDF(m, bad)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if n := images(t, pdf); n != 0 {
			t.Errorf("%s: %d images", name, n)
		}
		contains(t, name, pdfText(t, pdf), "Monthly report November 2026 – Müller GmbH")
	}
}

func TestMonthlyFileNameAndSubject(t *testing.T) {
	m := report.BuildMonthly(monthFixture(), "de")
	if s := m.Subject(); s != "[Wacht] Monatsbericht November 2026 – Müller GmbH" {
		t.Errorf("subject %q", s)
	}
	if f := report.ASCIIFileName(m.FileName()); f != "Monatsbericht-Mueller-GmbH-2026-11.pdf" {
		t.Errorf("file name %q", f)
	}
	m = report.BuildMonthly(monthFixture(), "en")
	if s := m.Subject(); s != "[Wacht] Monthly report November 2026 – Müller GmbH" {
		t.Errorf("subject %q", s)
	}
}
