package agent

import (
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/swdetect"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// aptInside tells the copy of this test binary that runs inside the
// container to do the agent's part.
const aptInside = "WACHT_APT_INSIDE"

// TestInstallAptRepoInContainer installs a package by name from a local
// apt repository with the agent's apt kind, inside a booted Debian
// container (systemdtest; its root is a throw-away overlay). On the host
// the test builds a .deb with dpkg-deb and a repository of it with
// dpkg-scanpackages in the container's /var/tmp, adds it as a
// `[trusted=yes] file:` source and reads it with apt-get update (that
// source only: no network). The agent's part runs inside, where apt-get
// is the container's: this test binary, copied in, runs the same test
// with WACHT_APT_INSIDE=1, which installs the package through the real
// apt-get, sees the os_package rule (dpkg-query) confirm version 2.0-1,
// and removes it again.
func TestInstallAptRepoInContainer(t *testing.T) {
	if os.Getenv(aptInside) == "1" {
		installAptInside(t)
		return
	}
	if !systemdtest.Run(t) {
		return
	}
	if _, err := exec.LookPath("dpkg-scanpackages"); err != nil {
		t.Fatal("dpkg-scanpackages is missing (apt-get install dpkg-dev)")
	}
	root := systemdtest.Root()
	run := func(env []string, args ...string) string { t.Helper(); return systemdtest.Inside(t, env, args...) }
	// The repository is made here and copied in: one .deb and its index.
	build := t.TempDir()
	deb := "wacht-apttest_2.0-1_all.deb"
	if err := os.WriteFile(filepath.Join(build, deb), systemdtest.BuildDeb(t, "wacht-apttest", "2.0-1", nil), 0o644); err != nil {
		t.Fatal(err)
	}
	scan := exec.Command("dpkg-scanpackages", "--multiversion", ".", "/dev/null")
	scan.Dir = build
	index, err := scan.Output()
	if err != nil || !strings.Contains(string(index), "Package: wacht-apttest") {
		t.Fatalf("dpkg-scanpackages: %v\n%s", err, index)
	}
	os.WriteFile(filepath.Join(build, "Packages"), index, 0o644)
	repo := filepath.Join(root, "var/tmp/wacht-repo")
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{deb, "Packages"} {
		b, err := os.ReadFile(filepath.Join(build, name))
		if err == nil {
			err = os.WriteFile(filepath.Join(repo, name), b, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	source := filepath.Join(root, "etc/apt/sources.list.d/wacht-test.list")
	if err := os.WriteFile(source, []byte("deb [trusted=yes] file:/var/tmp/wacht-repo ./\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run(nil, "apt-get", "update", "-q", "-o", "Dir::Etc::sourcelist=sources.list.d/wacht-test.list",
		"-o", "Dir::Etc::sourceparts=-", "-o", "APT::Get::List-Cleanup=0")
	if out := run(nil, "apt-cache", "policy", "wacht-apttest"); !strings.Contains(out, "Candidate: 2.0-1") {
		t.Fatalf("apt does not offer the package:\n%s", out)
	}
	// The agent's part, inside.
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "var/tmp/agent.test"), self, 0o755); err != nil {
		t.Fatal(err)
	}
	out := run([]string{aptInside + "=1"}, "/var/tmp/agent.test", "-test.run", "^TestInstallAptRepoInContainer$", "-test.v", "-test.count=1")
	t.Logf("inside the container:\n%s", out)
	if !strings.Contains(out, "--- PASS: TestInstallAptRepoInContainer") {
		t.Fatal("the agent's part did not pass inside the container")
	}
	if st, _ := systemdtest.Command(t, nil, "dpkg-query", "-W", "-f=${Status}", "wacht-apttest").CombinedOutput(); strings.Contains(string(st), "install ok installed") {
		t.Fatalf("still installed after the removal: %q", st)
	}
}

// installAptInside is the agent inside the container: the apt kind's
// install and removal through the real apt-get, judged by the os_package
// rule.
func installAptInside(t *testing.T) {
	if _, err := os.Stat("/var/tmp/wacht-repo/Packages"); err != nil {
		t.Fatalf("not inside the test's container: %v", err)
	}
	dir := t.TempDir()
	r := &scriptRunner{dir: filepath.Join(dir, scriptsDir), log: slog.New(slog.DiscardHandler), running: map[string]bool{}}
	d := &Downloader{Dir: filepath.Join(dir, downloadsDir)} // unused: a package manager downloads itself
	pa := protocol.PackageArgs{RunID: "apt-1", PackageID: 2, Name: "wacht-apttest", Version: "2.0-1", Kind: core.PkgApt, ManagerID: "wacht-apttest",
		Detection: core.Detection{Kind: core.DetectOSPackage, Name: "wacht-apttest", MinVersion: "2.0"}}
	if err := pa.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := r.runPackage(t.Context(), d, pa, false)
	if err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateInstalled || res.Version != "2.0-1" {
		t.Fatalf("install: %+v, %v", res, err)
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Version} ${Status}", "wacht-apttest").CombinedOutput(); err != nil || string(out) != "2.0-1 install ok installed" {
		t.Fatalf("dpkg says %q, %v", out, err)
	}
	if b, err := os.ReadFile("/usr/share/wacht-apttest/VERSION"); err != nil || string(b) != "2.0\n" {
		t.Fatalf("the package's file: %q, %v", b, err)
	}
	un := pa
	un.RunID = "apt-2"
	if res, err := r.runPackage(t.Context(), d, un, true); err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateAbsent {
		t.Fatalf("remove: %+v, %v", res, err)
	}
}
