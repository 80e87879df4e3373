package web

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestBrowserDeviceList: in headless Chromium an administrator narrows the
// device list by typing into the search ("/" focuses it), goes back, filters
// by operating system and by two statuses at once, sorts by a column, ticks two devices with the
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
	f.result(t, f.win.ID, core.StatusWarning)
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

	step("filter by OS", chromedp.Click("#f-os summary"), chromedp.WaitVisible(`#f-os input[value=darwin]`),
		chromedp.Click(`#f-os input[value=darwin]`), rows(1))
	if m := text("#dl-table"); !strings.Contains(m, "nb-03") || !strings.Contains(text(".dl-counts"), "1 device") || text("#f-os .dl-multi-val") != "macOS" {
		t.Errorf("OS filter (summary %q):\n%s", text("#f-os .dl-multi-val"), m)
	}

	// Two statuses: a warning device and a failing one, both in the URL.
	step("filter by two statuses", chromedp.Navigate(f.srv.URL+"/"), rows(29),
		chromedp.Click("#f-status summary"), chromedp.WaitVisible(`#f-status input[value=failure]`),
		chromedp.Click(`#f-status input[value=failure]`), rows(1),
		chromedp.Click(`#f-status input[value=warning]`), rows(2))
	c.screenshot("devicelist-statuses.png")
	step("Escape closes the dropdown", chromedp.KeyEvent(kb.Escape), chromedp.Poll[chromedp.Void](`!document.querySelector("#f-status").open && `+
		`document.activeElement === document.querySelector("#f-status summary")`))
	if m := text("#dl-table"); !strings.Contains(m, "srv-02") || !strings.Contains(m, "pc-<b>01</b>") ||
		!strings.Contains(location(), "status=warning") || !strings.Contains(location(), "status=failure") || text("#f-status .dl-multi-val") != "Warning, Failure" {
		t.Errorf("two statuses at %s (summary %q):\n%s", location(), text("#f-status .dl-multi-val"), m)
	}
	step("the address keeps both", chromedp.Reload(), rows(2))
	if s := text("#f-status .dl-multi-val"); s != "Warning, Failure" {
		t.Errorf("reloaded summary %q", s)
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

// result gives device id one check result of status st.
func (f *listFixture) result(t *testing.T, id int64, st core.Status) {
	t.Helper()
	if err := f.st.SaveResults(context.Background(), id, []core.Result{{ID: "r-" + st.String(), Check: "services", Key: "spooler",
		Status: st, Message: core.Text{EN: "spooler", DE: "Spooler"}, At: time.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserDeviceListLive: in headless Chromium the open device list
// refreshes itself: a device's status changes in the store and its row
// changes without a reload, keeping the selected row and the focus.
func TestBrowserDeviceListLive(t *testing.T) {
	needChromium(t)
	if !hasAsset(t, "vendor/htmx.min.js") {
		t.Skip("htmx is not built in: the live list cannot be tested")
	}
	f := newListFixture(t)
	f.result(t, f.win.ID, core.StatusWarning)
	h, err := New(Deps{Store: f.st, ListRefresh: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	c := newChrome(t, srv.URL)
	c.login("admin@example.com", "tr.device")
	badge := `document.querySelector('#dl-table tr[data-device="` + strconv.FormatInt(f.win.ID, 10) + `"] .badge').textContent`
	c.step("open srv-02", chromedp.Navigate(srv.URL+"/?q=srv-02"), chromedp.Poll[chromedp.Void](badge+` === "Warning"`),
		chromedp.Evaluate[chromedp.Void](`window.sameLoad = true`),
		chromedp.KeyEvent(kb.ArrowDown), chromedp.WaitVisible("tr.selected"))
	f.result(t, f.win.ID, core.StatusFailure)
	c.step("the row changes", chromedp.Poll[chromedp.Void](badge+` === "Failure"`))
	ok, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`window.sameLoad === true && document.querySelector("tr.selected") !== null && `+
		`document.activeElement.classList.contains("dl-open")`))
	if err != nil || !ok {
		t.Errorf("after the refresh the page was reloaded or lost the selection or focus (%v)", err)
	}
	c.checkConsole()
}
