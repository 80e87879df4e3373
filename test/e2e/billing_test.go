package e2e

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestBillingAndMonthlyReport runs the MSP's month end against a real
// server and agent: the customer's contract, the current month's preview
// that bills the machine enrolled today and its activation, the previous
// month finalized (a second finalize is refused), its CSV for Excel, and
// the monthly report as PDF naming the customer and the machine.
func TestBillingAndMonthlyReport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "2s", "--checks", fastChecks)
	var devices []apiDevice
	waitFor(t, "the device to be listed online", 60*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	var clients []core.Client
	e.api("GET", "/api/v1/clients", &clients)
	if len(clients) != 1 {
		t.Fatalf("clients %+v, want Müller GmbH alone", clients)
	}
	client := clients[0].ID

	// The server counts days in the alert settings' zone, Europe/Berlin
	// unless changed.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().In(berlin)
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, berlin)
	last := first.AddDate(0, 1, -1)
	prev := first.AddDate(0, -1, 0)
	day := func(t time.Time) string { return t.Format("2006-01-02") }

	c := core.DefaultContract(client, day(prev))
	var stored core.Contract
	if code, body := e.send("PUT", fmt.Sprintf("/api/v1/clients/%d/contract", client), c, &stored); code != http.StatusOK {
		t.Fatalf("PUT contract: HTTP %d %s", code, body)
	}
	bad := c
	bad.Start, bad.VATBasisPoints = day(first), 12000
	if code, body := e.send("PUT", fmt.Sprintf("/api/v1/clients/%d/contract", client), bad, nil); code != http.StatusBadRequest || !strings.Contains(body, "vat") {
		t.Errorf("VAT of 120 %%: HTTP %d %s, want 400 naming the field", code, body)
	}

	// This month: the machine enrolled today is billed from today to the
	// month's end (a month under way previews as if it stays) at the
	// month's price (129 € / 12, prorated by the month's days), plus one
	// activation (39 €), gross.
	var preview core.BillingRun
	if code := e.api("GET", "/api/v1/billing?from="+day(first)+"&to="+day(last), &preview); code != http.StatusOK {
		t.Fatalf("preview: HTTP %d", code)
	}
	if len(preview.Bills) != 1 || len(preview.Bills[0].Devices) != 1 {
		t.Fatalf("preview %+v, want one bill of one device", preview)
	}
	// The enrollment happened today, or yesterday if midnight passed since.
	days, present := int64(last.Day()), int64(preview.Bills[0].Devices[0].Days)
	if want := int64(last.Day() - now.Day() + 1); present != want && present != want+1 {
		t.Errorf("%d device-days, want %d", present, want)
	}
	wantInstall := int64(math.Round(1075 * float64(present) / float64(days))) // cents
	if preview.GrossCents != wantInstall+core.DefaultActivationCents {
		t.Fatalf("preview %+v, want %d + %d cents gross", preview, wantInstall, core.DefaultActivationCents)
	}
	for _, l := range preview.Bills[0].Lines {
		if l.Explain.DE == "" || l.NetCents+l.VATCents != l.GrossCents {
			t.Errorf("line %+v: no arithmetic shown or net + VAT ≠ gross", l)
		}
	}

	// Last month is over: finalize it once, never twice.
	var run core.BillingRun
	period := map[string]string{"from": day(prev), "to": day(first.AddDate(0, 0, -1))}
	if code, body := e.send("POST", "/api/v1/billing/runs", period, &run); code != http.StatusCreated {
		t.Fatalf("finalize: HTTP %d %s", code, body)
	}
	if code, body := e.send("POST", "/api/v1/billing/runs", period, nil); code != http.StatusConflict {
		t.Errorf("second finalize: HTTP %d %s, want 409", code, body)
	}
	csv := e.download(fmt.Sprintf("/api/v1/billing/runs/%d.csv", run.ID))
	if !bytes.HasPrefix(csv, []byte("\xef\xbb\xbf")) || !bytes.Contains(csv, []byte("Müller GmbH")) || !bytes.Contains(csv, []byte(";")) {
		t.Errorf("CSV for Excel:\n%s", csv)
	}

	// The monthly report of this month, as far as it goes.
	pdf := e.download(fmt.Sprintf("/api/v1/clients/%d/monthly-report.pdf?month=%s&lang=de", client, first.Format("2006-01")))
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("monthly report is no PDF: %.40q", pdf)
	}
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("WACHT_REQUIRE_TOOLS") != "" {
			t.Fatal("pdftotext is missing and WACHT_REQUIRE_TOOLS is set")
		}
		t.Skip("pdftotext is missing")
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	host, _ := os.Hostname()
	if text := string(out); !strings.Contains(text, "Müller GmbH") || !strings.Contains(text, "Monatsbericht") || !strings.Contains(text, host) {
		t.Errorf("the report's text lacks the customer, the title or the machine %q:\n%s", host, text)
	}
}

// download GETs path with the API token and returns the body of a 200.
func (e *env) download(path string) []byte {
	e.t.Helper()
	req, _ := http.NewRequest("GET", "https://"+e.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: HTTP %d %s", path, resp.StatusCode, b)
	}
	return b
}
