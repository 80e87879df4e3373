package web

import (
	"context"
	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestReportPreview(t *testing.T) {
	f, foreign := protectionFixture(t)
	ctx := context.Background()
	own, err := f.st.GetDevice(ctx, f.device.ID)
	if err != nil {
		t.Fatal(err)
	}
	path := "/clients/" + strconv.FormatInt(own.ClientID, 10) + "/report"

	admin := f.browser(t, "en")
	_, csrf := admin.login("admin@example.com", testPassword)
	// In the client's language (German), with a switch to English.
	p := admin.do("GET", path, nil)
	if p.status != http.StatusOK {
		t.Fatalf("GET %s: %d", path, p.status)
	}
	for _, want := range []string{"<h1>Daily report <span", "Tagesbericht für Müller GmbH", "Fehlgeschlagene Prüfungen",
		"Laufwerk / ist zu 91,5 % belegt", "pc-&lt;b&gt;01&lt;/b&gt;", `href="?lang=en"`, `id="report-send"`, "Sent to: <span id=\"report-recipients\">nobody"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("preview lacks %q", want)
		}
	}
	if strings.Contains(p.body, "<b>01") {
		t.Error("preview is not escaped")
	}
	p = admin.do("GET", path+"?lang=en", nil)
	if !strings.Contains(p.body, "Daily report for Müller GmbH") || !strings.Contains(p.body, "volume / is 91.5% full") || strings.Contains(p.body, "Tagesbericht für") {
		t.Errorf("English preview:\n%s", p.body)
	}

	// Sending needs a recipient: a clear 400 first, then through the outbox.
	p = admin.do("POST", path+"/send", url.Values{"csrf": {csrf}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "no report recipient and no contact e-mail") {
		t.Errorf("send without recipient: %d", p.status)
	}
	p = admin.do("POST", "/clients/"+strconv.FormatInt(own.ClientID, 10)+"/report-settings",
		url.Values{"csrf": {csrf}, "enabled": {"on"}, "recipients": {"it@mueller.example, not an address"}, "hour": {"06:30"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "Check the report") {
		t.Errorf("bad recipient: %d", p.status)
	}
	p = admin.do("POST", "/clients/"+strconv.FormatInt(own.ClientID, 10)+"/report-settings",
		url.Values{"csrf": {csrf}, "enabled": {"on"}, "recipients": {"IT@mueller.example; chef@mueller.example"}, "hour": {"6:30"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save settings: %d %s", p.status, p.body)
	}
	rs, err := f.st.GetReportSettings(ctx, own.ClientID)
	if err != nil || !rs.Enabled || rs.Hour != "06:30" || strings.Join(rs.Recipients, ",") != "it@mueller.example,chef@mueller.example" {
		t.Errorf("stored settings %+v, %v", rs, err)
	}
	if p := admin.do("GET", "/clients/"+strconv.FormatInt(own.ClientID, 10), nil); !strings.Contains(p.body, `value="it@mueller.example, chef@mueller.example"`) ||
		!strings.Contains(p.body, `value="06:30"`) || !strings.Contains(p.body, `href="`+path+`"`) {
		t.Errorf("client page lacks the report settings")
	}
	if got := auditOf(t, f, "client.report-settings"); len(got) != 1 || !strings.Contains(got[0].Detail, "hour=06:30") {
		t.Errorf("settings audit %+v", got)
	}
	// Sending needs a mail server (without one nothing is queued).
	if err := alert.SaveSettings(ctx, f.st, alert.Settings{SMTP: smtp.Config{Host: "127.0.0.1", Port: 2525, TLS: smtp.TLSNone,
		From: "wacht@provider.example"}}); err != nil {
		t.Fatal(err)
	}
	p = admin.do("POST", path+"/send", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != path+"?sent=1" {
		t.Fatalf("send: %d %q", p.status, p.header.Get("Location"))
	}
	box, err := f.st.ListOutbox(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range box {
		if strings.HasPrefix(m.DedupeKey, "report-now:"+strconv.FormatInt(own.ClientID, 10)+":") {
			targets[m.Target] = true
		}
	}
	if len(targets) != 2 || !targets["it@mueller.example"] || !targets["chef@mueller.example"] {
		t.Errorf("outbox targets %v", targets)
	}
	if got := auditOf(t, f, "client.report-send"); len(got) != 2 || got[0].Result != "ok" || got[1].Result != "failed" {
		t.Errorf("send audit %+v", got)
	}
	if p := admin.do("GET", path+"?sent=1", nil); !strings.Contains(p.body, "The report is being sent to its recipients.") {
		t.Error("no notice after sending")
	}

	// A read-only user limited to the client may look, not send, and sees
	// no other client's report.
	ro := f.browser(t, "de")
	_, rcsrf := ro.login("scoped@example.com", testPassword)
	p = ro.do("GET", path, nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "<h1>Tagesbericht <span") || strings.Contains(p.body, `id="report-send"`) {
		t.Errorf("read-only preview: %d", p.status)
	}
	if p := ro.do("POST", path+"/send", url.Values{"csrf": {rcsrf}}); p.status != http.StatusForbidden {
		t.Errorf("read-only send: %d, want 403", p.status)
	}
	if p := ro.do("GET", "/clients/"+strconv.FormatInt(foreign, 10)+"/report", nil); p.status != http.StatusNotFound {
		t.Errorf("foreign client's report: %d, want 404", p.status)
	}
	if p := admin.do("GET", "/clients/999999/report", nil); p.status != http.StatusNotFound {
		t.Errorf("unknown client's report: %d, want 404", p.status)
	}
}

func TestAccountDigest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.browser(t, "de")
	_, csrf := admin.login("admin@example.com", testPassword)
	p := admin.do("GET", "/account/reports", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Mir täglich um 07:00 die Übersicht meiner Kunden senden") ||
		!strings.Contains(p.body, `name="digest" value="on" checked`) || !strings.Contains(p.body, `id="tab-reports" class="active"`) {
		t.Fatalf("account reports: %d\n%s", p.status, p.body)
	}
	p = admin.do("POST", "/account/reports", url.Values{"csrf": {csrf}})
	if p.status != http.StatusOK || strings.Contains(p.body, "checked") || !strings.Contains(p.body, "Gespeichert.") {
		t.Errorf("turning the digest off: %d", p.status)
	}
	off, err := f.st.DigestOff(ctx)
	if err != nil || !off[f.users["admin"].ID] {
		t.Errorf("digest still on: %v %v", off, err)
	}
	if got := auditOf(t, f, "user.digest"); len(got) != 1 || got[0].Detail != "on=false" {
		t.Errorf("audit %+v", got)
	}
	ro := f.browser(t, "en")
	ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", "/account/reports", nil); !strings.Contains(p.body, "Only administrators and technicians get the daily digest.") {
		t.Errorf("read-only account page:\n%s", p.body)
	}
}
