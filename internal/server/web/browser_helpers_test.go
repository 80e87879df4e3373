package web

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	webassets "github.com/wacht-rmm/wacht/web"
)

// The browser tests' shared setup: headless Chromium (Debian's package)
// against an httptest server, with steps that print the page on failure,
// screenshots and a check of the console for script errors and CSP
// violations.

const chromiumPath = "/usr/bin/chromium"

// required reports whether a missing browser or asset fails the test
// instead of skipping it.
func required() bool { return os.Getenv("WACHT_REQUIRE_CHROMIUM") == "1" || os.Getenv("CI") != "" }

// needChromium skips the test without Chromium (failing it where Chromium
// is required) and in -short mode.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if required() {
			t.Fatalf("Chromium is required but missing: %v", err)
		}
		t.Skipf("Chromium not installed (%v)", err)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
}

// hasAsset reports whether web/build.sh built a static file in; where the
// browser is required, a missing one fails the test.
func hasAsset(t *testing.T, name string) bool {
	t.Helper()
	if _, err := fs.Stat(webassets.FS, "static/"+name); err != nil {
		if required() {
			t.Fatalf("%s is not built in; run web/build.sh", name)
		}
		return false
	}
	return true
}

// chrome is one headless browser of a test.
type chrome struct {
	t    *testing.T
	base string          // the server's URL
	ctx  context.Context // bounded: a hang guard, not a speed test

	mu      sync.Mutex
	console []string // "type: text" of every console message
}

// newChrome starts Chromium for a test of the server at base; it stops
// with the test.
func newChrome(t *testing.T, base string) *chrome {
	t.Helper()
	// Generous for a slow CI machine.
	return newChromeFor(t, base, 2*time.Minute)
}

// newChromeFor is newChrome for a test that may take up to budget (a hang
// guard, not a speed test).
func newChromeFor(t *testing.T, base string, budget time.Duration) *chrome {
	t.Helper()
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
	t.Cleanup(cancelAlloc)
	bctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	ctx, tcancel := context.WithTimeout(bctx, budget)
	t.Cleanup(tcancel)
	c := &chrome{t: t, base: base, ctx: ctx}
	msgs := chromedp.Console(bctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.console = append(c.console, string(m.Type)+": "+m.Text)
			c.mu.Unlock()
		}
	}()
	return c
}

// step runs actions, each step within its own bound so that a failure
// leaves time to print where it happened and the page.
func (c *chrome) step(name string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	// A step usually starts by clicking on the page the last step left:
	// let it settle first, or a late layout shift moves the target. Best
	// effort: a page that never settles is the step's own business.
	// (Before the first page loads there is nothing to wait for.)
	if h, err := chromedp.Run(c.ctx, chromedp.NavigationEntries()); err == nil && h.CurrentIndex >= 0 &&
		int(h.CurrentIndex) < len(h.Entries) && !strings.HasPrefix(h.Entries[h.CurrentIndex].URL, "about:") {
		wctx, wcancel := context.WithTimeout(c.ctx, 10*time.Second)
		_ = chromedp.Do(wctx, settled)
		wcancel()
	}
	sctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(c.ctx, chromedp.Location())
		body, _ := chromedp.Run(c.ctx, chromedp.OuterHTML("body"))
		c.t.Fatalf("%s: %v\nat %s:\n%s", name, err, loc, body)
	}
}

// settled waits until the page has run its deferred scripts (readyState
// "complete" comes after them) and htmx has no request in flight and has
// filled the top bar's counts, which it loads after the page: until then
// the layout can still shift under a click, and a swap can reset what a
// script keeps (a selection).
var settled = chromedp.Poll[chromedp.Void](`document.readyState === "complete" &&
	!document.querySelector(".htmx-request, #alert-count[hx-trigger=load], #support-count[hx-trigger=load]")`,
	chromedp.WithPollingInterval(20*time.Millisecond))

// text returns the visible text of the first element sel matches.
func (c *chrome) text(sel string) string {
	c.t.Helper()
	for tries := 1; ; tries++ {
		s, err := chromedp.Run(c.ctx, chromedp.Text(sel))
		// A live page (htmx) may swap the node between finding it and
		// reading it: find it again.
		if staleNode(err) && tries < 20 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			c.t.Fatalf("reading %s: %v", sel, err)
		}
		return s
	}
}

// upload sets the files of the file input sel, finding it again when the
// page replaced it between finding and setting (a live page's htmx swap,
// or a load that was still settling).
func (c *chrome) upload(sel string, files ...string) {
	c.t.Helper()
	for tries := 1; ; tries++ {
		ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
		err := chromedp.Do(ctx, chromedp.SetUploadFiles(sel, files))
		cancel()
		if staleNode(err) && tries < 20 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil {
			c.t.Fatalf("setting the files of %s: %v", sel, err)
		}
		return
	}
}

// staleNode reports whether err says a node found a moment ago is gone.
func staleNode(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "No node with given id") || strings.Contains(err.Error(), "Could not find node with given id"))
}

// login signs in on the login page and waits for sel on the page it lands
// on.
func (c *chrome) login(email, sel string) {
	c.t.Helper()
	c.step("log in as "+email,
		chromedp.Navigate(c.base+"/login"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", email),
		chromedp.SendKeys("#password", testPassword),
		chromedp.Click("#login"),
		chromedp.WaitVisible(sel),
	)
}

// screenshot saves the whole page to $WACHT_SCREENSHOT_DIR, if set.
func (c *chrome) screenshot(name string) {
	c.t.Helper()
	dir := os.Getenv("WACHT_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// checkConsole fails the test for every script error, exception or CSP
// violation the browser reported.
func (c *chrome) checkConsole() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.console {
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") || strings.Contains(m, "Content Security Policy") {
			c.t.Errorf("browser console: %s", m)
		}
	}
}
