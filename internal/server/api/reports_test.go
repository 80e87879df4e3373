package api_test

import (
	"context"
	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
)

// TestReportAPI: the report in JSON, text and HTML and both languages; its
// settings are validated, stored and audited; sending queues it.
func TestReportAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	d, err := f.st.GetDevice(ctx, f.device.ID)
	if err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/clients/" + strconv.FormatInt(d.ClientID, 10)

	var rep report.Report
	if st := f.do(t, "GET", base+"/report", "readonly", &rep); st != http.StatusOK {
		t.Fatalf("GET report: %d", st)
	}
	if rep.Lang != "de" || rep.Client != "Acme" || rep.Summary.Devices != 1 || rep.Summary.OK != 1 || !rep.Quiet {
		t.Errorf("report = %+v", rep)
	}
	status, body := f.send(t, "GET", base+"/report?format=text&lang=en", f.tokens["readonly"], "", nil)
	if status != http.StatusOK || !strings.Contains(body, "Daily report for Acme") || !strings.Contains(body, "1 device: 1 OK, 0 failing, 0 offline") {
		t.Errorf("text: %d %q", status, body)
	}
	status, body = f.send(t, "GET", base+"/report?format=html", f.tokens["readonly"], "", nil)
	if status != http.StatusOK || !strings.Contains(body, "<h1>Tagesbericht für Acme</h1>") || !strings.Contains(body, "Keine kritischen Ereignisse") {
		t.Errorf("html: %d %q", status, body)
	}
	for _, q := range []string{"?format=pdf", "?lang=fr"} {
		if status, _ := f.send(t, "GET", base+"/report"+q, f.tokens["readonly"], "", nil); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}

	var rs core.ReportSettings
	if st := f.do(t, "GET", base+"/report-settings", "readonly", &rs); st != http.StatusOK || !rs.Enabled || rs.Hour != "07:00" || len(rs.Recipients) != 0 {
		t.Errorf("default settings: %d %+v", st, rs)
	}
	for _, bad := range []string{`{"enabled":true,"recipients":["nope"],"hour":"07:00"}`, `{"enabled":true,"hour":"25:00"}`, `{"enabled":true,"hour":"07:00","extra":1}`} {
		if status, _ := f.send(t, "PUT", base+"/report-settings", f.tokens["tech"], bad, nil); status != http.StatusBadRequest {
			t.Errorf("PUT %s: %d, want 400", bad, status)
		}
	}
	status, body = f.send(t, "PUT", base+"/report-settings", f.tokens["tech"], `{"enabled":false,"recipients":[" Chef@Acme.example "],"hour":"18:05"}`, &rs)
	if status != http.StatusOK || rs.Enabled || rs.Hour != "18:05" || len(rs.Recipients) != 1 || rs.Recipients[0] != "chef@acme.example" {
		t.Errorf("PUT: %d %s", status, body)
	}
	// Sending needs a mail server (without one nothing is queued).
	if err := alert.SaveSettings(ctx, f.st, alert.Settings{SMTP: smtp.Config{Host: "127.0.0.1", Port: 2525, TLS: smtp.TLSNone,
		From: "wacht@provider.example"}}); err != nil {
		t.Fatal(err)
	}
	var sent struct{ Recipients []string }
	status, body = f.send(t, "POST", base+"/report/send", f.tokens["tech"], "", &sent)
	if status != http.StatusAccepted || len(sent.Recipients) != 1 || sent.Recipients[0] != "chef@acme.example" {
		t.Errorf("send: %d %s", status, body)
	}
	box, err := f.st.ListOutbox(ctx, 0)
	if err != nil || len(box) != 1 || box[0].Target != "chef@acme.example" || !strings.Contains(string(box[0].Payload), `"html":"\u003c!DOCTYPE html\u003e`) {
		t.Errorf("outbox %+v %v", box, err)
	}
	audit, err := f.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range audit {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); !strings.Contains(got, "client.report-settings") || !strings.Contains(got, "client.report-send") {
		t.Errorf("audit actions %s", got)
	}
}
