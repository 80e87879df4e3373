package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserInventory opens a device's inventory tab from the device page
// in headless Chromium, types into the software filter and sees the rows
// and the count follow, then runs a fleet search from the navigation and
// follows a result back to the device, where it asks for a full
// inventory (htmx, the notice in place), with no script error or CSP
// violation. Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserInventory(t *testing.T) {
	needChromium(t)
	f := newInventoryFixture(t)
	c := newChrome(t, f.srv.URL)
	step, text := c.step, c.text
	// visible counts the software table's rows the filter left shown.
	visible := func() int {
		t.Helper()
		n, err := chromedp.Run(c.ctx, chromedp.Evaluate[int](
			`Array.from(document.querySelectorAll("#inv-programs tbody tr")).filter(r => r.offsetParent !== null).length`))
		if err != nil {
			t.Fatalf("counting rows: %v", err)
		}
		return n
	}
	c.login("admin@example.com", "tr.device")
	step("open device", chromedp.Click(fmt.Sprintf(`tr.device a[href="/devices/%d"]`, f.device.ID)), chromedp.WaitVisible("#device-inventory"))
	step("open inventory", chromedp.Click("#device-inventory"), chromedp.WaitVisible("#inv-programs"))
	if n := visible(); n != 3 {
		t.Errorf("%d programs shown before filtering, want 3", n)
	}
	if s := text("#inv-gaps"); !strings.Contains(s, "not collected: Win32_Battery: WMI query timed out") {
		t.Errorf("gaps = %q", s)
	}
	step("filter", chromedp.SendKeys("#inv-filter", "mozilla"))
	if n := visible(); n != 1 {
		t.Errorf("%d programs shown for “mozilla”, want 1", n)
	}
	if s := text("#inv-programs tbody"); !strings.Contains(s, "Mozilla Firefox") || strings.Contains(s, "7-Zip") {
		t.Errorf("filtered rows: %q", s)
	}
	if s := text("#inv-shown"); s != "1" {
		t.Errorf("shown count = %q", s)
	}
	step("filter by publisher words", chromedp.SendKeys("#inv-filter", strings.Repeat(kb.Backspace, len("mozilla"))+"datev eg"))
	if n := visible(); n != 1 || !strings.Contains(text("#inv-programs tbody"), "DATEV Arbeitsplatz") {
		t.Errorf("“datev eg”: %d rows", n)
	}
	c.screenshot("inventory-en.png")

	step("open fleet search", chromedp.Click("#nav-inventory"), chromedp.WaitVisible("#search-software"))
	step("search 7-Zip below 23.01",
		chromedp.SendKeys("#s-name", "7-zip"), chromedp.SendKeys("#s-version", "23.01"),
		chromedp.Click("#search-software-go"), chromedp.WaitVisible("#software-results"))
	if s := text("#software-results tbody"); !strings.Contains(s, "pc-<b>01</b>") || !strings.Contains(s, "22.01") {
		t.Errorf("software results: %q", s)
	}
	step("search Windows 10", chromedp.SendKeys("#d-os", "Windows 10"), chromedp.Click("#search-devices-go"), chromedp.WaitVisible("#device-results"))
	if s := text("#device-results tbody"); !strings.Contains(s, "Windows 10 Pro") || !strings.Contains(s, "15.5 GiB") {
		t.Errorf("device results: %q", s)
	}
	c.screenshot("inventory-search-en.png")
	step("follow a result", chromedp.Click("#device-results tbody a"), chromedp.WaitVisible("#inv-programs"))
	step("full refresh", chromedp.Click("#inv-refresh-full"), chromedp.WaitVisible("#refresh-result .notice"))
	if s := text("#refresh-result"); !strings.Contains(s, "Inventory requested.") {
		t.Errorf("refresh notice = %q", s)
	}
	if a := f.remote.done(); len(a) != 1 || !strings.HasSuffix(a[0], `{"full":true}`) {
		t.Errorf("full refresh sent %q", a)
	}
	c.checkConsole()
}
