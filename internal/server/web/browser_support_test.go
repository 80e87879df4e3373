package web

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserTray, in headless Chromium: a technician names the client's
// tray (the menu preview follows the typing), uploads an icon and sees it
// previewed; then opens a user's support request from the nav, answers it
// and sets it in progress, and finds it so in the list; in German the
// preview shows the German opening hours. No script error
// or CSP violation. Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserTray(t *testing.T) {
	needChromium(t)
	f := newSupportFixture(t)
	icon := filepath.Join(t.TempDir(), "mueller-it.png")
	if err := os.WriteFile(icon, testPNG(t, 48, 48), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, f.srv.URL)
	c.login("tech@example.com", "#nav-support")

	c.step("open the client", chromedp.Navigate(f.srv.URL+clientPath(f.device.ClientID)), chromedp.WaitVisible("#tray-form"))
	c.step("name the tray", chromedp.SendKeys("#tray-name", "Müller IT"), chromedp.SendKeys("#tray-phone", "030 1234"))
	if s := c.text("#tray-preview"); !strings.Contains(s, "Müller IT") || !strings.Contains(s, "030 1234") || !strings.Contains(s, "Your PC is monitored") {
		t.Errorf("live preview: %q", s)
	}
	c.step("save", chromedp.Click("#tray-save"), chromedp.WaitVisible("#tray-notice"))
	c.upload("#tray-icon-file", icon)
	c.step("upload the icon", chromedp.Click("#tray-icon-upload"), chromedp.WaitVisible("#tray-icon-current"))
	// The browser loaded the picture from the authorized route.
	w, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`(() => { const i = document.getElementById("tray-icon-current"); return i.complete ? i.naturalWidth : -1 })()`))
	if err != nil || w != 48 {
		t.Errorf("icon preview: width %d, %v", w, err)
	}
	if s := c.text("#tp-name"); s != "Müller IT" {
		t.Errorf("saved product name in the preview: %q", s)
	}
	c.screenshot("tray-card.png")

	c.step("open the support requests", chromedp.Click("#nav-support"), chromedp.WaitVisible("#support-requests"))
	row := "#sr-" + strconv.FormatInt(f.ids["printer-1"], 10)
	if s := c.text(row); !strings.Contains(s, "Mein Drucker <b>druckt</b> nicht") || !strings.Contains(s, "New") {
		t.Errorf("the printer request in the list: %q", s)
	}
	c.step("open the printer request", chromedp.Click(row+" a.sr-first-line"), chromedp.WaitVisible("#sr-form"))
	c.step("answer it", chromedp.SendKeys("#sr-reply", "Ich komme um 14 Uhr vorbei."+kb.Enter+"Bitte den Drucker anlassen."),
		chromedp.SetValue("#sr-state-select", "in_progress"), chromedp.Click("#sr-send"), chromedp.WaitVisible("#sr-notice"))
	if s := c.text("#sr-notice"); !strings.Contains(s, "sees it in the tray app") {
		t.Errorf("notice: %q", s)
	}
	if s := c.text("#sr-replies"); !strings.Contains(s, "Ich komme um 14 Uhr vorbei.\nBitte den Drucker anlassen.") {
		t.Errorf("thread: %q", s)
	}
	c.screenshot("support-request.png")
	c.step("back to the list", chromedp.Click("#nav-support"), chromedp.WaitVisible(row))
	if s := c.text(row); !strings.Contains(s, "In progress") {
		t.Errorf("the printer request after answering: %q", s)
	}
	c.screenshot("support-list.png")
	c.step("the tray card in German", chromedp.Navigate(f.srv.URL+clientPath(f.device.ClientID)), chromedp.WaitVisible("#lang-de"),
		chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] #tray-preview`),
		chromedp.SendKeys("#tray-hours-de", "Mo–Fr 8–17 Uhr"), chromedp.SendKeys("#tray-hours-en", "Mon–Fri 8 am–5 pm"))
	if s := c.text("#tray-preview"); !strings.Contains(s, "Ihr PC wird überwacht – alles in Ordnung") || !strings.Contains(s, "Mo–Fr 8–17 Uhr") || strings.Contains(s, "Mon–Fri") {
		t.Errorf("German preview: %q", s)
	}
	c.screenshot("tray-card-de.png")
	c.checkConsole()
}
