package web

import (
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestSSOInBrowser: in Chromium, "Sign in with Firma" on the login page
// leads to the OpenID provider's login form and, once filled in, back to
// the dashboard, signed in.
func TestSSOInBrowser(t *testing.T) {
	needChromium(t)
	e := newSSOEnv(t)
	c := newChrome(t, e.srv.URL)
	button := "#sso-" + strconv.FormatInt(e.firma.ID, 10)
	c.step("open the login page", chromedp.Navigate(e.srv.URL+"/login"), chromedp.WaitVisible(button))
	if got := c.text(button); got != "Sign in with Firma" {
		t.Errorf("button reads %q", got)
	}
	c.step("sign in at the provider",
		chromedp.Click(button),
		chromedp.WaitVisible(`input[name="username"]`),
		chromedp.SendKeys(`input[name="username"]`, "ReadOnly@Example.com"),
		chromedp.SendKeys(`input[name="password"]`, opPassword),
		chromedp.Click(`button[type="submit"]`),
		chromedp.WaitVisible("tr.device"),
	)
	loc, err := chromedp.Run(c.ctx, chromedp.Location())
	if err != nil || loc != e.srv.URL+"/" {
		t.Errorf("landed on %q, %v", loc, err)
	}
	// The provider's pages are not ours to check (its favicon is a 404):
	// check the dashboard's console from a fresh load.
	c.mu.Lock()
	c.console = nil
	c.mu.Unlock()
	c.step("reload the dashboard", chromedp.Reload(), chromedp.WaitVisible("tr.device"))
	c.checkConsole()
	// Logging out signs out at the provider too, which returns to the
	// login page.
	c.step("log out", chromedp.Click("#logout"), chromedp.WaitVisible(button))
	if loc, err := chromedp.Run(c.ctx, chromedp.Location()); err != nil || loc != e.srv.URL+"/login" || e.endSessions.Load() != 1 {
		t.Errorf("after logout at %q (%v), %d end-session requests", loc, err, e.endSessions.Load())
	}
}
