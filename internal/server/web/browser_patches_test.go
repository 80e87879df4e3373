package web

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPatches approves a feature update for one client on the
// fleet's patch view in headless Chromium, in German, and follows it to
// the device's updates page, reached from the device page, which shows the
// technician's approval; the other client's device still waits. No script
// error or CSP violation. Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserPatches(t *testing.T) {
	needChromium(t)
	f := newPatchFixture(t)
	c := newChrome(t, f.srv.URL)
	row := "#patch-" + strconv.FormatInt(f.feature, 10)
	upd := "#upd-" + strconv.FormatInt(f.feature, 10)
	c.login("admin@example.com", "#nav-patches")
	c.step("switch to German", chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] #nav-patches`))
	c.step("open the patches", chromedp.Click("#nav-patches"), chromedp.WaitVisible(row))
	if s := c.text(row); !strings.Contains(s, "libreoffice-core") || !strings.Contains(s, "nach den Richtlinienregeln") {
		t.Errorf("feature row before approving: %q", s)
	}
	if s := c.text("#fp-compliance"); !strings.Contains(s, "Patch-Stand je Kunde") || !strings.Contains(s, "0 / 1") {
		t.Errorf("compliance: %q", s)
	}
	c.screenshot("patches-de.png")
	c.step("approve for Müller GmbH",
		chromedp.SetValue(row+` select[name="client"]`, strconv.FormatInt(f.device.ClientID, 10)),
		chromedp.Click(row+` button[value="approve"]`),
		chromedp.WaitVisible("#fp-notice"))
	if s := c.text("#fp-notice"); !strings.Contains(s, "Müller GmbH: freigegeben.") {
		t.Errorf("notice after approving: %q", s)
	}
	c.step("open the device", chromedp.Navigate(f.srv.URL+devicePath(f.device.ID)), chromedp.WaitVisible("#device-updates"))
	c.step("open its updates", chromedp.Click("#device-updates"), chromedp.WaitVisible(upd))
	if s := c.text(upd); !strings.Contains(s, "Freigegeben durch einen Techniker") {
		t.Errorf("the device's feature update after approving: %q", s)
	}
	if s := c.text("#upd-status"); !strings.Contains(s, "winget.exe für das SYSTEM-Konto nicht gefunden") {
		t.Errorf("status: %q", s)
	}
	c.screenshot("device-updates-de.png")
	c.step("the other client's device", chromedp.Navigate(f.srv.URL+devicePath(f.other.ID)+"/updates"), chromedp.WaitVisible(upd))
	if s := c.text(upd); !strings.Contains(s, "Wartet auf Freigabe") {
		t.Errorf("Schulz KG's feature update after approving for Müller: %q", s)
	}
	c.step("the policy form's patch card", chromedp.Navigate(f.srv.URL+"/policies/new"), chromedp.WaitVisible("#policy-patch #patch-reboot"))
	if s := c.text("#policy-patch"); !strings.Contains(s, "Angemeldeten Benutzer fragen") || !strings.Contains(s, "Automatische Freigabe") {
		t.Errorf("patch card: %q", s)
	}
	c.screenshot("policy-patch-de.png")
	c.checkConsole()
}
