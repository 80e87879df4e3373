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

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
	webassets "github.com/wacht-rmm/wacht/web"
)

const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the dashboard in headless Chromium: log in, see the
// device, open it, see its checks, watch a live update, run checks, switch
// to German. It skips without Chromium unless WACHT_REQUIRE_CHROMIUM=1.
// Screenshots go to $WACHT_SCREENSHOT_DIR if set.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("WACHT_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("Chromium is required but missing: %v", err)
		}
		t.Skipf("Chromium not installed (%v)", err)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	_, htmxErr := fs.Stat(webassets.FS, "static/vendor/htmx.min.js")
	htmx := htmxErr == nil
	if !htmx && os.Getenv("WACHT_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("htmx is not built in; run web/build.sh")
	}

	st := storetest.NewSQLite(t)
	d, _ := seed(t, st, "pc-01")
	cmd := &fakeCommander{}
	h, err := New(Deps{Store: st, Commander: cmd})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}

	// Collect console messages; CSP violations and script errors fail the test.
	var mu sync.Mutex
	var console []string
	msgs := chromedp.Console(ctx)
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

	// Generous bound for a slow CI machine; this is a hang guard, not a speed test.
	tctx, tcancel := context.WithTimeout(ctx, 2*time.Minute)
	defer tcancel()
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		// Each step gets its own bound, so a failure leaves time to look.
		sctx, scancel := context.WithTimeout(tctx, 30*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			loc, _ := chromedp.Run(tctx, chromedp.Location())
			body, _ := chromedp.Run(tctx, chromedp.OuterHTML("body"))
			t.Fatalf("%s: %v\nat %s:\n%s", name, err, loc, body)
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
	shots := os.Getenv("WACHT_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	screenshot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step("open dashboard", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#email"))
	if loc, _ := chromedp.Run(tctx, chromedp.Location()); !strings.HasSuffix(loc, "/login") {
		t.Errorf("not redirected to login: %s", loc)
	}
	screenshot("login.png")
	step("log in",
		chromedp.SendKeys("#email", "admin@example.com"),
		chromedp.SendKeys("#password", testPassword),
		chromedp.Click("#login"),
		chromedp.WaitVisible("tr.device"),
	)
	overview := text("#devices")
	for _, want := range []string{"Müller GmbH", "Zentrale", "pc-01", "Debian GNU/Linux 12", "Failure", "online"} {
		if !strings.Contains(overview, want) {
			t.Errorf("overview lacks %q:\n%s", want, overview)
		}
	}
	screenshot("overview.png")

	step("open device", chromedp.Click("tr.device a"), chromedp.WaitVisible("#checks table"))
	checks := text("#checks")
	for _, want := range []string{"CPU", "Memory", "Disk space", "91.5%", "63.2%", "volume / is 91.5% full", "CPU load is normal"} {
		if !strings.Contains(checks, want) {
			t.Errorf("checks lack %q:\n%s", want, checks)
		}
	}
	if facts := text(".facts"); !strings.Contains(facts, "amd64") || !strings.Contains(facts, "0.1.0") {
		t.Errorf("facts: %s", facts)
	}

	if htmx {
		// A new result shows up without a reload (htmx polls every 5 s).
		v := 97.0
		if err := st.SaveResults(context.Background(), d.ID, []core.Result{{
			ID: "c2", Check: "cpu", Status: core.StatusWarning, Value: &v, Unit: "%",
			Message: core.Text{EN: "CPU load is high", DE: "CPU-Last ist hoch"}, At: time.Now().UTC(),
		}}); err != nil {
			t.Fatal(err)
		}
		step("live update", chromedp.WaitVisible(`tr[data-check="cpu"] .st-warning`))
		if c := text("#checks"); !strings.Contains(c, "CPU load is high") {
			t.Errorf("live update lacks new message:\n%s", c)
		}

		step("run checks", chromedp.Click("#run-checks"), chromedp.WaitVisible("#run-result .notice"))
		if n := text("#run-result"); !strings.Contains(n, "Checks requested") {
			t.Errorf("run-checks notice: %q", n)
		}
		if cmd.count() != 1 {
			t.Errorf("commander calls: %d", cmd.count())
		}
		cmd.mu.Lock()
		cmd.err = core.ErrOffline
		cmd.mu.Unlock()
		step("run checks offline", chromedp.Click("#run-checks"), chromedp.WaitVisible("#run-result .n-warning"))
		if n := text("#run-result"); !strings.Contains(n, "offline") {
			t.Errorf("offline notice: %q", n)
		}
	}
	screenshot("device-en.png")

	step("switch to German", chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"] #checks table`))
	de := text("main")
	for _, want := range []string{"Eckdaten", "Prüfungen", "Speicherplatz", "Arbeitsspeicher", "91,5 %", "Laufwerk / ist zu 91,5 % belegt", "Prüfungen jetzt ausführen", "Seit"} {
		if !strings.Contains(de, want) {
			t.Errorf("German device page lacks %q:\n%s", want, de)
		}
	}
	screenshot("device-de.png")
	step("German overview", chromedp.Click(".topbar nav a"), chromedp.WaitVisible(`html[lang="de"] tr.device`))
	if o := text("main"); !strings.Contains(o, "Geräte") || !strings.Contains(o, "Zuletzt gesehen") {
		t.Errorf("German overview:\n%s", o)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
			t.Errorf("browser console: %s", m)
		}
	}
	t.Logf("screenshots in %s", shots)
}
