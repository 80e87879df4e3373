package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/report"
)

func TestMonthOptions(t *testing.T) {
	m := monthOptions(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC), 12)
	if len(m) != 12 || m[0].Value != "2025-12" || m[0].Month != 12 || m[0].Year != 2025 || m[11].Value != "2025-01" {
		t.Errorf("months %+v", m)
	}
}

// TestMonthlyReportCard: the client page offers the PDF for the last 12
// months in the client's language, and its download is the PDF; another
// client's is not found.
func TestMonthlyReportCard(t *testing.T) {
	f := newSupportFixture(t)
	client := clientPath(f.device.ClientID)
	tech := f.browser(t, "de")
	tech.login("tech@example.com", testPassword)
	p := tech.do("GET", client, nil)
	last := time.Now().UTC().AddDate(0, 0, -time.Now().UTC().Day()).Format("2006-01") // the last day of last month
	for _, want := range []string{`id="monthly-report"`, "Monatsbericht (PDF)", `action="` + client + `/monthly-report.pdf"`,
		`<option value="` + last + `" selected>`, `<option value="de" selected>Deutsch</option>`, "PDF herunterladen"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("client page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `<option value="20`); n != 12 {
		t.Errorf("%d months offered, want 12", n)
	}
	p = tech.do("GET", client+"/monthly-report.pdf?month="+last+"&lang=en", nil)
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(p.body, "%PDF-") ||
		!strings.HasPrefix(p.header.Get("Content-Disposition"), `attachment; filename="Monthly-report-`) {
		t.Errorf("download: %d %q %q", p.status, p.header.Get("Content-Type"), p.header.Get("Content-Disposition"))
	}
	if p := tech.do("GET", clientPath(f.foreign.ClientID)+"/monthly-report.pdf", nil); p.status != http.StatusNotFound {
		t.Errorf("another client's report: %d, want 404", p.status)
	}
	if p := tech.do("GET", client+"/monthly-report.pdf?month=2026-13", nil); p.status != http.StatusBadRequest {
		t.Errorf("month 13: %d, want 400", p.status)
	}
}

// TestReportLogoCard uploads, previews and removes the logo on the alert
// settings page, and refuses a file that is not an image beside the field.
func TestReportLogoCard(t *testing.T) {
	f := newSupportFixture(t)
	admin := f.browser(t, "de")
	_, csrf := admin.login("admin@example.com", testPassword)
	p := admin.do("GET", alertSettingsPath, nil)
	for _, want := range []string{`id="report-logo"`, "Logo für Monatsberichte", `id="report-logo-none"`, "höchstens 512 KB und 4000 Pixel"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	p = admin.postFiles(reportLogoPath, csrf, "logo", map[string][]byte{"logo.txt": []byte("kein Bild")})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="report-logo-error"`) || !strings.Contains(p.body, "das Logo ist kein PNG- oder JPEG-Bild") {
		t.Errorf("not an image: %d\n%.2000s", p.status, p.body)
	}
	logo := testPNG(t, 200, 60)
	p = admin.postFiles(reportLogoPath, csrf, "logo", map[string][]byte{"logo.png": logo})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != alertSettingsPath+"?saved=logo#report-logo" {
		t.Fatalf("upload: %d %q\n%.2000s", p.status, p.header.Get("Location"), p.body)
	}
	p = admin.do("GET", alertSettingsPath+"?saved=logo", nil)
	if !strings.Contains(p.body, `id="report-logo-preview"`) || !strings.Contains(p.body, "Logo gespeichert.") || !strings.Contains(p.body, `id="report-logo-remove"`) {
		t.Errorf("the card does not show the logo")
	}
	if p := admin.do("GET", reportLogoPath, nil); p.status != http.StatusOK || p.header.Get("Content-Type") != "image/png" || !bytes.Equal([]byte(p.body), logo) {
		t.Errorf("logo route: %d %q", p.status, p.header.Get("Content-Type"))
	}
	stored, err := f.st.GetSetting(context.Background(), report.SettingLogo)
	if data, _ := base64.StdEncoding.DecodeString(stored); err != nil || !bytes.Equal(data, logo) {
		t.Errorf("stored logo: %d characters, %v", len(stored), err)
	}
	tech := f.browser(t, "de")
	_, tcsrf := tech.login("tech@example.com", testPassword)
	if p := tech.postFiles(reportLogoPath, tcsrf, "logo", map[string][]byte{"logo.png": logo}); p.status != http.StatusForbidden {
		t.Errorf("technician upload: %d, want 403", p.status)
	}
	p = admin.do("POST", reportLogoPath+"/delete", map[string][]string{"csrf": {csrf}, "confirm": {"yes"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("remove: %d", p.status)
	}
	if p := admin.do("GET", reportLogoPath, nil); p.status != http.StatusNotFound {
		t.Errorf("after removal: %d, want 404", p.status)
	}
}
