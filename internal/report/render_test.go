package report_test

import (
	"os"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func contains(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func lacks(t *testing.T, what, s string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(s, w) {
			t.Errorf("%s contains %q:\n%s", what, w, s)
		}
	}
}

func TestRenderGermanAndEnglish(t *testing.T) {
	st := storetest.NewSQLite(t)
	c, _ := seed(t, st)
	must(t, st.SetSetting(ctx, "server_url", "https://wacht.example"))
	d := load(t, st, c.ID)

	de, err := report.Render(report.Build(d, "de"))
	must(t, err)
	if os.Getenv("REPORT_DUMP") != "" {
		t.Logf("%s\n%s\n%s", de.Subject, de.Text, de.HTML)
	}
	if de.Subject != "[Wacht] Tagesbericht Müller GmbH – 27.11.2026" {
		t.Errorf("subject %q", de.Subject)
	}
	for what, body := range map[string]string{"text": de.Text, "html": de.HTML} {
		contains(t, "German "+what, body,
			"Tagesbericht für Müller GmbH",
			"26.11.2026 07:01 bis 27.11.2026 07:01 (Europe/Berlin)",
			"3 Geräte: 1 in Ordnung, 1 gestört, 1 offline",
			"Kritische Ereignisse (27)",
			"fs01 (27)",
			"27.11.2026 05:00", "Service Control Manager", "7000",
			"und 24 weitere",
			"Fehlgeschlagene Prüfungen (2)",
			"D: 98,25 % belegt", "98,25 %", "wieder in Ordnung", "gestört",
			"Störungen (2)", "2 Std.", "1 T. 2 Std.", "noch offen",
			"nb01", "jetzt offline, zuletzt gemeldet 27.11.2026 04:01", "offline seit 27.11.2026 04:16 (2 Std. 45 Min.)",
			"https://wacht.example/clients/"+itoa(c.ID)+"/report")
		lacks(t, "German "+what, body, "Old (ID 1)", "Daily report", "98.25")
	}
	contains(t, "German text", de.Text, "disk (ID 7): Auf dem Gerät \\Device\\Harddisk1\\DR1 wurde ein fehlerhafter Block gefunden. (2×)")
	contains(t, "German html", de.HTML, "<!DOCTYPE html>", `<html lang="de">`, "Service Control Manager</td><td>7000</td><td>Der Dienst &#34;Veeam&#34; wurde nicht gestartet.</td><td>1</td>")

	en, err := report.Render(report.Build(d, "en"))
	must(t, err)
	if en.Subject != "[Wacht] Daily report Müller GmbH – 2026-11-27" {
		t.Errorf("subject %q", en.Subject)
	}
	for what, body := range map[string]string{"text": en.Text, "html": en.HTML} {
		contains(t, "English "+what, body, "Daily report for Müller GmbH", "2026-11-26 07:01 to 2026-11-27 07:01",
			"3 devices: 1 OK, 1 failing, 1 offline", "Critical events (27)", "and 24 more", "Failed checks (2)",
			"D: 98.25% used", "98.25 %", "OK again", "Outages (2)", "1 d 2 h", "still open", "offline now, last seen 2026-11-27 04:01")
		lacks(t, "English "+what, body, "Tagesbericht", "98,25")
	}

	// A quiet day says so.
	other, _ := client(t, st, "Ruhig KG", "", "de")
	q, err := report.Render(report.Build(load(t, st, other.ID), "de"))
	must(t, err)
	for what, body := range map[string]string{"text": q.Text, "html": q.HTML} {
		contains(t, "quiet "+what, body, "Keine kritischen Ereignisse", "0 Geräte", "Alle Geräte waren online.")
		lacks(t, "quiet "+what, body, "fs01", "weitere")
	}
}

func TestRenderEscapes(t *testing.T) {
	st := storetest.NewSQLite(t)
	c, site := client(t, st, "<script>alert(1)</script> GmbH", "a@example.org", "en")
	device(t, st, site, "pc<b>", "workstation", now)
	m, err := report.Render(report.Build(load(t, st, c.ID), "en"))
	must(t, err)
	lacks(t, "html", m.HTML, "<script>alert", "pc<b>")
	contains(t, "html", m.HTML, "&lt;script&gt;alert(1)&lt;/script&gt; GmbH")
	contains(t, "text", m.Text, "<script>alert(1)</script> GmbH") // plain text is not HTML
}
