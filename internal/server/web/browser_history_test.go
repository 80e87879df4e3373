package web

import (
	"context"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/store/storetest"
	webassets "github.com/wacht-rmm/wacht/web"
)

// TestBrowserHistory opens a check's history from the device page in
// headless Chromium and sees uPlot draw the chart (a painted canvas, the
// legend), the table, the range selector and the German page, with no
// script error or CSP violation. Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestBrowserHistory(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("WACHT_REQUIRE_CHROMIUM") == "1" || os.Getenv("CI") != "" {
			t.Fatalf("Chromium is required but missing: %v", err)
		}
		t.Skipf("Chromium not installed (%v)", err)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	if _, err := fs.Stat(webassets.FS, "static/"+uplotFile); err != nil {
		if os.Getenv("WACHT_REQUIRE_CHROMIUM") == "1" || os.Getenv("CI") != "" {
			t.Fatal("uPlot is not built in; run web/build.sh")
		}
		t.Skip("uPlot is not built in; run web/build.sh")
	}
	st := storetest.NewSQLite(t)
	d, _ := seed(t, st, "pc-01")
	f := &fixture{st: st, device: d}
	addDiskHistory(t, f, 120)
	h, err := New(Deps{Store: st, Commander: &fakeCommander{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	var mu sync.Mutex
	var console []string
	msgs := chromedp.Console(bctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			mu.Lock()
			console = append(console, string(m.Type)+": "+m.Text)
			mu.Unlock()
		}
	}()
	// A hang guard, not a speed test.
	tctx, tcancel := context.WithTimeout(bctx, 2*time.Minute)
	defer tcancel()
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tctx, actions...); err != nil {
			body, _ := chromedp.Run(tctx, chromedp.OuterHTML("body"))
			t.Fatalf("%s: %v\n%s", name, err, body)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(tctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
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
	shots := os.Getenv("WACHT_SCREENSHOT_DIR")
	screenshot := func(name string) {
		t.Helper()
		if shots == "" {
			return
		}
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step("log in",
		chromedp.Navigate(srv.URL+"/login"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "readonly@example.com"),
		chromedp.SendKeys("#password", testPassword),
		chromedp.Click("#login"),
		chromedp.WaitVisible("tr.device"),
	)
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

	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		if strings.HasPrefix(m, "error") || strings.Contains(m, "Content Security Policy") {
			t.Errorf("browser console: %s", m)
		}
	}
}
