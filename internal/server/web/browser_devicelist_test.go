package web

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestBrowserDeviceList: in headless Chromium an administrator narrows the
// device list by typing into the search ("/" focuses it), goes back, filters
// by operating system, sorts by a column, ticks two devices with the
// keyboard (an htmx swap elsewhere keeps the selection) and runs their checks through the confirmation, saves a view and
// opens it again, and opens a device with Enter; without script errors or
// CSP violations. Screenshots at 1400 and 390 px go to
// $WACHT_SCREENSHOT_DIR.
func TestBrowserDeviceList(t *testing.T) {
	needChromium(t)
	if !hasAsset(t, "vendor/htmx.min.js") {
		t.Skip("htmx is not built in: the live list cannot be tested")
	}
	f := newListFixture(t)
	c := newChrome(t, f.srv.URL)
	step, text := c.step, c.text
	rows := func(n int) chromedp.Action[chromedp.Void] {
		return chromedp.Poll[chromedp.Void](`document.querySelectorAll("#dl-table tbody tr").length === ` + strconv.Itoa(n))
	}
	location := func() string {
		loc, err := chromedp.Run(c.ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}

	c.login("admin@example.com", "tr.device")
	step("wide", chromedp.EmulateViewport(1400, 900), rows(29))
	c.screenshot("devicelist-1400.png")

	// "/" focuses the search. CDP sends the key's character apart from its
	// keydown, so unlike in a browser it lands in the field: clear it.
	slash := chromedp.Steps(chromedp.KeyEvent("/"), chromedp.Poll[chromedp.Void](`document.activeElement.id === "dl-search"`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("dl-search").value = ""`))
	step("search", slash, chromedp.SendKeys("#dl-search", "srv"), rows(1))
	if m := text("#dl-table"); !strings.Contains(m, "srv-02") || !strings.Contains(location(), "q=srv") || strings.Contains(location(), "status=") {
		t.Errorf("search: at %s\n%s", location(), m)
	}
	step("back", chromedp.NavigateBack(), rows(29))

	step("filter by OS", chromedp.Evaluate[chromedp.Void](`(function(){var s=document.querySelector('select[name=os]');s.value='darwin';`+
		`s.dispatchEvent(new Event('change',{bubbles:true}));})()`), rows(1))
	if m := text("#dl-table"); !strings.Contains(m, "nb-03") || !strings.Contains(text(".dl-counts"), "1 device") {
		t.Errorf("OS filter:\n%s", m)
	}

	step("sort by name, descending", chromedp.Navigate(f.srv.URL+"/?size=25"), rows(25),
		chromedp.Click("#sort-name"), chromedp.WaitVisible(`th[aria-sort="descending"] #sort-name`))
	if !strings.Contains(location(), "desc=1") {
		t.Errorf("sort not in the URL: %s", location())
	}

	step("tick two rows with the keyboard", chromedp.Navigate(f.srv.URL+"/?q=srv-02"), rows(1),
		chromedp.Navigate(f.srv.URL+"/?os=windows&os=linux&sort=name&size=25"), rows(25),
		chromedp.KeyEvent(kb.ArrowDown), chromedp.WaitVisible("tr.selected"),
		// Another htmx swap (the top bar's count, as every 30 s) keeps the selection.
		chromedp.Evaluate[chromedp.Void](`htmx.ajax("GET", "/partials/alert-count", {target: "#alert-count", swap: "outerHTML"}).then(() => { window.swapped = true })`),
		chromedp.Poll[chromedp.Void](`window.swapped === true`),
		chromedp.KeyEvent("x"), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent("x"),
		chromedp.Poll[chromedp.Void](`document.querySelectorAll('#dl-table input[name=id]:checked').length === 2`))
	c.screenshot("devicelist-selected.png")
	step("ask", chromedp.Click("#dl-bulk-go"), chromedp.WaitVisible("#bulk-question"))
	if q := text("#bulk-question"); q != "Run checks on 2 devices?" || f.cmd.count() != 0 {
		t.Errorf("question %q, %d commands", q, f.cmd.count())
	}
	c.screenshot("devicelist-confirm.png")
	step("confirm", chromedp.Click("#bulk-confirm"), chromedp.WaitVisible("#bulk-outcome"))
	if o := text("#bulk-outcome"); o != "Checks requested on 2 devices." || f.cmd.count() != 2 {
		t.Errorf("outcome %q, %d commands", o, f.cmd.count())
	}

	step("save a view", chromedp.Navigate(f.srv.URL+"/?os=darwin"), rows(1),
		chromedp.Click(".dl-save summary"), chromedp.SendKeys("#dl-view-name", "Macs"),
		chromedp.Submit("#dl-view-name"), chromedp.WaitVisible(".saved-view"))
	step("another list", chromedp.Navigate(f.srv.URL+"/"), rows(29))
	href, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](`document.querySelector(".saved-view a").href`))
	if err != nil || !strings.HasSuffix(href, "/?os=darwin") {
		t.Fatalf("saved view link %q: %v", href, err)
	}
	step("open the view", chromedp.Navigate(href), rows(1))
	if !strings.Contains(text("#dl-table"), "nb-03") {
		t.Error("the saved view does not show nb-03")
	}

	step("Enter opens the first row", slash, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible("#checks"))
	if !strings.Contains(text("h1"), "nb-03") {
		t.Errorf("Enter opened %s", location())
	}

	step("narrow", chromedp.Navigate(f.srv.URL+"/"), chromedp.EmulateViewport(390, 844), rows(29))
	c.screenshot("devicelist-390.png")
	c.checkConsole()
}
