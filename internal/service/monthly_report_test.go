package service

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
)

// testPNG is a w×h PNG.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, h/2, color.NRGBA{R: 200, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReportMonth(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	// 1 December 00:30 in Berlin is still 30 November in UTC.
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		month, want string
		bad         bool
	}{
		{"", "2026-11-01", false}, // the last full month in Berlin
		{"2026-12", "2026-12-01", false},
		{"2026-11", "2026-11-01", false},
		{"2025-01", "2025-01-01", false},
		{"2027-01", "", true},
		{"2026-13", "", true},
		{"2026-1", "", true},
		{"11/2026", "", true},
		{"2026-11-01", "", true},
		{"1999-12", "", true},
	} {
		got, err := ReportMonth(c.month, now, berlin)
		if c.bad {
			if f := fieldsOf(err); !slices.Equal(f, []string{"month"}) {
				t.Errorf("%q: %v (fields %v), want a refusal naming month", c.month, err, f)
			}
			continue
		}
		if err != nil || got.Format("2006-01-02") != c.want || got.Location() != berlin || got.Hour() != 0 {
			t.Errorf("%q: %v %v, want %s midnight in Berlin", c.month, got, err, c.want)
		}
	}
	if m := ReportMonths(now, berlin, 12); len(m) != 12 || m[0] != "2026-12" || m[1] != "2026-11" || m[11] != "2026-01" {
		t.Errorf("ReportMonths = %v", m)
	}
}

func TestReportLogo(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	logo := testPNG(t, 240, 80)

	// Only administrators set it.
	for _, u := range []core.User{f.tech, f.readonly, f.foreign, {}} {
		if err := f.svc.SetReportLogo(ctx, u, logo); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%q (%s) set the logo: %v", u.Email, u.Role, err)
		}
	}
	if data, ct, err := f.svc.ReportLogo(ctx, f.admin); err != nil || data != nil || ct != "" {
		t.Fatalf("no logo yet: %d bytes, %q, %v", len(data), ct, err)
	}

	// Bad logos are refused naming the field, in English and German.
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, image.NewGray(image.Rect(0, 0, 10, 10)), nil); err != nil {
		t.Fatal(err)
	}
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	big := append(testPNG(t, 10, 10), make([]byte, report.MaxLogoBytes)...)
	for name, data := range map[string][]byte{
		"text":          []byte("this is not an image"),
		"PDF":           []byte("%PDF-1.7\n%âãÏÓ\n"),
		"GIF":           gif,
		"truncated PNG": logo[:len(logo)/2],
		"too wide":      testPNG(t, MaxLogoPixels+1, 1),
		"too large":     big,
	} {
		err := f.svc.SetReportLogo(ctx, f.admin, data)
		if fs := fieldsOf(err); !slices.Equal(fs, []string{"logo"}) || !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: %v (fields %v), want a refusal naming logo", name, err, fs)
		}
	}
	if data, _, _ := f.svc.ReportLogo(ctx, f.admin); data != nil {
		t.Fatal("a refused logo was stored")
	}

	// A good PNG is stored, returned with its type to every role, and audited.
	if err := f.svc.SetReportLogo(ctx, f.admin, logo); err != nil {
		t.Fatal(err)
	}
	if a := lastAudit(t, f); a.Action != "settings.report-logo" || !strings.Contains(a.Detail, "image/png 240x80") {
		t.Errorf("audit %+v", a)
	}
	for _, u := range []core.User{f.admin, f.tech, f.readonly} {
		data, ct, err := f.svc.ReportLogo(ctx, u)
		if err != nil || !bytes.Equal(data, logo) || ct != "image/png" {
			t.Errorf("%s: %d bytes, %q, %v", u.Email, len(data), ct, err)
		}
	}
	if _, _, err := f.svc.ReportLogo(ctx, core.User{}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("nobody read the logo: %v", err)
	}
	// A JPEG replaces it.
	if err := f.svc.SetReportLogo(ctx, f.admin, jpg.Bytes()); err != nil {
		t.Fatal(err)
	}
	if data, ct, _ := f.svc.ReportLogo(ctx, f.admin); !bytes.Equal(data, jpg.Bytes()) || ct != "image/jpeg" {
		t.Errorf("JPEG: %d bytes, %q", len(data), ct)
	}
	// Nil removes it, audited.
	if err := f.svc.SetReportLogo(ctx, f.admin, nil); err != nil {
		t.Fatal(err)
	}
	if data, ct, err := f.svc.ReportLogo(ctx, f.admin); data != nil || ct != "" || err != nil {
		t.Errorf("after removal: %d bytes, %q, %v", len(data), ct, err)
	}
	if a := lastAudit(t, f); a.Action != "settings.report-logo" || a.Detail != "removed" {
		t.Errorf("audit %+v", a)
	}
}

