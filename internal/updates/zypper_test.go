package updates

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestParseZypperTranscribed(t *testing.T) {
	us, err := ParseZypperXML(readTestdata(t, "zypper-list-updates-leap16.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 4 || !reflect.DeepEqual(us[0], core.Update{Key: "zypper:kernel-default@6.12.0-160000.8.1", Source: core.SourceZypper, ID: "kernel-default",
		Version: "6.12.0-160000.8.1", Installed: "6.12.0-160000.7.1", Title: "kernel-default", Classification: core.ClassUpdate}) {
		t.Fatalf("%+v", us)
	}
	us, err = ParseZypperXML(readTestdata(t, "zypper-list-updates-sle12.xml"))
	if err != nil || len(us) != 3 || us[1].ID != "bind-libs" || us[1].Version != "9.9.6P1-35.1" || us[1].Installed != "" {
		t.Fatalf("%+v, %v", us, err)
	}
	us, err = ParseZypperXML(readTestdata(t, "zypper-list-patches-leap16.xml"))
	if err != nil || len(us) != 1 {
		t.Fatalf("%+v, %v", us, err)
	}
	p := us[0]
	if p.ID != "patch:openSUSE-Leap-16.0-112" || p.Key != "zypper:patch:openSUSE-Leap-16.0-112@1" || p.Title != "Security update for qemu" ||
		p.Classification != core.ClassSecurity || p.Severity != core.SeverityImportant || p.Reboot != "" ||
		!slices.Equal(p.CVEs, []string{"CVE-2025-11234", "CVE-2025-12464"}) || !p.ReleasedAt.Equal(time.Date(2025, 12, 18, 12, 42, 3, 0, time.UTC)) {
		t.Fatalf("%+v", p)
	}
}

// TestParseZypperShapes: elements written after zypper's format, not
// captured: a reboot patch, an optional one already installed, an error.
func TestParseZypperShapes(t *testing.T) {
	us, err := ParseZypperXML(`<?xml version='1.0'?><stream><update-status version="0.6"><update-list>` +
		`<update kind="patch" name="SUSE-2024-1" edition="1" arch="noarch" status="needed" category="recommended" severity="moderate" restart="true"><summary>Kernel</summary></update>` +
		`<update kind="patch" name="SUSE-2024-2" edition="1" arch="noarch" status="applied" category="optional" severity="low"><summary>x</summary></update>` +
		`<update kind="patch" name="SUSE-2024-3" edition="1" arch="noarch" status="needed" category="feature" severity="unspecified"><summary>y</summary></update>` +
		`</update-list></update-status></stream>`)
	if err != nil || len(us) != 2 || us[0].Reboot != core.RebootAlways || us[0].Classification != core.ClassUpdate || us[0].Severity != core.SeverityModerate ||
		us[1].Classification != core.ClassFeature || us[1].Severity != "" {
		t.Fatalf("%+v, %v", us, err)
	}
	if _, err := ParseZypperXML(`<stream><message type="error">Repository 'x' is invalid.</message></stream>`); err == nil || !strings.Contains(err.Error(), "is invalid") {
		t.Fatalf("error message: %v", err)
	}
	if _, err := ParseZypperXML("System management is locked"); err == nil {
		t.Fatal("not XML, but no error")
	}
}

type fakeZypper struct {
	needed    map[string]bool   // patches
	installed map[string]string // packages
	offered   map[string]string
	lock      bool
	reboot    bool
}

func (f *fakeZypper) run(_ context.Context, c pmCmd) (pmOut, error) {
	if c.argv[0] == "/usr/bin/rpm" {
		var b strings.Builder
		for _, n := range c.argv[5:] {
			if v, ok := f.installed[n]; ok {
				b.WriteString(n + "\tx86_64\t" + v + "\n")
			}
		}
		return pmOut{stdout: b.String()}, nil
	}
	args := c.argv[2:]
	if f.lock && args[0] != "--xmlout" {
		return pmOut{exit: 7, stderr: "System management is locked by the application with pid 7914 (/usr/bin/zypper).\nClose this application before trying again.\n"}, nil
	}
	switch {
	case args[0] == "refresh":
		return pmOut{stdout: "All repositories have been refreshed.\n"}, nil
	case slices.Contains(args, "list-patches"):
		var b strings.Builder
		for n, need := range f.needed {
			if need {
				b.WriteString(`<update kind="patch" name="` + n + `" edition="1" status="needed" category="security" severity="critical"><summary>s</summary></update>`)
			}
		}
		return pmOut{stdout: `<stream><update-status version="0.6"><update-list>` + b.String() + `</update-list></update-status></stream>`}, nil
	case slices.Contains(args, "list-updates"):
		var b strings.Builder
		for n, v := range f.offered {
			if f.installed[n] != v {
				b.WriteString(`<update kind="package" name="` + n + `" edition="` + v + `" edition-old="` + f.installed[n] + `"/>`)
			}
		}
		return pmOut{stdout: `<stream><update-status version="0.6"><update-list>` + b.String() + `</update-list></update-status></stream>`}, nil
	case args[0] == "install":
		for _, n := range args[4:] {
			f.needed[n] = false
		}
		if f.reboot {
			return pmOut{exit: 102}, nil
		}
		return pmOut{}, nil
	case args[0] == "update":
		for _, n := range args[2:] {
			f.installed[n] = f.offered[n]
		}
		return pmOut{}, nil
	}
	return pmOut{}, errors.New("unexpected " + c.String())
}

func TestZypperScanInstall(t *testing.T) {
	f := &fakeZypper{needed: map[string]bool{"SUSE-SLE-2024-1": true}, installed: map[string]string{"bash": "5.2-1.1"}, offered: map[string]string{"bash": "5.2-2.1"}}
	z := &Zypper{run: f.run, Bin: "/usr/bin/zypper", Rpm: "/usr/bin/rpm"}
	us, err := z.Scan(t.Context())
	if err != nil || len(us) != 2 || us[0].ID != "patch:SUSE-SLE-2024-1" || us[0].Severity != core.SeverityCritical || us[1].ID != "bash" {
		t.Fatalf("%+v, %v", us, err)
	}
	f.lock = true
	if _, err := z.Install(t.Context(), us, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("locked: %v", err)
	}
	if _, err := z.Scan(t.Context()); !errors.Is(err, ErrBusy) {
		t.Fatalf("locked scan: %v", err)
	}
	f.lock, f.reboot = false, true
	rs, err := z.Install(t.Context(), us, nil)
	if err != nil || len(rs) != 2 || !rs[0].OK || !rs[0].RebootNeeded || rs[0].Code != "zypper exit 102" || !rs[1].OK || rs[1].RebootNeeded {
		t.Fatalf("%+v, %v", rs, err)
	}
	if us, err := z.Scan(t.Context()); err != nil || len(us) != 0 {
		t.Fatalf("rescan %+v, %v", us, err)
	}
}

func TestZypperMessage(t *testing.T) {
	m := zypperMessage(pmOut{exit: 104, stdout: "Loading repository data...\n", stderr: "No provider of 'nosuch' found.\n"})
	if !strings.Contains(m.EN, "no longer offered") || !strings.Contains(m.DE, "nicht mehr angeboten") || !strings.Contains(m.EN, "No provider") {
		t.Fatalf("%+v", m)
	}
}
