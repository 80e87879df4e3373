package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestBrowser drives the dashboard in headless Chromium: log in, see the
// device, open it, see its checks, watch a live update, run checks, switch
// to German. It skips without Chromium unless WACHT_REQUIRE_CHROMIUM=1.
// Screenshots go to $WACHT_SCREENSHOT_DIR if set.
func TestBrowser(t *testing.T) {
	needChromium(t)
	htmx := hasAsset(t, "vendor/htmx.min.js")

	st := storetest.NewSQLite(t)
	d, _ := seed(t, st, "pc-01")
	cmd := &fakeCommander{}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: cmd})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newChrome(t, srv.URL)
	step, text, screenshot := c.step, c.text, c.screenshot

	step("open dashboard", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible("#email"))
	if loc, _ := chromedp.Run(c.ctx, chromedp.Location()); !strings.HasSuffix(loc, "/login") {
		t.Errorf("not redirected to login: %s", loc)
	}
	screenshot("login.png")
	c.login("admin@example.com", "tr.device")
	overview := text("#device-list")
	for _, want := range []string{"Müller GmbH", "Zentrale", "pc-01", "Debian GNU/Linux 12", "Failure", "0.1.0"} {
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

	c.checkConsole()
}
