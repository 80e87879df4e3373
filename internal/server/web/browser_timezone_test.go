package web

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestBrowserTimeZoneFromBrowser: in headless Chromium set to Asia/Tokyo a
// technician without a time zone signs in; the page reports the browser's
// zone once, the footer shows it, and the next page shows an outage's start
// in Tokyo time; with no script error or CSP violation.
func TestBrowserTimeZoneFromBrowser(t *testing.T) {
	needChromium(t)
	f := newAlertsFixture(t)
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, f.srv.URL)
	c.step("browser in Tokyo", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"})
		return err
	}))
	c.login("tech@example.com", "#tz-name")
	// The report is a fetch after the page loaded: wait for the footer.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		name, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.getElementById("tz-name").textContent`))
		if err == nil && name == "Asia/Tokyo" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("footer zone %q, %v; want Asia/Tokyo from the browser", name, err)
		}
	}
	u, err := f.st.GetUser(context.Background(), f.tech.ID)
	if err != nil || u.TimeZone != "Asia/Tokyo" {
		t.Fatalf("stored zone %q, %v; want Asia/Tokyo", u.TimeZone, err)
	}
	disk := "#outage-" + strconv.FormatInt(f.ids["disk"], 10)
	c.step("alerts", chromedp.Navigate(f.srv.URL+"/alerts"), chromedp.WaitVisible(disk))
	want := f.outage(t, "disk").OpenedAt.In(tokyo).Format("Jan 2, 2006, 3:04:05 PM")
	if s := c.text(disk); !strings.Contains(s, want) {
		t.Errorf("outage row shows no start in Tokyo time %q:\n%s", want, s)
	}
	if s := c.text("footer"); !strings.Contains(s, "Times in Asia/Tokyo") {
		t.Errorf("footer = %q", s)
	}
	c.screenshot("alerts-tokyo.png")
	c.checkConsole()
}

// TestBrowserTimeZoneSelect: in headless Chromium a user picks a zone from
// the account page's select and saves it; the store and the footer have it.
func TestBrowserTimeZoneSelect(t *testing.T) {
	needChromium(t)
	f := newAlertsFixture(t)
	c := newChrome(t, f.srv.URL)
	c.login("tech@example.com", "#tz-name")
	c.step("choose Tokyo", chromedp.Navigate(f.srv.URL+"/account/time-zone"), chromedp.WaitVisible("select#time_zone"),
		chromedp.SetValue("#time_zone", "Asia/Tokyo"), chromedp.Click("#tz-save"), chromedp.WaitVisible(".notice.n-ok"))
	u, err := f.st.GetUser(context.Background(), f.tech.ID)
	if err != nil || u.TimeZone != "Asia/Tokyo" {
		t.Fatalf("stored zone %q, %v; want Asia/Tokyo", u.TimeZone, err)
	}
	if s := c.text("#tz-name"); s != "Asia/Tokyo" {
		t.Errorf("footer zone %q", s)
	}
	c.checkConsole()
}
