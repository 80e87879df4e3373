package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// eurDE writes cents the way a German invoice does, for amounts under
// 1000 € (the test's): "18,17 €".
func eurDE(cents int64) string { return fmt.Sprintf("%d,%02d\u00a0€", cents/100, cents%100) }

// roundHalfUp is num/den rounded half away from zero, for num, den > 0.
func roundHalfUp(num, den int64) int64 { return (2*num + den) / (2 * den) }

// TestBrowserBilling, in headless Chromium and German: an administrator
// saves the default contract for a client with two devices (a VAT of
// 120 % is refused at the VAT field first), records 90 minutes of work as
// "1:30", opens "Abrechnung" for the last full month and sees the
// figures the contract gives (computed here from the formula), finalizes
// it and finds the run listed, and downloads its CSV, which starts with
// the UTF-8 byte order mark. No script error or CSP violation.
func TestBrowserBilling(t *testing.T) {
	needChromium(t)
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	first := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC) // the last full month
	days := int64(first.AddDate(0, 1, -1).Day())

	_, site, err := f.st.EnsureClientSite(ctx, "Abrechnungs AG", "Büro")
	if err != nil {
		t.Fatal(err)
	}
	// One device since before the month, one new on its 10th.
	for _, d := range []struct {
		host, machine string
		at            time.Time
	}{
		{"buero-pc", "m-buero", first.AddDate(0, -2, 0).Add(12 * time.Hour)},
		{"empfang-pc", "m-empfang", first.AddDate(0, 0, 9).Add(12 * time.Hour)},
	} {
		secret := auth.NewSecret("")
		if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
			t.Fatal(err)
		}
		dev := core.Device{Hostname: d.host, OS: "windows", MachineID: d.machine, PublicKey: make([]byte, 32)}
		if err := f.st.Enroll(ctx, auth.HashSecret(secret), &dev, d.at); err != nil {
			t.Fatal(err)
		}
	}

	// The expected bill, from the contract's figures: 129 € gross per
	// installation and year, 39 € per activation, 95 € per hour, 19 %.
	deviceDays := days + (days - 9)
	inst := roundHalfUp(12900*deviceDays, 12*days)
	act := int64(3900)
	work := roundHalfUp(9500*90, 60)
	net := func(gross int64) int64 { return roundHalfUp(gross*10000, 11900) }
	gross := inst + act + work
	totalNet := net(inst) + net(act) + net(work)

	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#nav-billing")
	client := clientPath(site.ClientID)
	c.step("open the client in German", chromedp.Navigate(f.srv.URL+client), chromedp.WaitVisible("#lang-de"),
		chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] #contract-form`))
	if s := c.text("#contract-none"); !strings.Contains(s, "Kein Vertrag") {
		t.Errorf("no contract yet: %q", s)
	}
	for sel, want := range map[string]string{"#contract-price": "129,00", "#contract-activation": "39,00", "#contract-vat": "19",
		"#contract-start": now.Format("2006-01") + "-01", "#contract-period": "monthly"} {
		if v, err := chromedp.Run(c.ctx, chromedp.Value(sel)); err != nil || v != want {
			t.Errorf("default plan: %s is %q (%v), want %q", sel, v, err, want)
		}
	}
	c.step("a VAT of 120 % is refused", chromedp.SetValue("#contract-vat", "120"),
		chromedp.SetValue("#contract-start", first.Format("2006-01-02")),
		chromedp.Click("#contract-save"), chromedp.WaitVisible("#contract-vat-error"))
	if s := c.text("#contract-vat-error"); !strings.Contains(s, "USt. %") || !strings.Contains(s, "100 %") {
		t.Errorf("the VAT field's error: %q", s)
	}
	c.step("save the default contract from the last month on", chromedp.SetValue("#contract-vat", "19"),
		chromedp.Click("#contract-save"), chromedp.WaitVisible("#contract-saved"))
	if s := c.text("#contract-current"); !strings.Contains(s, "129,00\u00a0€ brutto") || !strings.Contains(s, "39,00\u00a0€") {
		t.Errorf("the contract in force: %q", s)
	}
	workDay := first.AddDate(0, 0, 19).Format("2006-01-02")
	c.step("record 1:30 hours", chromedp.SetValue("#time-minutes", "1:30"), chromedp.SetValue("#time-date", workDay),
		chromedp.SetValue("#time-note", "Drucker eingerichtet"), chromedp.Click("#time-save"), chromedp.WaitVisible("#time .time-entry"))
	if s := c.text("#time .time-entry"); !strings.Contains(s, "1:30") || !strings.Contains(s, "Drucker eingerichtet") || !strings.Contains(s, "noch nicht") {
		t.Errorf("the time entry: %q", s)
	}

	c.screenshot("client-contract-time.png")

	bill := "#bill-" + fmt.Sprint(site.ClientID) + "-" + first.Format("2006-01-02")
	c.step("open Abrechnung", chromedp.Click("#nav-billing"), chromedp.WaitVisible(bill))
	for sel, want := range map[string]string{
		bill + " .line-installations .gross": eurDE(inst),
		bill + " .line-installations .net":   eurDE(net(inst)),
		bill + " .line-activations .gross":   eurDE(act),
		bill + " .line-time .gross":          eurDE(work),
		bill + " .line-time .vat":            eurDE(work - net(work)),
		bill + " .bill-total .gross":         eurDE(gross),
		"#total-net":                         eurDE(totalNet),
		"#total-gross":                       eurDE(gross),
	} {
		if s := c.text(sel); s != want {
			t.Errorf("%s: %q, want %q", sel, s, want)
		}
	}
	if s := c.text(bill + " .line-installations"); !strings.Contains(s, fmt.Sprintf("%d Gerätetage", deviceDays)) {
		t.Errorf("installations line: %q", s)
	}
	if s := c.text(bill + " .explain"); !strings.Contains(s, fmt.Sprintf("× %d Gerätetage ÷ %d Tage", deviceDays, days)) {
		t.Errorf("the arithmetic: %q", s)
	}
	c.step("show the devices", chromedp.Click(bill+" .bill-devices summary"), chromedp.WaitVisible(bill+" .bill-devices table"))
	if s := c.text(bill + " .bill-devices"); !strings.Contains(s, "empfang-pc") || !strings.Contains(s, fmt.Sprintf("%d / %d", days-9, days)) || !strings.Contains(s, "neu am") {
		t.Errorf("device list: %q", s)
	}
	c.screenshot("billing-preview.png")

	c.step("finalizing needs the confirmation", chromedp.Click("#finalize"), chromedp.WaitVisible("#finalize-confirm-error"))
	c.step("finalize", chromedp.Click("#finalize-confirm"), chromedp.Click("#finalize"), chromedp.WaitVisible("#run-notice"))
	if s := c.text("#run-notice"); !strings.Contains(s, "nicht mehr geändert") {
		t.Errorf("finalized notice: %q", s)
	}
	c.step("back to Abrechnung", chromedp.Click("#nav-billing"), chromedp.WaitVisible("#runs"), chromedp.WaitVisible("#billing-finalized"))
	if s := c.text("#runs tbody tr"); !strings.Contains(s, eurDE(gross)) || !strings.Contains(s, "admin@example.com") {
		t.Errorf("the finalized run in the list: %q", s)
	}
	if s := c.text("#billing-finalize h2"); s != "Korrektur erstellen" {
		t.Errorf("a finalized period offers a correction: %q", s)
	}
	c.screenshot("billing-finalized.png")
	csv, err := chromedp.Run(c.ctx, chromedp.Evaluate[[]int](`fetch(document.querySelector("#runs .run-csv").href)
		.then(r => r.ok ? r.arrayBuffer() : Promise.reject(r.status)).then(b => Array.from(new Uint8Array(b)))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("downloading the CSV: %v", err)
	}
	if len(csv) < 3 || csv[0] != 0xEF || csv[1] != 0xBB || csv[2] != 0xBF {
		t.Errorf("the CSV does not start with the UTF-8 BOM: % x", csv[:min(len(csv), 8)])
	}
	b := make([]byte, len(csv))
	for i, v := range csv {
		b[i] = byte(v)
	}
	if s := string(b); !strings.Contains(s, ";") || !strings.Contains(s, fmt.Sprintf("%d,%02d", work/100, work%100)) {
		t.Errorf("the CSV:\n%s", s)
	}
	// The two refusals (VAT, confirmation) answer 400, which the
	// console reports; anything else is a failure.
	c.mu.Lock()
	var rest []string
	refused := 0
	for _, m := range c.console {
		if strings.Contains(m, "status of 400 (Bad Request)") {
			refused++
			continue
		}
		rest = append(rest, m)
	}
	c.console = rest
	c.mu.Unlock()
	if refused != 2 {
		t.Errorf("%d pages answered 400, want the 2 refusals", refused)
	}
	c.checkConsole()
}
