package web

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
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
