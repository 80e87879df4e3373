package web

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestBrowserScripts writes a script in the editor (CodeMirror with
// highlighting over the form's textarea), runs it on the device from the
// run dialog and watches the job page follow the run until it is done.
func TestBrowserScripts(t *testing.T) {
	needChromium(t)
	if !hasAsset(t, "vendor/htmx.min.js") || !hasAsset(t, "vendor/codemirror.js") {
		t.Skip("htmx or CodeMirror not built in (web/build.sh)")
	}
	f := newScriptsFixture(t)
	ctx := context.Background()
	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#nav-scripts")

	c.step("new script", chromedp.Click("#nav-scripts"), chromedp.WaitVisible("#scripts"),
		settled, chromedp.Click("#script-new"), chromedp.WaitVisible("#body-editor"), settled)
	if hidden, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`document.getElementById("body").hidden`)); err != nil || !hidden {
		t.Errorf("the textarea is not replaced by the editor: %v %v", hidden, err)
	}
	c.step("write it",
		chromedp.SendKeys("#name", "Grüße aus dem Browser"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("body").wachtEditor.focus()`),
		chromedp.KeyEvent(`echo "Hallo $WHO" # Gruß`),
		chromedp.SendKeys(`input[name="p0.name"]`, "WHO"),
		chromedp.SendKeys(`input[name="p0.default"]`, "Welt"),
		chromedp.Click("#param-add"), chromedp.Click("#param-add"),
		chromedp.SendKeys(`input[name="p3.name"]`, "LAUT"),
		chromedp.SetValue(`select[name="p3.type"]`, "bool"),
	)
	// Highlighting: the shell mode marks the string, variable and comment,
	// each in a colour of its own.
	colours, err := chromedp.Run(c.ctx, chromedp.Evaluate[[]string](`Array.from(
		document.getElementById("body-editor").shadowRoot.querySelectorAll(".cm-line span[class]"),
		s => getComputedStyle(s).color)`))
	if err != nil || len(colours) < 3 || len(slices.Compact(slices.Sorted(slices.Values(colours)))) < 2 {
		t.Errorf("highlighted tokens: %v %v", colours, err)
	}
	c.screenshot("script-editor.png")
	c.step("save", chromedp.Click("#script-save"), chromedp.WaitVisible("#script-version"))
	list, _ := f.st.ListScripts(ctx)
	var sc core.Script
	for _, s := range list {
		if s.Name == "Grüße aus dem Browser" {
			sc = s
		}
	}
	if sc.Body != `echo "Hallo $WHO" # Gruß` || sc.Language != "bash" || len(sc.Params) != 2 || string(sc.Params[0].Default) != `"Welt"` ||
		sc.Params[1].Name != "LAUT" || sc.Params[1].Type != core.ParamBool {
		t.Fatalf("stored %q %+v", sc.Body, sc)
	}

	dev, dev2 := "#dev-"+strconv.FormatInt(f.device.ID, 10), "#dev-"+strconv.FormatInt(f.second.ID, 10)
	c.step("run it on two devices", chromedp.Click("#script-run"), chromedp.WaitVisible("#run-devices"), settled,
		chromedp.SendKeys("#device-filter", "pc-01"), chromedp.WaitNotVisible(dev2), chromedp.Click(dev),
		chromedp.SendKeys("#device-filter", kb.Backspace), chromedp.WaitVisible(dev2), chromedp.Click(dev2),
		chromedp.Click("#run-submit"), chromedp.WaitVisible("#count-queued"))
	c.screenshot("job-queued.png")
	finish := func(deviceID int64, out string) {
		t.Helper()
		r, _, ok, err := f.st.ClaimScriptRun(ctx, deviceID, time.Now(), time.Minute)
		if err != nil || !ok {
			t.Fatalf("claim: %v %v", ok, err)
		}
		exit, fin := 0, time.Now()
		r.State, r.ExitCode, r.Stdout, r.DurationMS, r.FinishedAt = core.RunDone, &exit, out, 250, &fin
		if err := f.st.FinishScriptRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// htmx polls every 2 s and stops once every run is final; an output
	// opened in between stays open.
	finish(f.device.ID, "Hallo Welt")
	c.step("follow the job", chromedp.WaitVisible("#count-done"), chromedp.Click("details.run-output summary"),
		chromedp.WaitVisible("pre.stdout"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("job-progress").dataset.old = "1"`),
		chromedp.WaitVisible(`#job-progress:not([data-old]) pre.stdout`))
	if out := c.text("pre.stdout"); !strings.Contains(out, "Hallo Welt") {
		t.Errorf("output %q after a refresh", out)
	}
	finish(f.second.ID, "Hallo Welt 2")
	c.step("finished", chromedp.WaitVisible("#job-finished"))
	if counts := c.text("#job-counts"); !strings.Contains(counts, "done: 2") {
		t.Errorf("counts %q", counts)
	}
	c.screenshot("job-done.png")
	c.checkConsole()
}
