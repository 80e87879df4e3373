package updates

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
)

// aptInside tells the copy of this test binary that runs inside the
// container to do the agent's part.
const aptInside = "WACHT_UPDATES_APT_INSIDE"

// TestAptSourceInContainer patches a booted Debian container for real
// (systemdtest; its root is a throw-away overlay, the test machine's
// packages stay untouched). On the host the test builds two versions of
// two packages with dpkg-deb and two flat repositories of the new ones
// with apt-ftparchive: "wacht-updates" (no Release file) and
// "wacht-security", whose Release file carries the Label and Suite of
// Debian's security archive. In the container it installs the old
// versions with dpkg -i and makes the two repositories its only apt
// sources. The agent's part runs inside, where apt-get is the container's:
// this test binary, copied in, runs the same test with
// WACHT_UPDATES_APT_INSIDE=1.
func TestAptSourceInContainer(t *testing.T) {
	if os.Getenv(aptInside) == "1" {
		aptInsideContainer(t)
		return
	}
	if !systemdtest.Run(t) {
		return
	}
	if _, err := exec.LookPath("apt-ftparchive"); err != nil {
		t.Fatal("apt-ftparchive is missing (apt-get install apt-utils)")
	}
	root := systemdtest.Root()
	run := func(env []string, args ...string) string { t.Helper(); return systemdtest.Inside(t, env, args...) }
	write := func(path string, b []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The repositories are made here and copied in.
	repos := map[string]struct {
		pkg   string
		label string
		suite string
	}{
		// No Release file: a flat repository as simple as they come.
		"wacht-updates":  {"wacht-patchtest", "", ""},
		"wacht-security": {"wacht-sectest", "Debian-Security", "stable-security"},
	}
	var sources strings.Builder
	for repo, r := range repos {
		dir := filepath.Join(t.TempDir(), repo)
		os.MkdirAll(dir, 0o755)
		write(filepath.Join(dir, r.pkg+"_2.0-1_all.deb"), systemdtest.BuildDeb(t, r.pkg, "2.0-1", nil))
		index, err := exec.Command("apt-ftparchive", "packages", dir).Output()
		if err != nil || !strings.Contains(string(index), "Package: "+r.pkg) {
			t.Fatalf("apt-ftparchive packages: %v\n%s", err, index)
		}
		// Filename: paths relative to the flat repository.
		index = []byte(strings.ReplaceAll(string(index), "Filename: "+dir+"/", "Filename: ./"))
		write(filepath.Join(dir, "Packages"), index)
		files := []string{r.pkg + "_2.0-1_all.deb", "Packages"}
		if r.label != "" {
			files = append(files, "Release")
		}
		release, err := exec.Command("apt-ftparchive", "-o", "APT::FTPArchive::Release::Origin=Wacht test",
			"-o", "APT::FTPArchive::Release::Label="+r.label, "-o", "APT::FTPArchive::Release::Suite="+r.suite,
			"-o", "APT::FTPArchive::Release::Version=12", "release", dir).Output()
		if err != nil {
			t.Fatalf("apt-ftparchive release: %v", err)
		}
		write(filepath.Join(dir, "Release"), release)
		for _, name := range files {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			write(filepath.Join(root, "var/tmp", repo, name), b)
		}
		write(filepath.Join(root, "var/tmp/old", r.pkg+"_1.0-1_all.deb"), systemdtest.BuildDeb(t, r.pkg, "1.0-1", nil))
		sources.WriteString("deb [trusted=yes] file:/var/tmp/" + repo + " ./\n")
	}
	// Only the test's repositories: no network, and nothing else to upgrade.
	write(filepath.Join(root, "etc/apt/sources.list"), nil)
	if ents, err := os.ReadDir(filepath.Join(root, "etc/apt/sources.list.d")); err == nil {
		for _, e := range ents {
			os.Remove(filepath.Join(root, "etc/apt/sources.list.d", e.Name()))
		}
	}
	write(filepath.Join(root, "etc/apt/sources.list.d/wacht-test.list"), []byte(sources.String()))
	run(nil, "dpkg", "-i", "/var/tmp/old/wacht-patchtest_1.0-1_all.deb", "/var/tmp/old/wacht-sectest_1.0-1_all.deb")
	// The agent's part, inside.
	self, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(root, "var/tmp/updates.test"), self)
	os.Chmod(filepath.Join(root, "var/tmp/updates.test"), 0o755)
	out := run([]string{aptInside + "=1"}, "/var/tmp/updates.test", "-test.run", "^TestAptSourceInContainer$", "-test.v", "-test.count=1")
	t.Logf("inside the container:\n%s", out)
	if !strings.Contains(out, "--- PASS: TestAptSourceInContainer") {
		t.Fatal("the agent's part did not pass inside the container")
	}
	if v := run(nil, "dpkg-query", "-W", "-f=${Version}", "wacht-patchtest"); v != "2.0-1" {
		t.Fatalf("after the test dpkg says %q", v)
	}
}