func TestMonthlyReportPDFRefusals(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	f.svc.Now = func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }
	client := f.dev.ClientID
	for _, c := range []struct {
		who         string
		u           core.User
		id          int64
		month, lang string
		want        error
		field       string
	}{
		{"technician of another client", f.foreign, client, "2026-11", "", core.ErrNotFound, ""},
		{"unknown client", f.admin, client + 1000, "2026-11", "", core.ErrNotFound, ""},
		{"nobody", core.User{}, client, "2026-11", "", core.ErrForbidden, ""},
		{"month 13", f.readonly, client, "2026-13", "", core.ErrInvalid, "month"},
		{"future month", f.tech, client, "2027-01", "", core.ErrInvalid, "month"},
		{"language", f.admin, client, "2026-11", "fr", core.ErrInvalid, "lang"},
	} {
		_, err := f.svc.MonthlyReport(ctx, c.u, c.id, c.month, c.lang)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.who, err, c.want)
		}
		if fs := fieldsOf(err); c.field != "" && !slices.Equal(fs, []string{c.field}) {
			t.Errorf("%s: fields %v, want %s", c.who, fs, c.field)
		}
	}
}

func TestMonthlyReportFileName(t *testing.T) {
	for _, c := range []struct{ name, ascii, disposition string }{
		{"Monatsbericht-Bäckerei Müller & Söhne GmbH-2026-11.pdf", "Monatsbericht-Baeckerei-Mueller-Soehne-GmbH-2026-11.pdf",
			`attachment; filename="Monatsbericht-Baeckerei-Mueller-Soehne-GmbH-2026-11.pdf"; filename*=UTF-8''Monatsbericht-B%C3%A4ckerei%20M%C3%BCller%20&%20S%C3%B6hne%20GmbH-2026-11.pdf`},
		{`Monthly-report-"Evil"/..\x;-2026-11.pdf`, "Monthly-report-Evil-..-x-2026-11.pdf",
			`attachment; filename="Monthly-report-Evil-..-x-2026-11.pdf"; filename*=UTF-8''Monthly-report-%22Evil%22%2F..%5Cx%3B-2026-11.pdf`},
	} {
		f := MonthlyReportFile{Name: c.name, ASCIIName: report.ASCIIFileName(c.name)}
		if f.ASCIIName != c.ascii || f.ContentDisposition() != c.disposition {
			t.Errorf("%q: %q\n%s", c.name, f.ASCIIName, f.ContentDisposition())
		}
	}
}

func TestMonthlyReportPDF(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	f.svc.Now = func() time.Time { return time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC) }
	if err := f.svc.SetReportLogo(ctx, f.admin, testPNG(t, 300, 100)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		u                          core.User
		month, lang                string
		wantMonth, wantLang, wantN string
	}{
		{f.readonly, "", "", "2026-11", "de", "Monatsbericht-Müller GmbH-2026-11.pdf"},
		{f.tech, "2026-12", "en", "2026-12", "en", "Monthly-report-Müller GmbH-2026-12.pdf"},
		{f.admin, "2026-10", "de", "2026-10", "de", "Monatsbericht-Müller GmbH-2026-10.pdf"},
	} {
		r, err := f.svc.MonthlyReport(ctx, c.u, f.dev.ClientID, c.month, c.lang)
		if err != nil {
			t.Fatalf("%s %q: %v", c.u.Email, c.month, err)
		}
		if !bytes.HasPrefix(r.Data, []byte("%PDF-")) || r.Month != c.wantMonth || r.Lang != c.wantLang || r.Name != c.wantN ||
			r.ASCIIName != strings.ReplaceAll(strings.ReplaceAll(c.wantN, "ü", "ue"), " ", "-") {
			t.Errorf("%s %q: %.8q month %s lang %s names %q %q", c.u.Email, c.month, r.Data, r.Month, r.Lang, r.Name, r.ASCIIName)
		}
	}
}
