package web

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestBrowserMonthlyReport, in headless Chromium: an administrator uploads
// the report logo on the alert settings page and sees it previewed, then
// downloads a client's monthly report in English from the client page:
// a PDF, saved under the name the server gave. No script error or CSP
// violation. Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserMonthlyReport(t *testing.T) {
	needChromium(t)
	f := newSupportFixture(t)
	logo := filepath.Join(t.TempDir(), "msp-logo.png")
	if err := os.WriteFile(logo, testPNG(t, 200, 60), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#nav-support")

	c.step("open the settings", chromedp.Navigate(f.srv.URL+alertSettingsPath), chromedp.WaitVisible("#report-logo-form"))
	if s := c.text("#report-logo-none"); !strings.Contains(s, "No logo") {
		t.Errorf("before the upload: %q", s)
	}
	c.upload("#report-logo-file", logo)
	c.step("upload the logo", chromedp.Click("#report-logo-upload"), chromedp.WaitVisible("#report-logo-preview"))
	w, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](`(() => { const i = document.getElementById("report-logo-preview"); return i.complete ? i.naturalWidth : -1 })()`))
	if err != nil || w != 200 {
		t.Errorf("logo preview: width %d, %v", w, err)
	}
	c.screenshot("report-logo.png")

	dir := t.TempDir()
	begin := chromedp.Events(c.ctx, cdpbrowser.DownloadWillBegin)
	progress := chromedp.Events(c.ctx, cdpbrowser.DownloadProgress)
	events := true
	c.step("open the client", chromedp.Navigate(f.srv.URL+clientPath(f.device.ClientID)), chromedp.WaitVisible("#monthly-report-form"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
				Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &events})
			return err
		}))
	c.screenshot("monthly-report-card.png")
	c.step("download the report in English", chromedp.SetValue("#monthly-lang", "en"), chromedp.Click("#monthly-download"))

	var name string
	for ev, err := range begin {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		name = ev.SuggestedFilename
		break
	}
	var guid string
	for ev, err := range progress {
		if err != nil {
			t.Fatalf("waiting for the download: %v", err)
		}
		if ev.State == cdpbrowser.DownloadProgressStateCanceled {
			t.Fatal("the download was canceled")
		}
		if ev.State == cdpbrowser.DownloadProgressStateCompleted {
			guid = ev.GUID
			break
		}
	}
	last := time.Now().UTC().AddDate(0, 0, -time.Now().UTC().Day()).Format("2006-01")
	if want := "Monthly-report-Müller GmbH-" + last + ".pdf"; name != want {
		t.Errorf("saved as %q, want %q", name, want)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, guid))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("/Subtype /Image")) {
		t.Errorf("downloaded %d bytes (%v), want a PDF with the logo", len(pdf), err)
	}
	c.checkConsole()
}
