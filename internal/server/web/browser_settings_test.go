package web

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestBrowserSettingsAndNotNotified: in headless Chromium a German
// administrator reaches the notification settings through the Settings
// menu entry, sees that no mail server is configured, and on the alerts
// page why an outage notified nobody; with no script error or CSP
// violation. Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserSettingsAndNotNotified(t *testing.T) {
	needChromium(t)
	f := newAlertsFixture(t)
	if err := f.st.ApplyAlertChange(context.Background(), core.AlertChange{
		Unnotified: map[string]string{"disk": core.NotNotifiedNoRecipient}}); err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, f.srv.URL)
	disk := "#outage-" + strconv.FormatInt(f.ids["disk"], 10)
	c.login("admin@example.com", "tr.device")
	c.step("German", chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] #nav-settings`))
	c.step("settings index", chromedp.Click("#nav-settings"), chromedp.WaitVisible("#settings-index"))
	if s := c.text("#settings-index"); !strings.Contains(s, "Benachrichtigungen") || !strings.Contains(s, "API-Token") {
		t.Errorf("German settings index:\n%s", s)
	}
	c.screenshot("settings-de.png")
	c.step("notification settings", chromedp.Click("#settings-alerts"), chromedp.WaitVisible("#alert-settings"))
	if s := c.text("#mail-off"); !strings.Contains(s, "Kein Mailserver eingerichtet") {
		t.Errorf("mail-off notice = %q", s)
	}
	c.step("alerts", chromedp.Click("#nav-alerts"), chromedp.WaitVisible(disk))
	if s := c.text(disk); !strings.Contains(s, "Nicht benachrichtigt: kein Empfänger") {
		t.Errorf("outage row:\n%s", s)
	}
	c.screenshot("alerts-not-notified-de.png")
	c.checkConsole()
}
