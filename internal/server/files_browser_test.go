package server

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestFileBrowserInChromium uploads a file through the dashboard's upload
// form (static/upload.js: a PUT of the file with the CSRF header) in
// headless Chromium against a real server and agent, then finds it listed
// and deletes it with the confirmation step.
func TestFileBrowserInChromium(t *testing.T) {
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("WACHT_REQUIRE_CHROMIUM") == "1" || os.Getenv("CI") != "" {
			t.Fatalf("Chromium is required but missing: %v", err)
		}
		t.Skipf("Chromium not installed (%v)", err)
	}
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	e := startFiles(t)
	dir := filepath.Join(t.TempDir(), "Ablage Köln")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "Grüße an Jörg.txt")
	if err := os.WriteFile(src, []byte("Hallo aus dem Browser\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.Flag("accept-lang", "de-DE,de"),
		chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, tcancel := context.WithTimeout(bctx, 2*time.Minute) // a hang guard
	defer tcancel()
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
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.OuterHTML("body"))
			t.Fatalf("%s: %v\n%s", name, err, body)
		}
	}
	page := fmt.Sprintf("%s/devices/%d/files?path=%s", e.base, e.dev, url.QueryEscape(dir))
	step("log in", chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible("#email"),
		chromedp.SendKeys("#email", "tech@example.com"), chromedp.SendKeys("#password", "ein langes Passwort"),
		chromedp.Click("#login"), chromedp.WaitVisible("#device-list"))
	step("open the folder", chromedp.Navigate(page), chromedp.WaitVisible("#files-empty"))
	// Each upload waits for upload.js to own the form (data-ready): a click
	// before that, on a slow machine, submits the form natively instead.
	uploadReady := func() chromedp.Action[chromedp.Void] { return chromedp.WaitVisible(`#files-upload[data-ready="1"]`) }
	step("upload", uploadReady(), chromedp.SetUploadFiles("#upload-file", []string{src}), chromedp.Click(`#files-upload button[type="submit"]`),
		chromedp.WaitVisible(`tr[data-name="Grüße an Jörg.txt"]`))
	if s, _ := chromedp.Run(ctx, chromedp.Text("#files-status")); !strings.Contains(s, "Die Datei wurde hochgeladen.") {
		t.Errorf("notice after the upload: %q", s)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "Grüße an Jörg.txt")); err != nil || string(b) != "Hallo aus dem Browser\n" {
		t.Fatalf("uploaded file: %q %v", b, err)
	}
	step("upload the same again", uploadReady(), chromedp.SetUploadFiles("#upload-file", []string{src}), chromedp.Click(`#files-upload button[type="submit"]`),
		chromedp.WaitVisible(`#files-status .n-failure`))
	if s, _ := chromedp.Run(ctx, chromedp.Text("#files-status")); !strings.Contains(s, "existiert bereits") {
		t.Errorf("refusal shown: %q", s)
	}
	step("delete", chromedp.Click(`tr[data-name="Grüße an Jörg.txt"] summary.danger`),
		chromedp.Click(`tr[data-name="Grüße an Jörg.txt"] button.file-delete`), chromedp.WaitVisible("#files-empty"))
	if _, err := os.Stat(filepath.Join(dir, "Grüße an Jörg.txt")); err == nil {
		t.Error("file not deleted")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range console {
		if strings.Contains(m, "status of 409") {
			continue // the refused second upload
		}
		if strings.HasPrefix(m, "error") || strings.HasPrefix(m, "exception") || strings.Contains(m, "Content Security Policy") {
			t.Errorf("browser console: %s", m)
		}
	}
}