// aptInsideContainer is the agent inside the container: the apt source's
// scan, a held lock, the install, the rescan and the restart flag, all
// through the real apt-get and dpkg.
func aptInsideContainer(t *testing.T) {
	if _, err := os.Stat("/var/tmp/wacht-security/Packages"); err != nil {
		t.Fatalf("not inside the test's container: %v", err)
	}
	srcs := Sources(Options{})
	if len(srcs) != 1 || srcs[0].Name() != core.SourceApt {
		t.Fatalf("sources %v, want apt alone", srcs)
	}
	a := srcs[0]
	if st := RebootPending(t.Context()); st.Pending || st.Error != "" {
		t.Fatalf("restart pending before anything: %+v", st)
	}
	us, err := a.Scan(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]core.Update{}
	for _, u := range us {
		byID[u.ID] = u
	}
	if len(us) != 2 {
		t.Fatalf("scan found %+v, want the two test packages", us)
	}
	for id, class := range map[string]string{"wacht-patchtest": core.ClassUpdate, "wacht-sectest": core.ClassSecurity} {
		u := byID[id]
		if u.Installed != "1.0-1" || u.Version != "2.0-1" || u.Classification != class || u.Key != "apt:"+id+"@2.0-1" {
			t.Errorf("%s: %+v, want 1.0-1 → 2.0-1 as %s", id, u, class)
		}
	}
	// What apt-get printed, for the record (testdata/README.md).
	sim, _ := exec.Command("apt-get", "-s", "-o", "Debug::NoLocking=1", "dist-upgrade").CombinedOutput()
	t.Logf("apt-get -s dist-upgrade:\n%s", sim)

	// dpkg's frontend lock held, the way apt holds it (fcntl), by this
	// process: apt-get in a child process cannot take it.
	unlock := fcntlLock(t, "/var/lib/dpkg/lock-frontend")
	rs, err := a.Install(t.Context(), us, nil)
	var te *ToolError
	if !errors.Is(err, ErrBusy) || rs != nil || !errors.As(err, &te) || te.Text.DE == "" {
		t.Fatalf("install under a held lock: %+v, %v", rs, err)
	}
	t.Logf("under the lock: %v", err)
	unlock()
	// The lists' lock held: the scan is busy too.
	unlock = fcntlLock(t, "/var/lib/apt/lists/lock")
	if _, err := a.Scan(t.Context()); !errors.Is(err, ErrBusy) {
		t.Fatalf("scan under the lists' lock: %v", err)
	}
	unlock()

	var progressed []Result
	rs, err = a.Install(t.Context(), us, func(r Result) { progressed = append(progressed, r) })
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || len(progressed) != 2 {
		t.Fatalf("results %+v", rs)
	}
	for _, r := range rs {
		if !r.OK || r.Code != "apt-get exit 0" || r.Message.EN == "" || r.Message.DE == "" || !strings.Contains(r.Output, "Setting up") {
			t.Errorf("result %+v", r)
		}
	}
	for _, id := range []string{"wacht-patchtest", "wacht-sectest"} {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Version} ${Status}", id).CombinedOutput(); err != nil || string(out) != "2.0-1 install ok installed" {
			t.Fatalf("dpkg says %s is %q, %v", id, out, err)
		}
		if b, err := os.ReadFile("/usr/share/" + id + "/VERSION"); err != nil || string(b) != "2.0\n" {
			t.Fatalf("%s's file: %q, %v", id, b, err)
		}
	}
	if us, err := a.Scan(t.Context()); err != nil || len(us) != 0 {
		t.Fatalf("rescan: %+v, %v", us, err)
	}
	// A package asks for a restart the Debian way.
	os.WriteFile("/var/run/reboot-required", []byte("*** System restart required ***\n"), 0o644)
	os.WriteFile("/var/run/reboot-required.pkgs", []byte("wacht-sectest\n"), 0o644)
	st := RebootPending(t.Context())
	if !st.Pending || st.Since.IsZero() || len(st.Reasons) != 1 || st.Reasons[0] != "/var/run/reboot-required (wacht-sectest)" {
		t.Fatalf("restart state %+v", st)
	}
}

// fcntlLock takes a write lock on path as apt and dpkg do, and returns its
// release.
func fcntlLock(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lk); err != nil {
		t.Fatalf("locking %s: %v", path, err)
	}
	return func() { f.Close() }
}
