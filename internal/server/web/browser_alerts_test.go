package web

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestBrowserAlerts: in headless Chromium an administrator opens the
// alerts from the nav (its badge counting open outages), acknowledges one
// with a comment, sees it leave the open tab and appear under acknowledged,
// switches to German, sees it on the device page and opens the
// notification settings, with no script error or CSP violation.
// Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserAlerts(t *testing.T) {
	needChromium(t)
	htmx := hasAsset(t, "vendor/htmx.min.js")
	f := newAlertsFixture(t)
	c := newChrome(t, f.srv.URL)
	disk := "#outage-" + strconv.FormatInt(f.ids["disk"], 10)

	c.login("admin@example.com", "tr.device")
	if htmx {
		// The layout holds an empty placeholder that htmx replaces with
		// the count, which has a title: wait for that one.
		c.step("badge", chromedp.WaitVisible("#alert-count[title]"))
		if n := c.text("#alert-count"); n != "2" {
			t.Errorf("nav badge = %q, want 2", n)
		}
	}
	c.step("open alerts", chromedp.Click("#nav-alerts"), chromedp.WaitVisible(disk))
	if open := c.text("#outages"); !strings.Contains(open, "volume / is 91.5% full") || !strings.Contains(open, "foreign-pc") {
		t.Errorf("open outages:\n%s", open)
	}
	c.screenshot("alerts.png")

	c.step("acknowledge",
		chromedp.SendKeys(disk+` form.ack-form input[name="comment"]`, "Neue Platte ist bestellt"),
		chromedp.Click(disk+" button.ack"),
		chromedp.WaitVisible(".notice.n-ok"),
	)
	if n := c.text(".notice.n-ok"); !strings.Contains(n, "Outage acknowledged") {
		t.Errorf("notice = %q", n)
	}
	if open := c.text("#outages"); strings.Contains(open, "Disk space") {
		t.Errorf("acknowledged outage still open:\n%s", open)
	}
	if o := f.outage(t, "disk"); o.AckComment != "Neue Platte ist bestellt" || o.AckedBy != "user:admin@example.com" {
		t.Errorf("stored acknowledgement = %q by %q", o.AckComment, o.AckedBy)
	}
	if htmx {
		c.step("badge after acknowledging", chromedp.WaitVisible("#alert-count[title]"))
		if n := c.text("#alert-count"); n != "1" {
			t.Errorf("nav badge after acknowledging = %q, want 1", n)
		}
	}
	c.step("acknowledged tab", chromedp.Click("#tab-acked"), chromedp.WaitVisible(disk))
	if acked := c.text(disk); !strings.Contains(acked, "Neue Platte ist bestellt") || !strings.Contains(acked, "admin@example.com") {
		t.Errorf("acknowledged row:\n%s", acked)
	}

	c.step("switch to German", chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] `+disk))
	de := c.text("main")
	for _, want := range []string{"Störungen", "Quittiert", "Neue Platte ist bestellt", "Laufwerk / ist zu 91,5 % belegt", "seit 1 Std. 30 Min."} {
		if !strings.Contains(de, want) {
			t.Errorf("German alerts page lacks %q:\n%s", want, de)
		}
	}
	c.screenshot("alerts-de.png")

	c.step("device outages", chromedp.Click(disk+` a[href^="/devices/"]`), chromedp.WaitVisible("#device-outages "+disk))
	if o := c.text("#device-outages"); !strings.Contains(o, "Erreichbarkeit") || !strings.Contains(o, "Neue Platte ist bestellt") {
		t.Errorf("German device outages:\n%s", o)
	}
	c.screenshot("device-outages-de.png")
	c.step("back to the alerts", chromedp.Click("#nav-alerts"), chromedp.WaitVisible("#alert-settings-link"))
	c.step("notification settings", chromedp.Click("#alert-settings-link"), chromedp.WaitVisible("#alert-settings"))
	if s := c.text("main"); !strings.Contains(s, "Mailserver (SMTP)") || !strings.Contains(s, "Testmail senden") {
		t.Errorf("German settings page:\n%s", s)
	}
	c.screenshot("alertsettings-de.png")
	c.step("English settings", chromedp.Click("#lang-en"), chromedp.WaitVisible(`html[lang="en"] #alert-settings`))
	c.screenshot("alertsettings.png")
	c.checkConsole()
}

// TestBrowserAlertsNoOverflow: at 1,400 px, with the mute form of an
// outage open, the alerts page does not scroll sideways (the form wraps
// inside its cell).
func TestBrowserAlertsNoOverflow(t *testing.T) {
	needChromium(t)
	f := newAlertsFixture(t)
	c := newChrome(t, f.srv.URL)
	disk := "#outage-" + strconv.FormatInt(f.ids["disk"], 10)
	c.login("admin@example.com", "tr.device")
	c.step("open alerts at 1,400 px", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(f.srv.URL+"/alerts"), chromedp.WaitVisible(disk))
	c.step("open the mute form", chromedp.Click(disk+" details.clear summary"), chromedp.WaitVisible(disk+" form.clear-form"))
	// The page must not scroll sideways, and the table must stay inside
	// its card.
	overflow, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`Math.max(document.documentElement.scrollWidth - document.documentElement.clientWidth,
		Math.ceil(document.querySelector("#outages").getBoundingClientRect().right - document.querySelector("#outages").parentElement.getBoundingClientRect().right))`))
	if err != nil {
		t.Fatal(err)
	}
	c.screenshot("alerts-mute-open-1400.png")
	if overflow > 0 {
		t.Errorf("the alerts page overflows sideways by %d px with the mute form open", overflow)
	}
}

// TestBrowserDenseDevicePage: the German device page at 1,400 px with a
// long check message: the message row is collapsed to two lines (with the
// "mehr" toggle below) until opened. It logs the page's height, the figure
// quoted in issue 23.
func TestBrowserDenseDevicePage(t *testing.T) {
	needChromium(t)
	f := newAlertsFixture(t)
	long := strings.Repeat("Dienst „Druckwarteschlange“ antwortet nicht auf Anfragen; ", 6)
	if err := f.st.SaveResults(context.Background(), f.device.ID, []core.Result{{ID: "long-1", Check: "services", Key: "spooler",
		Status: core.StatusFailure, Message: core.Text{EN: long, DE: long}, At: time.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "tr.device")
	dev := f.srv.URL + "/devices/" + strconv.FormatInt(f.device.ID, 10)
	c.step("German device page at 1,400 px", chromedp.EmulateViewport(1400, 900), chromedp.Navigate(dev),
		chromedp.WaitVisible(`tr[data-check="services"]`), chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] tr[data-check="services"]`))
	height, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`document.documentElement.scrollHeight`))
	if err != nil {
		t.Fatal(err)
	}
	row, err := chromedp.Run(c.ctx, chromedp.Evaluate[float64](`(() => { const r = document.querySelector('tr[data-check="services"]');
		return r.getBoundingClientRect().height / parseFloat(getComputedStyle(r.querySelector("td:nth-child(5)")).lineHeight); })()`))
	if err != nil {
		t.Fatal(err)
	}
	c.screenshot("device-dense-de-1400.png")
	t.Logf("German device page: %d px high; the long message's row is %.1f lines", height, row)
	if row > 4 {
		t.Errorf("the long message's row is %.1f lines high, want it collapsed to two (and the toggle)", row)
	}
}
