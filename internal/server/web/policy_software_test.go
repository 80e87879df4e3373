package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// softwarePackages stores a Linux and a Windows package for the software
// rows.
func softwarePackages(t *testing.T, f *fixture) (linux, windows core.Package) {
	t.Helper()
	ctx := context.Background()
	linux = core.Package{Name: "htop", Version: "3", OS: "linux", Kind: core.PkgApt, ManagerID: "htop", Install: []string{}, Uninstall: []string{},
		Params: []core.PackageParam{}, ExitCodes: core.DefaultExitCodes(), Detection: core.Detection{Kind: core.DetectOSPackage, Name: "htop"}, TimeoutSeconds: 600}
	windows = core.Package{Name: "Kanzlei-Editor", Version: "5", OS: "windows", Kind: core.PkgWinget, ManagerID: "Kanzlei.Editor", Install: []string{}, Uninstall: []string{},
		Params: []core.PackageParam{}, ExitCodes: core.DefaultExitCodes(), Detection: core.Detection{Kind: core.DetectRegistry, DisplayName: "Kanzlei-Editor*"}, TimeoutSeconds: 600}
	for _, p := range []*core.Package{&linux, &windows} {
		if err := f.st.CreatePackage(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	return linux, windows
}

// policyNamed returns the stored policy called name.
func policyNamed(t *testing.T, f *fixture, name string) core.Policy {
	t.Helper()
	ps, err := f.st.ListPolicies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no policy %q", name)
	return core.Policy{}
}

// TestPolicySoftwareEditor: a software row is chosen from the packages,
// refused with its message when invalid, saved, and the device's effective
// policy lists it with its source, a package for another OS as not
// applying; in German too.
func TestPolicySoftwareEditor(t *testing.T) {
	f := newPackagesFixture(t, t.TempDir())
	htop, editor := softwarePackages(t, f)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	if p := b.do("GET", "/policies/new", nil); !strings.Contains(p.body, `id="policy-software"`) || !strings.Contains(p.body, ">htop 3 (linux)<") {
		t.Fatalf("the new policy form has no software rows with the packages: %s", p.body)
	}
	h, e := strconv.FormatInt(htop.ID, 10), strconv.FormatInt(editor.ID, 10)
	form := url.Values{"csrf": {csrf}, "name": {"Kanzlei-Software"}, "rows": {"0"}, "srows": {"2"},
		"s0.package": {h}, "s0.state": {"absent"}, "s0.min": {"3.0"}, "s1.package": {e}, "s1.state": {"present"}}
	p := b.do("POST", "/policies", form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="software-0-error">software[0].min_version: only a package that must be present`) {
		t.Fatalf("an absent package with a minimum version: %d %s", p.status, p.body)
	}
	form.Set("s0.state", "present")
	if p := b.do("POST", "/policies", form); p.status != http.StatusSeeOther {
		t.Fatalf("valid software: %d %s", p.status, p.body)
	}
	pol := policyNamed(t, f, "Kanzlei-Software")
	if len(pol.Software) != 2 || pol.Software[0].PackageID != htop.ID || pol.Software[0].MinVersion != "3.0" || pol.Software[1].State != core.SoftwarePresent {
		t.Fatalf("stored software: %+v", pol.Software)
	}
	if p := b.do("GET", "/policies/"+strconv.FormatInt(pol.ID, 10), nil); !strings.Contains(p.body, `value="3.0"`) {
		t.Errorf("the edit page lacks the minimum version")
	}

	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	p = b.do("POST", dev+"/policies", url.Values{"csrf": {csrf}, "policy": {strconv.FormatInt(pol.ID, 10)}})
	for _, want := range []string{`id="effective-software"`, "htop 3", "present ≥ 3.0", "Device: Kanzlei-Software", "sent to the agent",
		"Kanzlei-Editor 5", "does not apply: package &#34;Kanzlei-Editor&#34; is for windows, this device runs linux"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("device policy page lacks %q", want)
		}
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	if p := de.do("GET", dev+"/effective", nil); !strings.Contains(p.body, "installiert ≥ 3.0") || !strings.Contains(p.body, "trifft nicht zu: Paket") {
		t.Errorf("German effective fragment: %s", p.body)
	}
}

// TestBrowserPolicySoftware adds a desired software state in the policy
// editor in Chromium and finds it in the device's effective policy.
func TestBrowserPolicySoftware(t *testing.T) {
	needChromium(t)
	f := newPackagesFixture(t, t.TempDir())
	htop, _ := softwarePackages(t, f)
	h := strconv.FormatInt(htop.ID, 10)
	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#nav-packages")
	c.step("open a new policy", chromedp.Navigate(f.srv.URL+"/policies/new"), chromedp.WaitVisible("#policy-software"))
	c.step("want htop", chromedp.SendKeys("#name", "Werkzeuge"),
		chromedp.SetValue(`select[name="s0.package"]`, h), chromedp.SetValue(`select[name="s0.state"]`, "present"),
		chromedp.SendKeys(`input[name="s0.min"]`, "3.0.2"),
		chromedp.Click("#policy-save"), chromedp.WaitVisible("#policies"))
	pol := policyNamed(t, f, "Werkzeuge")
	if len(pol.Software) != 1 || pol.Software[0].PackageID != htop.ID || pol.Software[0].MinVersion != "3.0.2" {
		t.Fatalf("stored software: %+v", pol.Software)
	}
	c.step("assign it to the device", chromedp.Navigate(f.srv.URL+"/devices/"+strconv.FormatInt(f.device.ID, 10)+"/policies"),
		chromedp.WaitVisible("#effective"),
		chromedp.Click(`input[name="policy"][value="`+strconv.FormatInt(pol.ID, 10)+`"]`),
		chromedp.Click(`#assign-save`), chromedp.WaitVisible(`#effective-software tr[data-check="software-`+h+`"]`))
	if got := c.text("#effective-software"); !strings.Contains(got, "present ≥ 3.0.2") || !strings.Contains(got, "sent to the agent") {
		t.Errorf("effective software: %s", got)
	}
	c.screenshot("policy-software.png")
	c.checkConsole()
}
