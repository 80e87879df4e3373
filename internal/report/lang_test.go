package report_test

import (
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/langtest"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// reportCrossLanguage are report strings right in both languages.
var reportCrossLanguage = []string{"Wacht", "Server", "Offline", "offline", "OK"}

// eventTexts are the fixture's Windows event texts: a German Windows
// writes them in German, whatever the report's language.
var eventTexts = []string{`Der Dienst "Veeam" wurde nicht gestartet.`, `Auf dem Gerät \Device\Harddisk1\DR1 wurde ein fehlerhafter Block gefunden.`}

// TestReportsSpeakOneLanguage renders the daily client report, the digest
// and the monthly report (PDF and its mail) in German and English and
// fails on any string of the other language's catalogue (see langtest),
// naming the report, the text and its key.
func TestReportsSpeakOneLanguage(t *testing.T) {
	st := storetest.NewSQLite(t)
	c, _ := seed(t, st)
	must(t, st.SetSetting(ctx, "server_url", "https://wacht.example"))
	d := load(t, st, c.ID)
	for _, lang := range []string{"de", "en"} {
		check := langtest.New(lang, report.Catalog(), reportCrossLanguage)
		texts := map[string]string{}
		daily, err := report.Render(report.Build(d, lang))
		must(t, err)
		texts["daily subject"], texts["daily text"], texts["daily HTML"] = daily.Subject, daily.Text, langtest.Visible(daily.HTML)
		digest, err := report.RenderDigest(report.NewDigest(lang, "", []report.Report{report.Build(d, lang)}))
		must(t, err)
		texts["digest subject"], texts["digest text"], texts["digest HTML"] = digest.Subject, digest.Text, langtest.Visible(digest.HTML)
		m := report.BuildMonthly(monthFixture(), lang)
		pdf, err := report.PDFText(m)
		must(t, err)
		mail := report.MonthlyMail(m)
		texts["monthly PDF"], texts["monthly mail text"], texts["monthly mail HTML"] = pdf, mail.Text, langtest.Visible(mail.HTML)
		for what, text := range texts {
			if text == "" {
				t.Errorf("%s %s is empty", lang, what)
			}
			for _, e := range eventTexts {
				text = strings.ReplaceAll(text, e, "")
			}
			for _, h := range check.Find(text) {
				t.Errorf("%s %s: %s", lang, what, h)
			}
		}
	}
}

// TestCatalogNotCopied: no German report string of two words or more is
// a copy of the English one (langtest.Copied).
func TestCatalogNotCopied(t *testing.T) {
	for _, e := range langtest.Copied(report.Catalog(), nil) {
		t.Errorf("%s: German is the English %q; translate it", e.Key, e.EN)
	}
}
