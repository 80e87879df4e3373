//go:build linux

package web

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/langtest"
)

// livePages are the tour's pages that ask a connected agent (notPages
// says so): TestLivePagesTour visits them with real agents.
var livePages = []string{"/devices/{id}/processes", "/devices/{id}/services", "/devices/{id}/files", "/devices/{id}/terminal"}

// osData removes what the device itself names (services, their
// descriptions, processes, command lines, file names, the shell's screen,
// the service manager's own state word that a translated state shows as
// its title), which is in the device's language, not the dashboard's.
const osData = `document.querySelectorAll("#services td:nth-child(1), #services td:nth-child(4), " +
  "#processes td:nth-child(2), #processes td:nth-child(3), #processes td.cmdline, #files-list td:first-child, " +
  "#terminal .xterm-screen, #terminal .xterm-accessibility").forEach((e) => e.remove());
document.querySelectorAll("#services [title]").forEach((e) => e.removeAttribute("title")); true`

// TestLivePagesTour does for the pages that need a live agent what
// TestPagesSpeakOneLanguage and TestEveryPageLayout do for the others:
// with real agents connected (newTermFixture), each page in German and in
// English holds no string of the other language's catalogue, and in German
// it neither scrolls sideways at 1,400 px nor sticks out at 390 px. The
// terminal of the device whose owner disabled it is visited too (its
// refusal is a page of its own). Screenshots go to $WACHT_SCREENSHOT_DIR.
func TestLivePagesTour(t *testing.T) {
	needChromium(t)
	f := newTermFixture(t)
	for _, p := range livePages {
		if _, ok := notPages[p]; !ok {
			t.Fatalf("%s is no longer left out of the page tour; drop it here", p)
		}
	}
	var paths []string
	for _, id := range []int64{f.dev, f.locked} {
		for _, p := range livePages {
			if id == f.locked && !strings.HasSuffix(p, "/terminal") {
				continue
			}
			paths = append(paths, strings.Replace(p, "{id}", strconv.FormatInt(id, 10), 1))
		}
	}
	c := newChromeFor(t, f.srv.URL, 5*time.Minute)
	c.login("admin@example.com", "tr.device")
	entries := catalogEntries()
	for _, lang := range []string{langEN, langDE} {
		c.step("switch to "+lang, chromedp.Click("#lang-"+lang), chromedp.WaitVisible(`html[lang="`+lang+`"]`))
		check := langtest.New(lang, entries, crossLanguage)
		for _, path := range paths {
			c.step("open "+path, chromedp.Navigate(f.srv.URL+path), chromedp.WaitReady("footer"))
			if strings.HasSuffix(path, "/terminal") && !strings.Contains(path, "/"+strconv.FormatInt(f.locked, 10)+"/") {
				// The shell answers: the page is whole.
				c.step("terminal "+path, chromedp.WaitVisible(`#terminal[data-pid]`))
			}
			if lang == langDE {
				for _, width := range []int{1400, 390} {
					c.step(fmt.Sprintf("window %d px", width), chromedp.EmulateViewport(int64(width), 900))
					res, err := chromedp.Run(c.ctx, chromedp.Evaluate[layoutResult](layoutProbe))
					if err != nil {
						t.Fatalf("measuring %s: %v", path, err)
					}
					c.screenshot(fmt.Sprintf("live-%d%s.png", width, strings.ReplaceAll(path, "/", "-")))
					switch {
					case width >= 1400 && res.Doc > res.VW:
						t.Errorf("%d px %s: the page is %d px wide, wider than the window (%d px)", width, path, res.Doc, res.VW)
					case width < 1400 && len(res.Out) > 0:
						t.Errorf("%d px %s: sticks out of the window (wrap it in a scrolling box):\n  %s", width, path, strings.Join(res.Out, "\n  "))
					}
				}
				c.step("window back", chromedp.EmulateViewport(1280, 900))
			}
			c.step("leave out the device's own words", jsDo(osData))
			body, err := chromedp.Run(c.ctx, chromedp.OuterHTML("html"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(body, `lang="`+lang+`"`) {
				t.Fatalf("%s: the page is not in %s", path, lang)
			}
			for _, h := range check.Find(visible(body)) {
				t.Errorf("%s page %s: %s", lang, path, h)
			}
		}
	}
	c.checkConsole()
}
