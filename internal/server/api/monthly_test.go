package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// rawReq sends a request with the named token, body and content type and
// returns the status, headers and body.
func (f *fixture) rawReq(t *testing.T, method, path, token, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

func logoPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 120, 40))
	for x := range 120 {
		for y := range 40 {
			img.Set(x, y, color.NRGBA{B: uint8(x * 2), G: 80, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fieldsIn returns the fields a 400 answer names.
func fieldsIn(t *testing.T, body []byte) []string {
	t.Helper()
	var v struct {
		Fields []struct {
			Field   string
			Message core.Text
		}
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, f := range v.Fields {
		if f.Message.EN == "" || f.Message.DE == "" {
			out = append(out, f.Field+" (untranslated)")
		}
		out = append(out, f.Field)
	}
	return out
}

// TestMonthlyReportAPI: the PDF download's status codes and headers, and
// the report logo's upload, download and removal.
func TestMonthlyReportAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	d, err := f.st.GetDevice(ctx, f.device.ID)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := f.st.EnsureClientSite(ctx, "Bäckerei Müller & Söhne", "Filiale")
	if err != nil {
		t.Fatal(err)
	}
	scoped := core.User{Email: "scoped@example.com", PasswordHash: "x", Role: core.RoleReadOnly, Scope: core.Only(d.ClientID)}
	if err := f.st.CreateUser(ctx, &scoped); err != nil {
		t.Fatal(err)
	}
	sec := auth.NewSecret(auth.APITokenPrefix)
	if err := f.st.CreateAPIToken(ctx, &core.APIToken{UserID: scoped.ID, Name: "scoped", Hash: auth.HashSecret(sec)}); err != nil {
		t.Fatal(err)
	}
	f.tokens["scoped"] = sec
	base := "/api/v1/clients/" + strconv.FormatInt(d.ClientID, 10) + "/monthly-report.pdf"
	now := time.Now()
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	// The server counts months in its office-hours zone (Europe/Berlin by
	// default); near a month's turn "now" may differ by one from UTC, so
	// the test keeps away from "this month" and "next month" edges.
	lastFull := thisMonth.AddDate(0, -2, 0).Format("2006-01")

	// Default month and language: the last full month, German (Acme's).
	status, h, body := f.rawReq(t, "GET", base, "scoped", "", nil)
	if status != http.StatusOK || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(body, []byte("%PDF-")) ||
		h.Get("Content-Length") != strconv.Itoa(len(body)) || h.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("default: %d %v %.20q", status, h, body)
	}
	if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="Monatsbericht-Acme-`) ||
		!strings.Contains(cd, `filename*=UTF-8''Monatsbericht-Acme-`) || h.Get("Content-Language") != "de" {
		t.Errorf("default: Content-Disposition %q, language %q", cd, h.Get("Content-Language"))
	}
	status, h, _ = f.rawReq(t, "GET", base+"?month="+lastFull+"&lang=en", "readonly", "", nil)
	if want := `attachment; filename="Monthly-report-Acme-` + lastFull + `.pdf"; filename*=UTF-8''Monthly-report-Acme-` + lastFull + ".pdf"; status != http.StatusOK || h.Get("Content-Disposition") != want {
		t.Errorf("English: %d, Content-Disposition %q, want %q", status, h.Get("Content-Disposition"), want)
	}
	// A client with umlauts: an ASCII file name and the UTF-8 one.
	status, h, _ = f.rawReq(t, "GET", "/api/v1/clients/"+strconv.FormatInt(other.ID, 10)+"/monthly-report.pdf?month="+lastFull, "admin", "", nil)
	if want := `attachment; filename="Monatsbericht-Baeckerei-Mueller-Soehne-` + lastFull + `.pdf"; filename*=UTF-8''Monatsbericht-B%C3%A4ckerei%20M%C3%BCller%20&%20S%C3%B6hne-` + lastFull + ".pdf"; status != http.StatusOK || h.Get("Content-Disposition") != want {
		t.Errorf("umlauts: %d, Content-Disposition %q, want %q", status, h.Get("Content-Disposition"), want)
	}

	// Bad input.
	future := thisMonth.AddDate(0, 2, 0).Format("2006-01")
	for _, c := range []struct {
		path, token string
		status      int
		field       string
	}{
		{base + "?month=2026-13", "admin", http.StatusBadRequest, "month"},
		{base + "?month=" + future, "admin", http.StatusBadRequest, "month"},
		{base + "?month=last", "admin", http.StatusBadRequest, "month"},
		{base + "?lang=fr", "admin", http.StatusBadRequest, "lang"},
		{"/api/v1/clients/" + strconv.FormatInt(other.ID, 10) + "/monthly-report.pdf", "scoped", http.StatusNotFound, ""},
		{"/api/v1/clients/999999/monthly-report.pdf", "admin", http.StatusNotFound, ""},
		{"/api/v1/clients/x/monthly-report.pdf", "admin", http.StatusBadRequest, ""},
		{base, "", http.StatusUnauthorized, ""},
	} {
		status, _, body := f.rawReq(t, "GET", c.path, c.token, "", nil)
		if status != c.status {
			t.Errorf("%s as %q: %d, want %d: %s", c.path, c.token, status, c.status, body)
			continue
		}
		if c.field != "" {
			if fs := fieldsIn(t, body); strings.Join(fs, ",") != c.field {
				t.Errorf("%s: fields %v, want %s", c.path, fs, c.field)
			}
		}
	}

	_, _, noLogo := f.rawReq(t, "GET", base+"?month="+lastFull, "admin", "", nil)

	// The logo: none yet; only administrators change it; not an image is 400 naming logo.
	const logoPath = "/api/v1/settings/report-logo"
	if status, _, _ := f.rawReq(t, "GET", logoPath, "readonly", "", nil); status != http.StatusNotFound {
		t.Errorf("GET without a logo: %d, want 404", status)
	}
	logo := logoPNG(t)
	for _, tok := range []string{"tech", "readonly"} {
		if status, _, _ := f.rawReq(t, "PUT", logoPath, tok, "image/png", logo); status != http.StatusForbidden {
			t.Errorf("PUT as %s: %d, want 403", tok, status)
		}
	}
	for _, c := range []struct {
		name, ct string
		body     []byte
	}{
		{"text", "image/png", []byte("not an image at all")},
		{"JSON", "application/json", []byte(`{"logo":"x"}`)},
		{"empty", "image/png", nil},
		{"too large", "image/png", append(bytes.Clone(logo), make([]byte, 600<<10)...)},
		{"bad type", "image/png; x", logo},
	} {
		status, _, body := f.rawReq(t, "PUT", logoPath, "admin", c.ct, c.body)
		if status != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400: %s", c.name, status, body)
			continue
		}
		if fs := fieldsIn(t, body); strings.Join(fs, ",") != "logo" {
			t.Errorf("PUT %s: fields %v", c.name, fs)
		}
	}
	if status, _, body := f.rawReq(t, "PUT", logoPath, "admin", "image/png", logo); status != http.StatusNoContent {
		t.Fatalf("PUT logo: %d %s", status, body)
	}
	status, h, body = f.rawReq(t, "GET", logoPath, "readonly", "", nil)
	if status != http.StatusOK || h.Get("Content-Type") != "image/png" || !bytes.Equal(body, logo) {
		t.Errorf("GET logo: %d %q, %d bytes", status, h.Get("Content-Type"), len(body))
	}
	// The report now carries the logo, an image it did not have before.
	_, _, withLogo := f.rawReq(t, "GET", base+"?month="+lastFull, "admin", "", nil)
	if bytes.Contains(noLogo, []byte("/Subtype /Image")) || !bytes.Contains(withLogo, []byte("/Subtype /Image")) {
		t.Errorf("the report does not show the logo (%d bytes, %d without)", len(withLogo), len(noLogo))
	}
	if status, _, _ := f.rawReq(t, "DELETE", logoPath, "tech", "", nil); status != http.StatusForbidden {
		t.Errorf("DELETE as tech: %d", status)
	}
	if status, _, _ := f.rawReq(t, "DELETE", logoPath, "admin", "", nil); status != http.StatusNoContent {
		t.Errorf("DELETE: %d", status)
	}
	if status, _, _ := f.rawReq(t, "GET", logoPath, "admin", "", nil); status != http.StatusNotFound {
		t.Errorf("GET after DELETE: %d, want 404", status)
	}
	audit, err := f.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range audit {
		if e.Action == "settings.report-logo" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d audit entries settings.report-logo, want 2 (set, removed)", n)
	}
}

// TestMonthlyReportPDFText: the downloaded PDF's text, extracted with
// pdftotext (poppler-utils), names the client and the month.
func TestMonthlyReportPDFText(t *testing.T) {
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("WACHT_REQUIRE_TOOLS") != "" {
			t.Fatal("pdftotext is missing and WACHT_REQUIRE_TOOLS is set")
		}
		t.Skip("pdftotext is missing")
	}
	f := newFixture(t)
	d, err := f.st.GetDevice(context.Background(), f.device.ID)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/clients/" + strconv.FormatInt(d.ClientID, 10) + "/monthly-report.pdf?month=2026-11"
	dir := t.TempDir()
	for _, c := range []struct{ lang, want string }{
		{"de", "Monatsbericht November 2026 – Acme"},
		{"en", "Monthly report November 2026 – Acme"},
	} {
		status, _, body := f.rawReq(t, "GET", base+"&lang="+c.lang, "readonly", "", nil)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", c.lang, status, body)
		}
		p := filepath.Join(dir, c.lang+".pdf")
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tool, "-layout", p, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		if text := strings.Join(strings.Fields(string(out)), " "); !strings.Contains(text, c.want) {
			t.Errorf("%s: %q not in %.600s", c.lang, c.want, text)
		}
	}
}
