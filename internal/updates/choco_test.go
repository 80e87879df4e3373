package updates

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestChocoOutdated(t *testing.T) {
	us, ok := parseChocoOutdated(readCapture(t, "choco-outdated-1260.txt"))
	if !ok || len(us) != 32 { // 33 rows, temp_BoxstarterPackage is not outdated
		t.Fatalf("ok %v, %d updates", ok, len(us))
	}
	if u := us[0]; u.ID != "7zip" || u.Installed != "16.04" || u.Version != "16.4.0.20170420" || u.Key != "choco:7zip@16.4.0.20170420" ||
		u.Source != core.SourceChoco || u.Classification != core.ClassApplication {
		t.Errorf("%+v", u)
	}
	for _, u := range us {
		if u.ID == "temp_BoxstarterPackage" || strings.Contains(u.ID, " ") {
			t.Errorf("taken: %+v", u)
		}
	}
	// Pinned and not outdated: nothing to install, but a real answer.
	us, ok = parseChocoOutdated(readCapture(t, "choco-outdated-457.txt"))
	if !ok || us == nil || len(us) != 0 {
		t.Errorf("ok %v, %+v", ok, us)
	}
	if us, ok := parseChocoOutdated(nil); !ok || len(us) != 0 {
		t.Errorf("empty output: %v %v", us, ok)
	}
	if _, ok := parseChocoOutdated([]byte("Chocolatey v2.2.2\nUnable to connect to source\n")); ok {
		t.Error("garbage taken as nothing outdated")
	}
}

func TestChocoSource(t *testing.T) {
	var calls [][]string
	exits := map[string]uint32{"git": 0, "vlc": 3010, "zoom": 1641, "bad": 1, "later": 350}
	s := chocoSource{
		find: func() (string, error) { return `C:\ProgramData\chocolatey\bin\choco.exe`, nil },
		run: func(_ context.Context, exe string, args ...string) ([]byte, uint32, error) {
			calls = append(calls, args)
			if args[0] == "outdated" {
				return []byte("git|2.40.0|2.41.0|false\n"), 2, nil
			}
			return []byte("Chocolatey upgraded 1/1 packages.\n"), exits[args[1]], nil
		},
	}
	us, err := s.Scan(context.Background())
	if err != nil || len(us) != 1 || !slices.Equal(calls[0], []string{"outdated", "--limit-output"}) {
		t.Fatalf("%v %+v %q", err, us, calls)
	}
	var in []core.Update
	for _, n := range []string{"git", "vlc", "zoom", "bad", "later"} {
		in = append(in, core.Update{Key: "choco:" + n, ID: n})
	}
	rs, err := s.Install(context.Background(), in, nil)
	if err != nil || len(rs) != 5 {
		t.Fatal(err, rs)
	}
	if !slices.Equal(calls[1], []string{"upgrade", "git", "-y", "--no-progress", "--limit-output"}) {
		t.Errorf("%q", calls[1])
	}
	want := []struct {
		ok, reboot bool
		code       string
	}{{true, false, ""}, {true, true, "3010"}, {true, true, "1641"}, {false, false, "1"}, {false, true, "350"}}
	for i, w := range want {
		if rs[i].OK != w.ok || rs[i].RebootNeeded != w.reboot || rs[i].Code != w.code || rs[i].Message.EN == "" || rs[i].Message.DE == rs[i].Message.EN {
			t.Errorf("%s: %+v", in[i].ID, rs[i])
		}
	}
	// A failing scan is an error.
	s.run = func(context.Context, string, ...string) ([]byte, uint32, error) {
		return []byte("Unable to load the service index for source https://community.chocolatey.org/api/v2/\n"), 1, nil
	}
	if _, err := s.Scan(context.Background()); err == nil || !strings.Contains(err.Error(), "exit code 1") {
		t.Errorf("%v", err)
	}
	// Windows Installer busy: ErrBusy, choco not started.
	n := len(calls)
	s.busy = func() bool { return true }
	if rs, err := s.Install(context.Background(), in[:1], nil); !errors.Is(err, ErrBusy) || rs != nil || len(calls) != n {
		t.Errorf("msi busy: %v %v", rs, err)
	}
	s.busy = nil
	// A name that is no package ID is never passed to choco.
	if _, err := s.Install(context.Background(), []core.Update{{ID: "git --force"}}, nil); err == nil {
		t.Error("took an argument as a package name")
	}
	s.find = func() (string, error) { return "", errNotInstalled("Chocolatey") }
	if _, err := s.Scan(context.Background()); !errors.Is(err, errors.ErrUnsupported) {
		t.Error(err)
	}
}
