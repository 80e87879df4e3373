package service

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // the logo may be JPEG
	_ "image/png"  // or PNG
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/report"
)

// The monthly customer report (issue 22) as a download, and the MSP's logo
// it shows. Anyone who may see a client may download its report; the
// logo is an administrator's setting.

// MaxLogoPixels bounds the logo's width and height.
const MaxLogoPixels = 4000

// MonthlyReportFile is a rendered monthly report and the names to save it
// under.
type MonthlyReportFile struct {
	Data  []byte
	Month string // "YYYY-MM", the default filled in
	Lang  string // "de" or "en", the default filled in
	// Name is "Monatsbericht-<client>-<month>.pdf" (German) or
	// "Monthly-report-<client>-<month>.pdf" with the client's name as is;
	// ASCIIName is the same with only letters, digits, '.', '_' and '-'
	// (umlauts transliterated), for clients that do not read RFC 6266's
	// filename*.
	Name, ASCIIName string
}

// ContentDisposition is the header value that saves f under its name:
// attachment, filename (ASCII) and filename* (UTF-8, RFC 6266/8187).
func (f MonthlyReportFile) ContentDisposition() string {
	return `attachment; filename="` + f.ASCIIName + `"; filename*=UTF-8''` + rfc8187(f.Name)
}

// MonthlyReport renders client clientID's report of month ("YYYY-MM", a
// month that has begun; "": the last full month; the current month gives
// the report so far) as PDF in lang ("": the client's report language)
// with the MSP's logo, and names the file.
func (s *Service) MonthlyReport(ctx context.Context, u core.User, clientID int64, month, lang string) (MonthlyReportFile, error) {
	if err := need(u, authz.Read); err != nil {
		return MonthlyReportFile{}, err
	}
	c, err := s.GetClient(ctx, u, clientID)
	if err != nil {
		return MonthlyReportFile{}, err
	}
	switch lang {
	case "":
		lang = c.ReportLang
		if lang != "en" {
			lang = "de"
		}
	case "de", "en":
	default:
		return MonthlyReportFile{}, fieldError("lang", fmt.Sprintf("the language %q is not one of de, en", lang),
			fmt.Sprintf("die Sprache %q ist nicht de oder en", lang))
	}
	env, err := report.LoadEnv(ctx, s.store)
	if err != nil {
		return MonthlyReportFile{}, err
	}
	start, err := ReportMonth(month, s.now(), env.Location)
	if err != nil {
		return MonthlyReportFile{}, err
	}
	logo, _, err := s.reportLogo(ctx)
	if err != nil {
		return MonthlyReportFile{}, err
	}
	month = start.Format("2006-01")
	// On the Service's clock (the month under way is
	// reported up to now).
	d, err := report.LoadMonthly(ctx, s.store, env, c, start, s.now())
	if err != nil {
		return MonthlyReportFile{}, fmt.Errorf("monthly report of client %d for %s: %w", clientID, month, err)
	}
	m := report.BuildMonthly(d, lang)
	pdf, err := report.RenderPDF(m, logo)
	if err != nil {
		return MonthlyReportFile{}, fmt.Errorf("monthly report of client %d for %s: %w", clientID, month, err)
	}
	return MonthlyReportFile{Data: pdf, Month: month, Lang: lang, Name: m.FileName(), ASCIIName: report.ASCIIFileName(m.FileName())}, nil
}

// rfc8187 percent-encodes s's UTF-8 bytes except RFC 8187's attr-char.
func rfc8187(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// ReportMonth parses month ("YYYY-MM") as the midnight of its first day
// in loc; "" is the last full month before now. A month that has not
// begun at now is refused, naming the field "month"; the current month is
// allowed (the report so far).
func ReportMonth(month string, now time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	if month == "" {
		return this.AddDate(0, -1, 0), nil
	}
	t, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil || len(month) != 7 || t.Year() < 2000 {
		return time.Time{}, fieldError("month", fmt.Sprintf("%q is not a month like 2026-11", month),
			fmt.Sprintf("%q ist kein Monat wie 2026-11", month))
	}
	if t.After(this) {
		return time.Time{}, fieldError("month", fmt.Sprintf("the month %s has not begun yet", month),
			fmt.Sprintf("der Monat %s hat noch nicht begonnen", month))
	}
	return t, nil
}

// ReportMonths lists the months a report may be downloaded for: the
// current month and the n-1 before it, newest first ("YYYY-MM").
func ReportMonths(now time.Time, loc *time.Location, n int) []string {
	if loc == nil {
		loc = time.UTC
	}
	now = now.In(loc)
	this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, this.AddDate(0, -i, 0).Format("2006-01"))
	}
	return out
}

