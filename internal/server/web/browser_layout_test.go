package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// layoutProbe measures the page in the browser: whether the document is
// wider than the window, and which table cells and form parts stick out
// of the window without a horizontally scrolling box around them (a
// phone then scrolls the whole page sideways).
const layoutProbe = `(() => {
  const vw = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll") return true;
    }
    return false;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  const out = [];
  for (const el of document.querySelectorAll("td, th, form, input, select, textarea, button, pre")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1 || scrolls(el)) continue;
    out.push(name(el) + " ends at " + Math.round(r.right) + " px: " + (el.innerText || el.value || "").trim().slice(0, 40));
    if (out.length >= 5) break;
  }
  return {doc: document.documentElement.scrollWidth, vw: vw, out: out};
})()`

type layoutResult struct {
	Doc int      `json:"doc"`
	VW  int      `json:"vw"`
	Out []string `json:"out"`
}

// TestEveryPageLayout visits every page of the tour (tour_test.go) in
// German at 1,400 px and at 390 px (a phone): no page may scroll sideways
// at 1,400 px, and at 390 px no table cell or form may stick out of the
// window except inside a horizontally scrolling box. Screenshots of every
// page go to $WACHT_SCREENSHOT_DIR. One browser, one server, one tab.
func TestEveryPageLayout(t *testing.T) {
	needChromium(t)
	f := newTourFixture(t)
	admin := f.users[core.RoleAdmin]
	if err := f.st.SetUserLang(context.Background(), admin.ID, langDE); err != nil {
		t.Fatal(err)
	}
	c := newChromeFor(t, f.srv.URL, 10*time.Minute) // a hundred page visits

	c.login(admin.Email, "#logout") // only signed-in pages have it; the login page has a main too
	pages := f.tourPages(t, langDE)
	for _, width := range []int{1400, 390} {
		c.step(fmt.Sprintf("window %d px", width), chromedp.EmulateViewport(int64(width), 900))
		for _, path := range pages {
			if strings.HasPrefix(path, "/check-form") || strings.Contains(path, "/run-progress") {
				continue // htmx fragments without the layout (and its icon link: Chromium would ask for /favicon.ico)
			}
			c.step("open "+path, chromedp.Navigate(f.srv.URL+path))
			res, err := chromedp.Run(c.ctx, chromedp.Evaluate[layoutResult](layoutProbe))
			if err != nil {
				t.Fatalf("measuring %s: %v", path, err)
			}
			c.screenshot(fmt.Sprintf("page-%d%s.png", width, strings.NewReplacer("/", "-", "?", "-", "=", "-", "&", "-").Replace(path)))
			switch {
			case width >= 1400 && res.Doc > res.VW:
				t.Errorf("%d px %s: the page is %d px wide, wider than the window (%d px)", width, path, res.Doc, res.VW)
			case width < 1400 && len(res.Out) > 0:
				t.Errorf("%d px %s: sticks out of the window (wrap it in a scrolling box):\n  %s", width, path, strings.Join(res.Out, "\n  "))
			}
		}
	}
	c.checkConsole()
}
