package updates

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestParseSoftwareUpdateTranscribed(t *testing.T) {
	us := ParseSoftwareUpdateList(readTestdata(t, "softwareupdate-list-tahoe.txt"), "26.7")
	type row struct {
		id, title, version, class, reboot string
		size                              int64
	}
	var got []row
	for _, u := range us {
		got = append(got, row{u.ID, u.Title, u.Version, u.Classification, u.Reboot, u.SizeBytes})
		if u.Key != core.UpdateKey(core.SourceSoftwareUpd, u.ID, u.Version) || u.Source != core.SourceSoftwareUpd {
			t.Errorf("key %q", u.Key)
		}
	}
	want := []row{
		{"macOS 27-26A428", "macOS 27", "27", core.ClassFeature, core.RebootAlways, 11728377 << 10},
		{"macOS Tahoe 26.7.1-25H300", "macOS Tahoe 26.7.1", "26.7.1", core.ClassUpdate, core.RebootAlways, 1843200 << 10},
		{"macOS Tahoe 26.7.1 (a)-25H300a", "macOS Tahoe 26.7.1 (a)", "26.7.1 (a)", core.ClassSecurity, core.RebootAlways, 90112 << 10},
		{"Safari27.0TahoeAuto-27.0", "Safari", "27.0", core.ClassUpdate, core.RebootNever, 190512 << 10},
		{"Command Line Tools for Xcode 27.0-27.0", "Command Line Tools for Xcode 27.0", "27.0", core.ClassUpdate, core.RebootNever, 903421 << 10},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	// Without the OS version a major upgrade is not told from a point update.
	if us := ParseSoftwareUpdateList(readTestdata(t, "softwareupdate-list-tahoe.txt"), ""); us[0].Classification != core.ClassUpdate {
		t.Errorf("%+v", us[0])
	}
	us = ParseSoftwareUpdateList(readTestdata(t, "softwareupdate-list-bsi.txt"), "26.3")
	if len(us) != 1 || us[0].ID != "macOS Background Security Improvement (a)-25D771280a" || us[0].Classification != core.ClassSecurity ||
		us[0].Version != "26.3.1 (a)" || us[0].SizeBytes != 208896<<10 {
		t.Fatalf("%+v", us)
	}
	us = ParseSoftwareUpdateList(readTestdata(t, "softwareupdate-list-legacy.txt"), "10.3")
	if len(us) != 5 || us[2].ID != "StuffItExpander7-7.0" || us[2].Classification != core.ClassSecurity || us[2].SizeBytes != 4420<<10 ||
		us[4].Reboot != core.RebootAlways || us[3].ID != "iCal-1.0.2" || us[3].Version != "1.0.2" {
		t.Fatalf("%+v", us)
	}
	if us := ParseSoftwareUpdateList("Software Update Tool\n\nFinding available software\nNo new software available.\n", "26.7"); len(us) != 0 {
		t.Fatalf("%+v", us)
	}
}

// fakeSU offers updates until they are installed; installing a restart
// update "fails" the way softwareupdate does on Apple silicon without
// credentials, exit 0 included.
type fakeSU struct {
	offered map[string]string // label → listing lines
	calls   []string
}

func (f *fakeSU) run(_ context.Context, c pmCmd) (pmOut, error) {
	f.calls = append(f.calls, strings.Join(c.argv[1:], " "))
	switch c.argv[1] {
	case "--list":
		if len(f.offered) == 0 {
			return pmOut{stderr: "No new software available.\n"}, nil
		}
		var b strings.Builder
		b.WriteString("Software Update found the following new or updated software:\n")
		for _, l := range slices.Sorted(func(yield func(string) bool) {
			for k := range f.offered {
				if !yield(k) {
					return
				}
			}
		}) {
			b.WriteString(f.offered[l])
		}
		return pmOut{stdout: b.String()}, nil
	case "--install":
		delete(f.offered, c.argv[2])
		return pmOut{stdout: "Downloading " + c.argv[2] + "\nDone.\n"}, nil
	}
	return pmOut{}, errors.New("unexpected")
}

func TestSoftwareUpdateInstall(t *testing.T) {
	f := &fakeSU{offered: map[string]string{
		"Safari27.0TahoeAuto-27.0":  "* Label: Safari27.0TahoeAuto-27.0\n\tTitle: Safari, Version: 27.0, Size: 190512KiB, Recommended: YES, \n",
		"macOS Tahoe 26.7.1-25H300": "* Label: macOS Tahoe 26.7.1-25H300\n\tTitle: macOS Tahoe 26.7.1, Version: 26.7.1, Size: 1843200KiB, Recommended: YES, Action: restart, \n",
	}}
	s := &SoftwareUpdate{run: f.run, Bin: "/usr/sbin/softwareupdate", OSVersion: "26.7", AppleSilicon: true}
	us, err := s.Scan(t.Context())
	if err != nil || len(us) != 2 {
		t.Fatalf("%+v, %v", us, err)
	}
	rs, err := s.Install(t.Context(), us, nil)
	if err != nil || len(rs) != 2 {
		t.Fatalf("%+v, %v", rs, err)
	}
	// In the listing's (byte) order: "Safari…" before "macOS…".
	safari, mac := rs[0], rs[1]
	if mac.OK || mac.Code != "apple-silicon-credentials" || !strings.Contains(mac.Message.EN, "volume owner") || !strings.Contains(mac.Message.DE, "Volume-Eigentümer") {
		t.Errorf("macOS on Apple silicon: %+v", mac)
	}
	if !safari.OK || safari.RebootNeeded {
		t.Errorf("Safari: %+v", safari)
	}
	if slices.Contains(f.calls, "--install macOS Tahoe 26.7.1-25H300 --agree-to-license") {
		t.Error("tried the macOS update on Apple silicon")
	}
	// On Intel it runs, and the listing decides.
	s.AppleSilicon = false
	us, _ = s.Scan(t.Context())
	rs, err = s.Install(t.Context(), us, nil)
	if err != nil || len(rs) != 1 || !rs[0].OK || !rs[0].RebootNeeded {
		t.Fatalf("%+v, %v", rs, err)
	}
	// A listing that says nothing is an error, never "no updates".
	s.run = func(context.Context, pmCmd) (pmOut, error) { return pmOut{stdout: "Software Update Tool\n"}, nil }
	if _, err := s.Scan(t.Context()); err == nil {
		t.Fatal("an empty listing passed as no updates")
	}
}

func TestParseBrewOutdatedTranscribed(t *testing.T) {
	us, err := ParseBrewOutdated("Warning: something first\n" + readTestdata(t, "brew-outdated-v2.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, u.Key+" "+u.Installed+" "+u.Title+" "+u.Classification)
	}
	want := []string{"brew:binutils@2.47 2.46.1 binutils application", "brew:ca-certificates@2026-08-13 2026-07-16 ca-certificates application",
		"brew:font-hack-nerd-font@3.5.0 3.4.0 font-hack-nerd-font (cask) application"}
	if !slices.Equal(got, want) {
		t.Fatalf("%q", got)
	}
	us, err = ParseBrewOutdated(`{"formulae":[{"name":"node","installed_versions":["20.1"],"current_version":"22.0","pinned":true,"pinned_version":"20.1"}],"casks":[]}`)
	if err != nil || len(us) != 0 {
		t.Fatalf("pinned: %+v, %v", us, err)
	}
	if _, err := ParseBrewOutdated("Error: Running Homebrew as root is extremely dangerous"); err == nil {
		t.Fatal("no JSON, no error")
	}
}

type fakeBrew struct {
	outdated map[string]bool
	users    []string
}

func (f *fakeBrew) run(_ context.Context, c pmCmd) (pmOut, error) {
	f.users = append(f.users, c.user)
	switch c.argv[1] {
	case "update":
		return pmOut{}, nil
	case "outdated":
		var items []string
		for n, o := range f.outdated {
			if o {
				items = append(items, `{"name":"`+n+`","installed_versions":["1"],"current_version":"2","pinned":false}`)
			}
		}
		slices.Sort(items)
		return pmOut{stdout: `{"formulae":[` + strings.Join(items, ",") + `],"casks":[]}`}, nil
	case "upgrade":
		for _, n := range c.argv[2:] {
			if n == "broken" {
				return pmOut{exit: 1, stderr: "Error: broken: An exception occurred within a child process\n"}, nil
			}
		}
		for _, n := range c.argv[2:] {
			f.outdated[n] = false
		}
		return pmOut{}, nil
	}
	return pmOut{}, errors.New("unexpected")
}

func TestBrewScanInstall(t *testing.T) {
	f := &fakeBrew{outdated: map[string]bool{"wget": true, "broken": true}}
	b := &Brew{run: f.run, Bin: "/opt/homebrew/bin/brew", User: "anna"}
	us, err := b.Scan(t.Context())
	if err != nil || len(us) != 2 {
		t.Fatalf("%+v, %v", us, err)
	}
	rs, err := b.Install(t.Context(), us, nil)
	if err != nil || len(rs) != 2 {
		t.Fatalf("%+v, %v", rs, err)
	}
	// One broken formula fails the batch; wget still gets its own run.
	if rs[0].OK || !strings.Contains(rs[0].Message.EN, "exception") || !rs[1].OK {
		t.Fatalf("%+v", rs)
	}
	for _, u := range f.users {
		if u != "anna" {
			t.Fatalf("brew ran as %q", u)
		}
	}
	if _, err := (&Brew{run: f.run, Bin: "/opt/homebrew/bin/brew"}).Scan(t.Context()); err == nil || !strings.Contains(err.Error(), "root") {
		t.Fatalf("without a user: %v", err)
	}
}