// SetReportLogo stores the logo the monthly reports show (PNG or JPEG, at
// most report.MaxLogoBytes and MaxLogoPixels wide and high; nil or empty
// removes it); anything not an image is refused, naming the field "logo";
// audited as "settings.report-logo" (admin).
func (s *Service) SetReportLogo(ctx context.Context, u core.User, data []byte) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if len(data) == 0 {
		if err := s.store.SetSetting(ctx, report.SettingLogo, ""); err != nil {
			return fmt.Errorf("removing the report logo: %w", err)
		}
		return s.record(ctx, u, "settings.report-logo", "setting:"+report.SettingLogo, "removed", "")
	}
	ct, w, h, err := checkLogo(data)
	if err != nil {
		return err
	}
	if err := s.store.SetSetting(ctx, report.SettingLogo, base64.StdEncoding.EncodeToString(data)); err != nil {
		return fmt.Errorf("storing the report logo: %w", err)
	}
	return s.record(ctx, u, "settings.report-logo", "setting:"+report.SettingLogo,
		fmt.Sprintf("%s %dx%d, %d bytes", ct, w, h, len(data)), "")
}

// ReportLogo returns the stored logo and its content type (nil and ""
// without one), for every signed-in role (the settings page shows it).
func (s *Service) ReportLogo(ctx context.Context, u core.User) ([]byte, string, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, "", err
	}
	return s.reportLogo(ctx)
}

func (s *Service) reportLogo(ctx context.Context) ([]byte, string, error) {
	v, err := s.store.GetSetting(ctx, report.SettingLogo)
	if errors.Is(err, core.ErrNotFound) || (err == nil && v == "") {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("reading the report logo: %w", err)
	}
	data, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, "", fmt.Errorf("report logo setting %s: %w", report.SettingLogo, err)
	}
	ct, _, _, err := checkLogo(data)
	if err != nil {
		return nil, "", fmt.Errorf("report logo setting %s: %w", report.SettingLogo, err)
	}
	return data, ct, nil
}

// checkLogo accepts a PNG or JPEG image of at most report.MaxLogoBytes and
// MaxLogoPixels in each direction that decodes completely, and returns
// its content type and size.
func checkLogo(data []byte) (ct string, w, h int, err error) {
	if len(data) > report.MaxLogoBytes {
		return "", 0, 0, fieldError("logo",
			fmt.Sprintf("the logo has %d KB; at most %d KB are allowed", (len(data)+1023)/1024, report.MaxLogoBytes/1024),
			fmt.Sprintf("das Logo hat %d KB; erlaubt sind höchstens %d KB", (len(data)+1023)/1024, report.MaxLogoBytes/1024))
	}
	notImage := fieldError("logo", "the logo is not a PNG or JPEG image", "das Logo ist kein PNG- oder JPEG-Bild")
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return "", 0, 0, notImage
	}
	switch format {
	case "png":
		ct = "image/png"
	case "jpeg":
		ct = "image/jpeg"
	default:
		return "", 0, 0, notImage
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxLogoPixels || cfg.Height > MaxLogoPixels {
		return "", 0, 0, fieldError("logo",
			fmt.Sprintf("the logo is %d×%d pixels; at most %d×%d are allowed", cfg.Width, cfg.Height, MaxLogoPixels, MaxLogoPixels),
			fmt.Sprintf("das Logo hat %d×%d Pixel; erlaubt sind höchstens %d×%d", cfg.Width, cfg.Height, MaxLogoPixels, MaxLogoPixels))
	}
	// The whole image, not only its header: a truncated or corrupt file
	// would fail later, in every monthly report.
	if _, _, err := image.Decode(bytes.NewReader(data)); err != nil {
		return "", 0, 0, notImage
	}
	// What the PDF writer cannot embed (an interlaced PNG…) would be left
	// out of every report: refuse it now.
	if _, err := report.LogoType(data); err != nil {
		return "", 0, 0, fieldError("logo", "the logo cannot be put into a PDF; save it as a plain (not interlaced) PNG or JPEG",
			"das Logo lässt sich nicht in ein PDF einbetten; bitte als einfaches (nicht interlaced) PNG oder JPEG speichern")
	}
	return ct, cfg.Width, cfg.Height, nil
}

// fieldError is a validation error naming one field, in English and German.
func fieldError(field, en, de string) error {
	return &policy.ValidationError{Fields: []policy.FieldError{{Field: field, Message: core.Text{EN: en, DE: de}}}}
}
