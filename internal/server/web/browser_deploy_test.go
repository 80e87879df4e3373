package web

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestBrowserDeploysPackage deploys a package from its page through the
// deploy dialog (the script run dialog's choice of devices) and follows
// the job page until the run is done with its restart and detected
// version shown; the device page lists the package run.
func TestBrowserDeploysPackage(t *testing.T) {
	needChromium(t)
	if !hasAsset(t, "vendor/htmx.min.js") {
		t.Skip("htmx not built in (web/build.sh)")
	}
	f := newScriptsFixture(t)
	ctx := context.Background()
	p := core.Package{Name: "htop", Version: "3.3", OS: "linux", Kind: core.PkgApt, ManagerID: "htop", Install: []string{}, Uninstall: []string{},
		Params: []core.PackageParam{}, ExitCodes: core.DefaultExitCodes(), Detection: core.Detection{Kind: core.DetectOSPackage, Name: "htop"},
		TimeoutSeconds: 600, UpdatedBy: "test"}
	if err := f.st.CreatePackage(ctx, &p); err != nil {
		t.Fatal(err)
	}
	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#nav-packages")
	dev := "#dev-" + strconv.FormatInt(f.device.ID, 10)
	c.step("open the dialog", chromedp.Navigate(f.srv.URL+"/packages/"+strconv.FormatInt(p.ID, 10)),
		chromedp.WaitVisible("#package-deploy"), chromedp.Click("#package-deploy"), chromedp.WaitVisible("#package-deploy-form"))
	if got := c.text("h1"); !strings.Contains(got, "htop") {
		t.Errorf("dialog heading %q", got)
	}
	c.screenshot("package-deploy.png")
	c.step("deploy to one device", chromedp.Click(dev), chromedp.Click("#action-install"),
		chromedp.Click("#run-submit"), chromedp.WaitVisible("#count-queued"))
	if got := c.text("h1"); !strings.Contains(got, "install") || !strings.Contains(got, "htop") || !strings.Contains(got, "3.3") {
		t.Errorf("job heading %q", got)
	}
	r, j, ok, err := f.st.ClaimScriptRun(ctx, f.device.ID, time.Now(), time.Minute)
	if err != nil || !ok || j.PackageID != p.ID || j.Action != "package_install" {
		t.Fatalf("claim: %+v %v %v", j, ok, err)
	}
	exit, fin := 3010, time.Now()
	r.State, r.ExitCode, r.Meaning, r.RebootNeeded, r.SWState, r.SWVersion, r.FinishedAt = core.RunDone, &exit, core.ExitReboot, true, "installed", "3.3.0", &fin
	if err := f.st.FinishScriptRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	c.step("follow the job", chromedp.WaitVisible("#job-finished"), chromedp.WaitVisible(".reboot-needed"))
	if got := c.text(".sw-state"); got != "Detected: installed 3.3.0" {
		t.Errorf("detected %q", got)
	}
	c.screenshot("package-job-done.png")
	c.step("device page", chromedp.Navigate(f.srv.URL+"/devices/"+strconv.FormatInt(f.device.ID, 10)), chromedp.WaitVisible("#device-runs"))
	if got := c.text("#device-runs"); !strings.Contains(got, "htop") || !strings.Contains(got, "restart needed") {
		t.Errorf("device runs %q", got)
	}
	// A Windows package offers none of the Linux devices by name.
	win := p
	win.ID, win.Name, win.OS, win.Kind, win.ManagerID = 0, "7-Zip", "windows", core.PkgWinget, "7zip.7zip"
	win.Detection = core.Detection{Kind: core.DetectRegistry, DisplayName: "7-Zip*"}
	if err := f.st.CreatePackage(ctx, &win); err != nil {
		t.Fatal(err)
	}
	c.step("a Windows package's dialog", chromedp.Navigate(f.srv.URL+"/packages/"+strconv.FormatInt(win.ID, 10)+"/deploy"),
		chromedp.WaitVisible("#package-deploy-form"))
	if offered, err := chromedp.Run(c.ctx, chromedp.Evaluate[bool](`document.querySelector("`+dev+`") !== null`)); err != nil || offered {
		t.Errorf("a Linux device offered for a Windows package: %v %v", offered, err)
	}
	c.checkConsole()
}
