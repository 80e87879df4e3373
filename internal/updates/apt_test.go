package updates

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestParseAptSimulationCaptured(t *testing.T) {
	b, err := os.ReadFile("testdata/apt-dist-upgrade-bookworm.txt")
	if err != nil {
		t.Fatal(err)
	}
	us, err := ParseAptSimulation(string(b))
	if err != nil {
		t.Fatal(err)
	}
	// The capture's summary line says 113 upgraded; 78 of its Inst lines
	// name the Debian-Security origin.
	if len(us) != 113 {
		t.Fatalf("%d updates, want 113", len(us))
	}
	sec := 0
	byID := map[string]core.Update{}
	for _, u := range us {
		if u.Classification == core.ClassSecurity {
			sec++
		}
		if u.Source != core.SourceApt || u.Key != core.UpdateKey(core.SourceApt, u.ID, u.Version) || u.Title == "" || u.Severity != "" {
			t.Errorf("malformed: %+v", u)
		}
		byID[u.ID] = u
	}
	if sec != 78 {
		t.Errorf("%d security updates, want 78", sec)
	}
	for id, want := range map[string]core.Update{
		"base-files": {Installed: "12.4+deb12u11", Version: "12.4+deb12u15", Classification: core.ClassUpdate},
		"libssl3":    {Installed: "3.0.19-1~deb12u2", Version: "3.0.22-1~deb12u2", Classification: core.ClassSecurity},
		"login":      {Installed: "1:4.13+dfsg1-1+deb12u1", Version: "1:4.13+dfsg1-1+deb12u2", Classification: core.ClassUpdate},
		// in both the point release and the security pocket
		"libgcrypt20": {Installed: "1.10.1-3", Version: "1.10.1-3+deb12u1", Classification: core.ClassSecurity},
	} {
		got := byID[id]
		if got.Installed != want.Installed || got.Version != want.Version || got.Classification != want.Classification {
			t.Errorf("%s: %+v, want %+v", id, got, want)
		}
	}
	if byID["libssl3"].Key != "apt:libssl3@3.0.22-1~deb12u2" {
		t.Errorf("key %q", byID["libssl3"].Key)
	}
}

