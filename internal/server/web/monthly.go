package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The monthly customer report (issue 22) on the dashboard: the client
// page's "Monthly report (PDF)" card downloads it for one of the last 12
// months in German or English; the alert settings page (administrators)
// keeps the MSP's logo it shows, with a preview. The dashboard's session
// does not authenticate the API, so these are web routes over the same
// service calls.

const reportLogoPath = "/settings/report-logo"

func (s *server) monthlyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /clients/{id}/monthly-report.pdf", authz.Read, s.withSession(s.monthlyReport))
	rt.HandleFunc("GET "+reportLogoPath, authz.Admin, s.withSession(s.reportLogo))
	rt.HandleFunc("POST "+reportLogoPath, authz.Admin, s.withSession(s.uploadReportLogo))
	rt.HandleFunc("POST "+reportLogoPath+"/delete", authz.Admin, s.withSession(s.deleteReportLogo))
}

// logoUpload reports whether r is a logo upload, whose body may be bigger
// than an ordinary form's (bigForm).
func logoUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == reportLogoPath
}

// monthOption is one month of the download's select.
type monthOption struct {
	Value       string // "YYYY-MM"
	Year, Month int
}

// MonthlyMonths are the months the client page offers: the last 12 full
// months, newest (the default) first. Full months only, so that each is a
// month that has begun in every time zone.
func (clientPageView) MonthlyMonths() []monthOption {
	return monthOptions(time.Now(), 12)
}

func monthOptions(now time.Time, n int) []monthOption {
	this := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	out := make([]monthOption, 0, n)
	for i := 1; i <= n; i++ {
		m := this.AddDate(0, -i, 0)
		out = append(out, monthOption{Value: m.Format("2006-01"), Year: m.Year(), Month: int(m.Month())})
	}
	return out
}

// monthlyReport sends the PDF as a download; ?month= and ?lang= as in the
// API.
func (s *server) monthlyReport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	q := r.URL.Query()
	f, err := s.svc.MonthlyReport(r.Context(), rc.user, id, q.Get("month"), q.Get("lang"))
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", f.ContentDisposition())
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	_, _ = w.Write(f.Data) // the status is sent; a failed write has no one to tell
}

// logoCard is the settings page's "Logo for monthly reports" card.
type logoCard struct {
	Set         bool
	ContentType string
	Bytes       int
	Error       string // the refusal of an upload, in the page's language
}

// MaxKB and MaxPx are the logo's limits as the field's help shows them.
func (logoCard) MaxKB() int { return report.MaxLogoBytes >> 10 }
func (logoCard) MaxPx() int { return service.MaxLogoPixels }

// logoCardOf reads the stored logo for the card.
func (s *server) logoCardOf(ctx context.Context, u core.User) (*logoCard, error) {
	data, ct, err := s.svc.ReportLogo(ctx, u)
	if err != nil {
		return nil, err
	}
	return &logoCard{Set: data != nil, ContentType: ct, Bytes: len(data)}, nil
}

// reportLogo serves the stored logo for the preview; 404 without one.
func (s *server) reportLogo(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	data, ct, err := s.svc.ReportLogo(r.Context(), rc.user)
	if err == nil && data == nil {
		err = core.ErrNotFound
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; sandbox")
	w.Header().Set("Content-Disposition", "inline")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// uploadReportLogo takes the card's file field "logo" (PNG or JPEG).
func (s *server) uploadReportLogo(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	data, err := formFile(r, "logo", report.MaxLogoBytes)
	switch {
	case err != nil || len(data) == 0:
		err = logoRefusal("choose a PNG or JPEG file", "wählen Sie eine PNG- oder JPEG-Datei")
	default:
		// The service refuses a too large one, naming the size.
		err = s.svc.SetReportLogo(r.Context(), rc.user, data)
	}
	if err != nil {
		s.logoRefused(w, r, rc, err)
		return
	}
	http.Redirect(w, r, alertSettingsPath+"?saved=logo#report-logo", http.StatusSeeOther)
}

func (s *server) deleteReportLogo(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	if err := s.svc.SetReportLogo(r.Context(), rc.user, nil); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, alertSettingsPath+"?saved=logoRemoved#report-logo", http.StatusSeeOther)
}

// logoRefused shows the settings page with the refusal beside the logo
// field, or the error page for anything but a refused logo.
func (s *server) logoRefused(w http.ResponseWriter, r *http.Request, rc *reqCtx, err error) {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) == 0 {
		s.renderError(w, r, rc.lang, err)
		return
	}
	card, cerr := s.logoCardOf(r.Context(), rc.user)
	if cerr != nil {
		s.renderError(w, r, rc.lang, cerr)
		return
	}
	card.Error = ve.Fields[0].Message.In(rc.lang.code)
	v := s.view(r, rc.lang, rc)
	v.Error = "monthly.logoInvalid"
	s.renderAlertSettings(w, r, rc, v, http.StatusBadRequest, &alertSettingsPage{Logo: card})
}

