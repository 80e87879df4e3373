package updates

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseDnfCheckUpdateTranscribed(t *testing.T) {
	got := ParseDnfCheckUpdate(readTestdata(t, "dnf4-list-updates-fedora33.txt"))
	want := []DnfPackage{{"fedora-gpg-keys", "noarch", "33-4", "updates"}, {"fedora-repos", "noarch", "33-4", "updates"},
		{"fedora-repos-modular", "noarch", "33-4", "updates"}}
	if !slices.Equal(got, want) {
		t.Fatalf("%+v", got)
	}
}

// TestParseDnfCheckUpdateShapes: lines written after dnf's format, not
// captured: a wrapped long name, an epoch, dnf 5's headers, the obsoletes
// section (not updates), and the security notice dnf 4 prints.
func TestParseDnfCheckUpdateShapes(t *testing.T) {
	out := strings.Join([]string{
		"Updating and loading repositories:",
		"Repositories loaded.",
		"",
		"NetworkManager.x86_64                1:1.54.3-3.fc43            updates",
		"python3-setuptools-wheel.noarch",
		"                                     59.6.0-4.fc38                  updates",
		"Security: kernel-core-6.5.5-200.fc38.x86_64 is an installed security update",
		"Obsoleting Packages",
		"grub2-tools.x86_64                   1:2.06-100.fc38                updates",
		"    grub2-tools.x86_64               1:2.06-99.fc38                 @updates",
	}, "\n")
	got := ParseDnfCheckUpdate(out)
	want := []DnfPackage{{"NetworkManager", "x86_64", "1:1.54.3-3.fc43", "updates"}, {"python3-setuptools-wheel", "noarch", "59.6.0-4.fc38", "updates"}}
	if !slices.Equal(got, want) {
		t.Fatalf("%+v", got)
	}
}

func TestParseDnfUpdateinfoTranscribed(t *testing.T) {
	as := ParseDnfUpdateinfo(readTestdata(t, "dnf4-updateinfo-security-fedora34.txt"))
	if len(as) != 16 {
		t.Fatalf("%d advisories: %+v", len(as), as)
	}
	if as[1] != (DnfAdvisory{"FEDORA-2021-08cdb4dc34", core.SeverityImportant, "dhcp-client-12:4.4.2-11.b1.fc34.x86_64"}) ||
		as[7].Severity != core.SeverityCritical || as[8].Severity != core.SeverityLow {
		t.Fatalf("%+v", as)
	}
	for nevra, name := range map[string]string{"dhcp-client-12:4.4.2-11.b1.fc34.x86_64": "dhcp-client", "polkit-libs-0.117-3.fc34.1.x86_64": "polkit-libs",
		"linux-firmware-whence-20210716-121.fc34.noarch": "linux-firmware-whence", "openssl-libs-1:3.5.9-1.fc44.x86_64": "openssl-libs", "junk": ""} {
		if got := nevraName(nevra); got != name {
			t.Errorf("nevraName(%q) = %q, want %q", nevra, got, name)
		}
	}
	as = ParseDnfUpdateinfo(readTestdata(t, "dnf5-advisory-security-ci.txt"))
	if len(as) != 1 || as[0] != (DnfAdvisory{"FEDORA-2018-318f184113", core.SeverityModerate, "CQRlib-1.1.2-16.fc29.x86_64"}) {
		t.Fatalf("dnf 5: %+v", as)
	}
	// --with-cve without --security lists bugfixes too: none is security.
	if as := ParseDnfUpdateinfo(readTestdata(t, "dnf5-advisory-with-cve-ci.txt")); len(as) != 0 {
		t.Fatalf("with-cve bugfixes: %+v", as)
	}
}