// TestParseAptSimulationShapes covers line shapes beside the capture's; the
// lines are written here after apt's format, not captured.
func TestParseAptSimulationShapes(t *testing.T) {
	out := strings.Join([]string{
		"NOTE: This is only a simulation!",
		"3 upgraded, 1 newly installed, 1 to remove and 0 not upgraded.",
		"Inst libc6:i386 [2.35-0ubuntu3.1] (2.35-0ubuntu3.4 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [i386]) []",
		"Inst newdep (1.0-1 Ubuntu:22.04/jammy [amd64])", // a new package: no update
		"Inst wacht-test [1.0-1] (2.0-1 localhost [all])",
		"Conf wacht-test (2.0-1 localhost [all])",
		"Remv oldpkg [0.9]",
		"Inst old-security [1] (2 Debian-Security:10/oldoldstable [amd64])",
	}, "\n")
	us, err := ParseAptSimulation(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range us {
		got = append(got, u.ID+" "+u.Installed+">"+u.Version+" "+u.Classification)
	}
	// Debian 10's security origin has no "-security" suite; its label says it.
	want := []string{"libc6:i386 2.35-0ubuntu3.1>2.35-0ubuntu3.4 security", "wacht-test 1.0-1>2.0-1 update", "old-security 1>2 security"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	// apt 3's summary; an unreadable output and a short read are errors,
	// never "no updates".
	if us, err := ParseAptSimulation("Summary:\n  Upgrading: 0, Installing: 0, Removing: 0, Not Upgrading: 0\n"); err != nil || len(us) != 0 {
		t.Errorf("apt 3, nothing: %v, %v", us, err)
	}
	if _, err := ParseAptSimulation("Paketlisten werden gelesen…\n"); err == nil {
		t.Error("unreadable output passed as no updates")
	}
	if _, err := ParseAptSimulation("2 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\nInst a [1] (2 x [all])\nInst b 1 -> 2\n"); err == nil || !strings.Contains(err.Error(), "only 1") {
		t.Errorf("short read: %v", err)
	}
}

// fakeApt answers apt-get, dpkg-query and dpkg like a small machine whose
// versions change when apt-get install succeeds for a package.
type fakeApt struct {
	installed map[string]string // package → version
	offered   map[string]string // package → version apt can install
	lock      bool
	broken    map[string]bool // packages whose postinst fails
	lie       bool            // apt-get exits 0 but installs nothing
	calls     [][]string
}

func (f *fakeApt) run(_ context.Context, c pmCmd) (pmOut, error) {
	f.calls = append(f.calls, c.argv)
	switch filepath.Base(c.argv[0]) {
	case "apt-get":
		if f.lock {
			return pmOut{exit: 100, stderr: "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\nE: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?\n"}, nil
		}
		var pkgs []string
		for _, a := range c.argv[1:] {
			if name, ver, ok := strings.Cut(a, "="); ok && !strings.HasPrefix(a, "Dpkg") {
				if f.offered[name] != ver {
					return pmOut{exit: 100, stderr: "E: Version '" + ver + "' for '" + name + "' was not found\n"}, nil
				}
				pkgs = append(pkgs, name)
			}
		}
		if f.lie {
			return pmOut{stdout: "0 upgraded\n"}, nil
		}
		exit, out := 0, ""
		for _, p := range pkgs {
			if f.broken[p] {
				exit = 100
				out += "dpkg: error processing package " + p + " (--configure):\n installed " + p + " package post-installation script subprocess returned error exit status 1\n"
				continue
			}
		}
		if exit != 0 {
			// apt-get installs all or, with a failing postinst, leaves the
			// others unpacked and configured: the fake installs the good ones.
			for _, p := range pkgs {
				if !f.broken[p] {
					f.installed[p] = f.offered[p]
				}
			}
			return pmOut{exit: 100, stdout: out, stderr: "E: Sub-process /usr/bin/dpkg returned an error code (1)\n"}, nil
		}
		for _, p := range pkgs {
			f.installed[p] = f.offered[p]
		}
		return pmOut{stdout: "Setting up ...\n"}, nil
	case "dpkg-query":
		var b strings.Builder
		exit := 0
		for _, p := range c.argv[4:] {
			if v, ok := f.installed[p]; ok {
				b.WriteString(p + "\t" + p + "\t" + v + "\tii \n")
			} else {
				exit = 1
			}
		}
		return pmOut{stdout: b.String(), exit: exit}, nil
	case "dpkg":
		// --compare-versions A ge B on the fake's simple versions
		if c.argv[2] >= c.argv[4] {
			return pmOut{}, nil
		}
		return pmOut{exit: 1}, nil
	}
	return pmOut{}, errors.New("unexpected " + c.String())
}

func aptUpdates(names ...string) []core.Update {
	var us []core.Update
	for _, n := range names {
		us = append(us, core.Update{Key: core.UpdateKey(core.SourceApt, n, "2"), Source: core.SourceApt, ID: n, Version: "2", Installed: "1", Title: n})
	}
	return us
}

func TestAptInstall(t *testing.T) {
	dir := t.TempDir()
	pkgs := filepath.Join(dir, "reboot-required.pkgs")
	os.WriteFile(pkgs, []byte("b\n"), 0o644)
	newFake := func() *fakeApt {
		return &fakeApt{installed: map[string]string{"a": "1", "b": "1", "c": "1"}, offered: map[string]string{"a": "2", "b": "2", "c": "2"}}
	}
	t.Run("all", func(t *testing.T) {
		f := newFake()
		a := &Apt{run: f.run, RebootPkgs: pkgs}
		var progressed []string
		rs, err := a.Install(t.Context(), aptUpdates("a", "b"), func(r Result) { progressed = append(progressed, r.Key) })
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2 || !rs[0].OK || !rs[1].OK || rs[0].RebootNeeded || !rs[1].RebootNeeded || len(progressed) != 2 {
			t.Fatalf("%+v", rs)
		}
		install := f.calls[1]
		if !slices.Contains(install, "--only-upgrade") || !slices.Contains(install, "Dpkg::Options::=--force-confold") || !slices.Contains(install, "a=2") {
			t.Errorf("apt-get call %q", install)
		}
	})
	t.Run("lock", func(t *testing.T) {
		f := newFake()
		f.lock = true
		rs, err := (&Apt{run: f.run}).Install(t.Context(), aptUpdates("a"), nil)
		var te *ToolError
		if !errors.Is(err, ErrBusy) || rs != nil || !errors.As(err, &te) || !strings.Contains(te.Text.DE, "Sperre") {
			t.Fatalf("%v, %+v", err, rs)
		}
	})
	t.Run("exit 0 but nothing installed", func(t *testing.T) {
		f := newFake()
		f.lie = true
		rs, err := (&Apt{run: f.run}).Install(t.Context(), aptUpdates("a"), nil)
		if err != nil || len(rs) != 1 || rs[0].OK || !strings.Contains(rs[0].Message.EN, "dpkg reports a as 1") {
			t.Fatalf("%v, %+v", err, rs)
		}
	})
	t.Run("one gone from the archive", func(t *testing.T) {
		f := newFake()
		f.offered["b"] = "3" // the scanned version 2 is gone
		rs, err := (&Apt{run: f.run}).Install(t.Context(), aptUpdates("a", "b", "c"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !rs[0].OK || rs[1].OK || !rs[2].OK || !strings.Contains(rs[1].Message.EN, "no longer offered") || rs[1].Code != "apt-get exit 100" {
			t.Fatalf("%+v", rs)
		}
	})
	t.Run("broken postinst", func(t *testing.T) {
		f := newFake()
		f.broken = map[string]bool{"c": true}
		rs, err := (&Apt{run: f.run}).Install(t.Context(), aptUpdates("a", "c"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !rs[0].OK || rs[1].OK || !strings.Contains(rs[1].Message.EN, "dpkg failed") || !strings.Contains(rs[1].Output, "post-installation script") {
			t.Fatalf("%+v", rs)
		}
	})
}

func TestAptScanErrors(t *testing.T) {
	for name, c := range map[string]struct {
		update pmOut
		want   error
		words  string
	}{
		"lock":     {pmOut{exit: 100, stderr: "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 99 (apt-get)\n"}, ErrBusy, "lock"},
		"disk":     {pmOut{exit: 100, stderr: "E: Write error - write (28: No space left on device)\n"}, ErrDiskFull, "disk space"},
		"fetch":    {pmOut{exit: 0, stdout: "Err:1 http://deb.example bookworm InRelease\n", stderr: "W: Failed to fetch http://deb.example/dists/bookworm/InRelease  Temporary failure resolving 'deb.example'\nW: Some index files failed to download. They have been ignored, or old ones used instead.\n"}, nil, "could not be reached"},
		"no reply": {pmOut{exit: 1, stderr: "something odd\n"}, nil, "something odd"},
	} {
		t.Run(name, func(t *testing.T) {
			run := func(_ context.Context, cmd pmCmd) (pmOut, error) {
				if slices.Contains(cmd.argv, "update") {
					return c.update, nil
				}
				t.Fatalf("ran %s after a failed update", cmd)
				return pmOut{}, nil
			}
			us, err := (&Apt{run: run}).Scan(t.Context())
			if err == nil || us != nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.words) {
				t.Fatalf("%v, %v", us, err)
			}
		})
	}
}

func TestOutputTailBounded(t *testing.T) {
	long := strings.Repeat("ä", protocol.MaxPackageOutput) + "Ende"
	got := outputTail(long)
	if len(got) > protocol.MaxPackageOutput+40 || !strings.HasSuffix(got, "Ende") || !strings.HasPrefix(got, "[… output cut") {
		t.Fatalf("%d bytes: %q…", len(got), got[:40])
	}
}

func TestParseAptSimulationTestRepo(t *testing.T) {
	for _, name := range []string{"apt-dist-upgrade-testrepo.txt", "apt-dist-upgrade-norelease.txt"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		us, err := ParseAptSimulation(string(b))
		if err != nil || len(us) != 2 || us[0].Classification != core.ClassUpdate || us[1].Classification != core.ClassSecurity ||
			us[0].Installed != "1.0-1" || us[0].Version != "2.0-1" {
			t.Fatalf("%s: %+v, %v", name, us, err)
		}
	}
}

// BenchmarkParseAptSimulation parses the captured 113-upgrade simulation.
func BenchmarkParseAptSimulation(b *testing.B) {
	out, err := os.ReadFile("testdata/apt-dist-upgrade-bookworm.txt")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if us, err := ParseAptSimulation(string(out)); err != nil || len(us) != 113 {
			b.Fatal(len(us), err)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := fmt.Errorf("scan: %w", aptStop(pmOut{exit: 100, stderr: "E: Could not get lock /var/lib/dpkg/lock-frontend.\n"}))
	if txt := ErrorText(err); !errors.Is(err, ErrBusy) || !strings.Contains(txt.DE, "Sperre") || !strings.Contains(txt.EN, "lock") {
		t.Fatalf("%+v", txt)
	}
	if txt := ErrorText(errors.New("plain")); txt.EN != "plain" || txt.DE != "plain" {
		t.Fatalf("%+v", txt)
	}
}