func logoRefusal(en, de string) error {
	return &policy.ValidationError{Fields: []policy.FieldError{{Field: "logo", Message: core.Text{EN: en, DE: de}}}}
}

// monthlyCatalog holds the strings of the monthly report's card and the
// logo card (monthly.*; monthly.m1–m12 are the months); init merges them into catalog.
var monthlyCatalog = map[string]map[string]string{
	langEN: {
		"monthly.title":              "Monthly report (PDF)",
		"monthly.help":               "Availability, outages, the checks that failed most, antivirus, backup, patches, inventory and failed log-ins of one month, for the customer to file.",
		"monthly.month":              "Month",
		"monthly.lang":               "Language",
		"monthly.langDE":             "German",
		"monthly.langEN":             "English",
		"monthly.download":           "Download PDF",
		"monthly.logoTitle":          "Logo for monthly reports",
		"monthly.logoHelp":           "Shown top right on every customer's monthly report. PNG or JPEG, at most %d KB and %d pixels wide and high.",
		"monthly.logoAlt":            "The logo of the monthly reports",
		"monthly.noLogo":             "No logo: the reports show none.",
		"monthly.logoFile":           "PNG or JPEG file",
		"monthly.upload":             "Upload logo",
		"monthly.removeLogo":         "Remove logo",
		"monthly.removeLogoQuestion": "Remove the logo? The monthly reports then show none.",
		"monthly.logoSaved":          "Logo saved. The next monthly reports show it.",
		"monthly.logoRemoved":        "Logo removed.",
		"monthly.logoInvalid":        "The logo was not saved.",
		"monthly.m1":                 "January",
		"monthly.m2":                 "February",
		"monthly.m3":                 "March",
		"monthly.m4":                 "April",
		"monthly.m5":                 "May",
		"monthly.m6":                 "June",
		"monthly.m7":                 "July",
		"monthly.m8":                 "August",
		"monthly.m9":                 "September",
		"monthly.m10":                "October",
		"monthly.m11":                "November",
		"monthly.m12":                "December",
	},
	langDE: {
		"monthly.title":              "Monatsbericht (PDF)",
		"monthly.help":               "Verfügbarkeit, Ausfälle, die häufigsten fehlgeschlagenen Prüfungen, Virenschutz, Datensicherung, Patches, Inventar und fehlgeschlagene Anmeldungen eines Monats – zum Ablegen für den Kunden.",
		"monthly.month":              "Monat",
		"monthly.lang":               "Sprache",
		"monthly.langDE":             "Deutsch",
		"monthly.langEN":             "Englisch",
		"monthly.download":           "PDF herunterladen",
		"monthly.logoTitle":          "Logo für Monatsberichte",
		"monthly.logoHelp":           "Erscheint oben rechts im Monatsbericht jedes Kunden. PNG oder JPEG, höchstens %d KB und %d Pixel breit und hoch.",
		"monthly.logoAlt":            "Das Logo der Monatsberichte",
		"monthly.noLogo":             "Kein Logo: Die Berichte zeigen keines.",
		"monthly.logoFile":           "PNG- oder JPEG-Datei",
		"monthly.upload":             "Logo hochladen",
		"monthly.removeLogo":         "Logo entfernen",
		"monthly.removeLogoQuestion": "Das Logo entfernen? Die Monatsberichte zeigen dann keines.",
		"monthly.logoSaved":          "Logo gespeichert. Die nächsten Monatsberichte zeigen es.",
		"monthly.logoRemoved":        "Logo entfernt.",
		"monthly.logoInvalid":        "Das Logo wurde nicht gespeichert.",
		"monthly.m1":                 "Januar",
		"monthly.m2":                 "Februar",
		"monthly.m3":                 "März",
		"monthly.m4":                 "April",
		"monthly.m5":                 "Mai",
		"monthly.m6":                 "Juni",
		"monthly.m7":                 "Juli",
		"monthly.m8":                 "August",
		"monthly.m9":                 "September",
		"monthly.m10":                "Oktober",
		"monthly.m11":                "November",
		"monthly.m12":                "Dezember",
	},
}

func init() {
	for lang, m := range monthlyCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
