package web

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestBrowserHistory opens a check's history from the device page in
// headless Chromium and sees uPlot draw the chart (a painted canvas, the
// legend), the table, the range selector and the German page, with no
// script error or CSP violation. Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserHistory(t *testing.T) {
	needChromium(t)
	if !hasAsset(t, uplotFile) {
		t.Skip("uPlot is not built in; run web/build.sh")
	}
	st := storetest.NewSQLite(t)
	d, _ := seed(t, st, "pc-01")
	f := &fixture{st: st, device: d}
	addDiskHistory(t, f, 120)
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: &fakeCommander{}})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newChrome(t, srv.URL)
	tctx, step, text, screenshot := c.ctx, c.step, c.text, c.screenshot
	// painted counts the chart canvas's non-transparent pixels.
	painted := func() int {
		t.Helper()
		n, err := chromedp.Run(tctx, chromedp.Evaluate[int](`(() => {
			const c = document.querySelector("#history-chart canvas");
			const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
			let n = 0;
			for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) n++;
			return n;
		})()`))
		if err != nil {
			t.Fatalf("reading the canvas: %v", err)
		}
		return n
	}
	// axis returns the time axis's labels (uPlot draws them on the canvas).
	axis := func() string {
		t.Helper()
		s, err := chromedp.Run(tctx, chromedp.Evaluate[string](`document.getElementById("history-chart").uplot.axes[0]._values.join(" | ")`))
		if err != nil {
			t.Fatalf("reading the time axis: %v", err)
		}
		return s
	}
	c.login("readonly@example.com", "tr.device")
	step("open device", chromedp.Click("tr.device a"), chromedp.WaitVisible("#checks table"))
	step("open disk history", chromedp.Click(`tr[data-check="disk"] a.history-link`), chromedp.WaitVisible("#history-chart canvas"))
	if title := text("#history-title"); !strings.Contains(title, "Disk space") || !strings.Contains(title, "/") {
		t.Errorf("title = %q", title)
	}
	if n := painted(); n < 1000 {
		t.Errorf("chart canvas has %d painted pixels; uPlot drew nothing", n)
	}
	if legend := text("#history-chart .u-legend"); !strings.Contains(legend, "Disk space") {
		t.Errorf("chart legend = %q", legend)
	}
	if tbl := text("#history-table"); !strings.Contains(tbl, "volume / is 91.5% full") || !strings.Contains(tbl, "Warning") {
		t.Errorf("table lacks the results:\n%s", tbl)
	}
	if axis := axis(); !strings.Contains(axis, "am") && !strings.Contains(axis, "pm") {
		t.Errorf("English time axis without a 12-hour clock: %q", axis)
	}
	screenshot("history-en.png")

	step("7 days", chromedp.Click("#range-7d"), chromedp.WaitVisible(`#range-7d.active`), chromedp.WaitVisible("#history-chart canvas"))
	step("switch to German", chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] #history-chart canvas`))
	de := text("main")
	for _, want := range []string{"Verlauf: Speicherplatz", "Werte im Zeitverlauf", "Neueste Ergebnisse", "91,5 %", "Laufwerk / ist zu 91,5 % belegt", "7 Tage"} {
		if !strings.Contains(de, want) {
			t.Errorf("German history page lacks %q:\n%s", want, de)
		}
	}
	if active := text(".history-ranges a.active"); active != "7 Tage" {
		t.Errorf("active range after switching language = %q, want 7 Tage", active)
	}
	if n := painted(); n < 1000 {
		t.Errorf("German chart canvas has %d painted pixels", n)
	}
	if axis := axis(); strings.Contains(axis, "am") || strings.Contains(axis, "pm") || !strings.Contains(axis, ":") {
		t.Errorf("German time axis is not on a 24-hour clock: %q", axis)
	}
	screenshot("history-de.png")

	c.checkConsole()
}