func TestRpmVerCmp(t *testing.T) {
	// Cases after rpm's own rpmvercmp tests (tests/rpmvercmp.at), checked by hand.
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0}, {"1.0", "2.0", -1}, {"2.0", "1.0", 1}, {"2.0.1", "2.0.1", 0}, {"2.0", "2.0.1", -1},
		{"2.0.1a", "2.0.1", 1}, {"5.5p1", "5.5p2", -1}, {"5.5p10", "5.5p1", 1}, {"10xyz", "10.1xyz", -1},
		{"xyz10", "xyz10.1", -1}, {"xyz.4", "8", -1}, {"8", "xyz.4", 1}, {"1.0010", "1.9", 1}, {"1.05", "1.5", 0},
		{"1.0~rc1", "1.0", -1}, {"1.0~rc1", "1.0~rc2", -1}, {"1.0~rc1~git123", "1.0~rc1", -1},
		{"1.0^", "1.0", 1}, {"1.0^git1", "1.0.1", -1}, {"1.0^git1~pre", "1.0^git1", -1}, {"a", "1", -1}, {"2a", "2.0", -1},
	} {
		if got := rpmVerCmp(c.a, c.b); got != c.want {
			t.Errorf("rpmVerCmp(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if evrCmp("1:1.0-1", "2.0-1") != 1 || evrCmp("3.0.7-24.el9", "3.0.7-25.el9") != -1 || evrCmp("0:1.2-3", "1.2-3") != 0 {
		t.Error("evrCmp")
	}
}

// fakeDnf is a small Fedora: check-update, updateinfo and upgrade change
// what rpm -q reports.
type fakeDnf struct {
	installed map[string]string
	offered   map[string]string
	exit      int // of check-update when not 100/0 by content
	lock      bool
}

func (f *fakeDnf) run(_ context.Context, c pmCmd) (pmOut, error) {
	switch {
	case c.argv[0] == "/usr/bin/rpm":
		var b strings.Builder
		for _, n := range c.argv[5:] {
			if v, ok := f.installed[n]; ok {
				b.WriteString(n + "\tx86_64\t" + v + "\n")
			}
		}
		return pmOut{stdout: b.String()}, nil
	case slices.Contains(c.argv, "check-update"):
		if f.exit != 0 {
			return pmOut{exit: f.exit, stderr: "Error: Failed to download metadata for repo 'updates': Cannot download repomd.xml: Curl error (6): Couldn't resolve host name\n"}, nil
		}
		var b strings.Builder
		for n, v := range f.offered {
			if f.installed[n] != v {
				b.WriteString(n + ".x86_64    " + v + "    updates\n")
			}
		}
		if b.Len() == 0 {
			return pmOut{}, nil
		}
		return pmOut{exit: 100, stdout: "Last metadata expiration check: 0:00:01 ago.\n" + b.String()}, nil
	case slices.Contains(c.argv, "--with-cve"):
		return pmOut{stdout: "CVE-2024-0001 Important/Sec. openssl-libs-3.0.7-25.el9.x86_64\n"}, nil
	case slices.Contains(c.argv, "updateinfo"):
		return pmOut{stdout: "RHSA-2024:0001 Important/Sec. openssl-libs-3.0.7-25.el9.x86_64\n"}, nil
	case slices.Contains(c.argv, "upgrade"):
		if f.lock {
			return pmOut{exit: 200, stderr: "Error: Failed to obtain the transaction lock (logged in as: root).\n"}, nil
		}
		for _, spec := range c.argv[3:] {
			for n, v := range f.offered {
				if spec == n+"-"+v {
					f.installed[n] = v
				}
			}
		}
		return pmOut{stdout: "Complete!\n"}, nil
	}
	return pmOut{}, errors.New("unexpected " + c.String())
}

func TestDnfScanInstall(t *testing.T) {
	f := &fakeDnf{installed: map[string]string{"openssl-libs": "1:3.0.7-24.el9", "vim-minimal": "2:8.2-1.el9"},
		offered: map[string]string{"openssl-libs": "1:3.0.7-25.el9", "vim-minimal": "2:8.2-2.el9"}}
	d := &Dnf{run: f.run, Bin: "/usr/bin/dnf", Rpm: "/usr/bin/rpm"}
	us, err := d.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(us, func(a, b core.Update) int { return strings.Compare(a.ID, b.ID) })
	if len(us) != 2 || us[0].Classification != core.ClassSecurity || us[0].Severity != core.SeverityImportant ||
		us[0].Installed != "1:3.0.7-24.el9" || us[0].URL != "https://access.redhat.com/errata/RHSA-2024:0001" ||
		!slices.Equal(us[0].CVEs, []string{"CVE-2024-0001"}) || us[1].Classification != core.ClassUpdate || us[1].Key != "dnf:vim-minimal@2:8.2-2.el9" {
		t.Fatalf("%+v", us)
	}
	f.lock = true
	if _, err := d.Install(t.Context(), us, nil); !errors.Is(err, ErrBusy) {
		t.Fatalf("under a lock: %v", err)
	}
	f.lock = false
	rs, err := d.Install(t.Context(), us, nil)
	if err != nil || len(rs) != 2 || !rs[0].OK || !rs[1].OK || rs[0].Code != "dnf exit 0" {
		t.Fatalf("%+v, %v", rs, err)
	}
	if us, err := d.Scan(t.Context()); err != nil || len(us) != 0 {
		t.Fatalf("rescan: %+v, %v", us, err)
	}
	// yum 3 knows no --refresh.
	var argv []string
	y := &Dnf{run: func(ctx context.Context, c pmCmd) (pmOut, error) {
		if slices.Contains(c.argv, "check-update") {
			argv = c.argv
		}
		return f.run(ctx, c)
	}, Bin: "/usr/bin/yum", Rpm: "/usr/bin/rpm"}
	if _, err := y.Scan(t.Context()); err != nil || slices.Contains(argv, "--refresh") || len(argv) != 2 {
		t.Fatalf("yum: %q, %v", argv, err)
	}
	f.exit = 1
	_, err = d.Scan(t.Context())
	var te *ToolError
	if err == nil || !errors.As(err, &te) || !strings.Contains(te.Text.EN, "could not be reached") || !strings.Contains(te.Text.DE, "nicht erreichbar") {
		t.Fatalf("offline scan: %v", err)
	}
}
