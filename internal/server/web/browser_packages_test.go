package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestBrowserPackages duplicates a catalog entry in the dashboard, gives
// the copy its secret and uploads its installer through the page's
// streamed PUT (static/upload.js); the page then shows the stored
// SHA-256.
func TestBrowserPackages(t *testing.T) {
	needChromium(t)
	f := newPackagesFixture(t, t.TempDir())
	ctx := context.Background()
	var rustdesk core.Package
	list, err := f.st.ListPackages(ctx)
	if err == nil && len(list) == 0 { // the catalog is seeded on first read
		b := f.browser(t, "en")
		b.login("admin@example.com", testPassword)
		b.do("GET", "/packages", nil)
		list, err = f.st.ListPackages(ctx)
	}
	for _, p := range list {
		if p.Builtin == "rustdesk" {
			rustdesk = p
		}
	}
	if err != nil || rustdesk.ID == 0 {
		t.Fatalf("catalog: %v %d packages", err, len(list))
	}
	installer := filepath.Join(t.TempDir(), "rustdesk-1.4.0-x86_64.exe")
	body := make([]byte, 3<<20/4)
	rand.Read(body)
	if err := os.WriteFile(installer, body, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)

	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#nav-packages")
	c.step("open the catalog entry", chromedp.Click("#nav-packages"), chromedp.WaitVisible("#packages"),
		chromedp.Click(`#package-`+strconv.FormatInt(rustdesk.ID, 10)+` a`), chromedp.WaitVisible("#package-source"))
	c.step("duplicate it", chromedp.Click("#package-duplicate"), chromedp.WaitVisible("#package-save"),
		chromedp.SendKeys(`input[name="p0.value"]`, "9JSPjtCnChWQxkHb182MTJ0UvF2cQhDWlBXcqNlT0pGUQNXNBRlaOlVY1hFU4IiOikXZrJCLiIiOikGchJCLiIiOikXYsVmciwiI"),
		chromedp.Click("#package-save"), chromedp.WaitVisible(`#package-upload[data-ready="1"]`))
	c.upload("#package-upload-file", installer)
	c.step("upload the installer", chromedp.Click(`#package-upload button[type="submit"]`), chromedp.WaitVisible("#file-sha256"))
	if got := c.text("#file-sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("shown SHA-256 %q, want %x", got, sum)
	}
	c.screenshot("package-uploaded.png")
	c.checkConsole()
}
