package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/installer"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
)

// buildAgentDeb builds the real .deb of this test's agent binary with the
// installer package (what make dist does) and copies it into the booted
// container's /root; it returns the path inside the container.
func buildAgentDeb(t *testing.T, version string) string {
	t.Helper()
	return buildDebOf(t, filepath.Join(binDir, "wacht-agent"), version)
}

// buildDebOf is buildAgentDeb of the agent executable at path.
func buildDebOf(t *testing.T, path, version string) string {
	t.Helper()
	dist := t.TempDir()
	agent, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dist, "wacht-agent-linux-"+runtime.GOARCH), agent, 0o755); err != nil {
		t.Fatal(err)
	}
	built, err := installer.Linux(installer.Options{Dist: dist, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range built {
		if b.Kind != "deb" {
			continue
		}
		deb, err := os.ReadFile(b.Path)
		if err != nil {
			t.Fatal(err)
		}
		inside := "/root/" + filepath.Base(b.Path)
		if err := os.WriteFile(filepath.Join(systemdtest.Root(), inside), deb, 0o644); err != nil {
			t.Fatal(err)
		}
		return inside
	}
	t.Fatalf("no .deb built: %+v", built)
	return ""
}

// rootFiles lists every path on the container's root file system except
// what changes by itself or is the package manager's own bookkeeping.
func rootFiles(t *testing.T) []string {
	t.Helper()
	out := systemdtest.Inside(t, nil, "find", "/", "-xdev")
	var files []string
	for _, p := range strings.Split(strings.TrimSpace(out), "\n") {
		skip := false
		for _, pre := range []string{"/var/lib/dpkg/", "/var/log/", "/var/cache/", "/var/lib/systemd/", "/var/tmp/"} {
			if strings.HasPrefix(p, pre) {
				skip = true
			}
		}
		if !skip {
			files = append(files, p)
		}
	}
	slices.Sort(files)
	return files
}

func diff(a, b []string) (onlyA, onlyB []string) {
	for _, x := range a {
		if _, ok := slices.BinarySearch(b, x); !ok {
			onlyA = append(onlyA, x)
		}
	}
	for _, x := range b {
		if _, ok := slices.BinarySearch(a, x); !ok {
			onlyB = append(onlyB, x)
		}
	}
	return onlyA, onlyB
}

func unitState(t *testing.T, what string) string {
	t.Helper()
	out, _ := systemdtest.Command(t, nil, "systemctl", what, "wacht-agent.service").CombinedOutput()
	return strings.TrimSpace(string(out))
}

func mainPID(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(systemdtest.Inside(t, nil, "systemctl", "show", "-p", "MainPID", "--value", "wacht-agent.service"))
}

// TestDebInSystemdContainer installs the real .deb with dpkg in a booted
// Debian container (systemdtest; its root is a throw-away overlay and it
// shares this machine's network, so the agent inside reaches the real
// wacht serve started here on 127.0.0.1): an expired token fails visibly
// and leaves the unit disabled; a good token from /etc/wacht-agent/token
// enrolls, enables and starts the unit and the file is deleted; the device
// is online on the server; kill -9 of the agent is restarted by systemd;
// an upgrade keeps the enrollment and restarts the service; dpkg --purge
// leaves no file behind; and `wacht-agent install`/`uninstall` register
// and remove a real unit.
func TestDebInSystemdContainer(t *testing.T) {
	if !systemdtest.Run(t) {
		return
	}
	e := newEnv(t)
	deb := buildAgentDeb(t, "0.1.0")
	deb2 := buildAgentDeb(t, "0.2.0")
	before := rootFiles(t)

	// 1. An expired token: dpkg installs the package, the enrollment fails
	// with the agent's reason, the unit stays disabled and inactive.
	expired := e.token("--expires", "1ms")
	time.Sleep(20 * time.Millisecond)
	out, err := systemdtest.Command(t, []string{"WACHT_TOKEN=" + expired}, "dpkg", "-i", deb).CombinedOutput()
	t.Logf("dpkg -i with an expired token: %v\n%s", err, out)
	if err != nil {
		t.Fatalf("dpkg -i with an expired token failed: the package must stay installed")
	}
	if !strings.Contains(string(out), "ENROLLMENT FAILED") || !strings.Contains(strings.ToLower(string(out)), "expired") {
		t.Errorf("dpkg -i with an expired token does not say that enrollment failed because the token expired:\n%s", out)
	}
	if s := unitState(t, "is-enabled"); s != "disabled" {
		t.Errorf("after a failed enrollment the unit is %q, want disabled", s)
	}
	if s := unitState(t, "is-active"); s == "active" {
		t.Errorf("after a failed enrollment the unit is active")
	}
	if st := systemdtest.Inside(t, nil, "dpkg-query", "-W", "-f=${Status}", "wacht-agent"); st != "install ok installed" {
		t.Errorf("package state %q after a failed enrollment", st)
	}

	// 2. A good token in /etc/wacht-agent/token; dpkg -i again (a
	// reinstall of the unenrolled package).
	tok := e.token()
	systemdtest.Inside(t, nil, "sh", "-c", `mkdir -p /etc/wacht-agent && printf '%s\n' "$1" > /etc/wacht-agent/token`, "sh", tok)
	out = []byte(systemdtest.Inside(t, nil, "dpkg", "-i", deb))
	t.Logf("dpkg -i with a token file:\n%s", out)
	if s := unitState(t, "is-enabled"); s != "enabled" {
		t.Errorf("unit is %q, want enabled", s)
	}
	waitFor(t, "the unit to be active", time.Minute, func() bool { return unitState(t, "is-active") == "active" })
	if _, err := os.Stat(filepath.Join(systemdtest.Root(), "etc/wacht-agent/token")); !os.IsNotExist(err) {
		t.Errorf("the token file is still there after enrolling: %v", err)
	}
	var devices []apiDevice
	waitFor(t, "the container's device online on the server", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	if devices[0].Hostname != "sysd-test" {
		t.Errorf("device hostname %q, want the container's sysd-test", devices[0].Hostname)
	}
	id := devices[0].ID

	// 3. kill -9 of the agent: systemd starts a new one.
	pid := mainPID(t)
	if pid == "" || pid == "0" {
		t.Fatalf("no main PID: %q", pid)
	}
	systemdtest.Inside(t, nil, "sh", "-c", `kill -9 "$1"`, "sh", pid)
	var newPID string
	waitFor(t, "systemd to restart the killed agent", time.Minute, func() bool {
		newPID = mainPID(t)
		return newPID != pid && newPID != "0" && newPID != "" && unitState(t, "is-active") == "active"
	})
	t.Logf("agent PID %s killed, systemd started PID %s", pid, newPID)
	waitFor(t, "the restarted agent online", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})

	// 4. An upgrade keeps the enrollment and restarts the service.
	out = []byte(systemdtest.Inside(t, nil, "dpkg", "-i", deb2))
	t.Logf("upgrade:\n%s", out)
	if v := systemdtest.Inside(t, nil, "dpkg-query", "-W", "-f=${Version}", "wacht-agent"); v != "0.2.0" {
		t.Errorf("version %q after the upgrade", v)
	}
	if p := mainPID(t); p == newPID {
		t.Errorf("the upgrade did not restart the agent (PID %s)", p)
	}
	waitFor(t, "the upgraded agent online as the same device", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online && devices[0].ID == id && unitState(t, "is-active") == "active"
	})

	// 5. dpkg --purge leaves nothing behind.
	out = []byte(systemdtest.Inside(t, nil, "dpkg", "--purge", "wacht-agent"))
	t.Logf("purge:\n%s", out)
	if s := unitState(t, "is-active"); s == "active" {
		t.Error("the unit is still active after the purge")
	}
	for _, p := range []string{"var/lib/wacht-agent", "etc/wacht-agent", "usr/bin/wacht-agent", "usr/lib/systemd/system/wacht-agent.service"} {
		if _, err := os.Lstat(filepath.Join(systemdtest.Root(), p)); !os.IsNotExist(err) {
			t.Errorf("/%s is still there after the purge: %v", p, err)
		}
	}
	added, removed := diff(rootFiles(t), before)
	if len(added) > 0 || len(removed) > 0 {
		t.Errorf("after install and purge the file system differs:\nadded %q\nremoved %q", added, removed)
	}

	// 6. `wacht-agent install` and `uninstall` register and remove a real
	// unit (kardianos/service, /etc/systemd/system).
	bin, err := os.ReadFile(filepath.Join(binDir, "wacht-agent"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(systemdtest.Root(), "usr/local/bin/wacht-agent"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	out = []byte(systemdtest.Inside(t, nil, "wacht-agent", "install", "--token", e.token()))
	t.Logf("wacht-agent install:\n%s", out)
	if s := unitState(t, "is-enabled"); s != "enabled" {
		t.Errorf("after wacht-agent install the unit is %q, want enabled", s)
	}
	waitFor(t, "the installed unit to be active", time.Minute, func() bool { return unitState(t, "is-active") == "active" })
	if frag := strings.TrimSpace(systemdtest.Inside(t, nil, "systemctl", "show", "-p", "FragmentPath", "--value", "wacht-agent.service")); frag != "/etc/systemd/system/wacht-agent.service" {
		t.Errorf("installed unit at %q", frag)
	}
	out = []byte(systemdtest.Inside(t, nil, "wacht-agent", "uninstall", "--purge"))
	t.Logf("wacht-agent uninstall:\n%s", out)
	// list-unit-files exits with 1 when it finds nothing.
	if lf, _ := systemdtest.Command(t, nil, "systemctl", "list-unit-files", "--no-legend", "wacht-agent.service").Output(); strings.TrimSpace(string(lf)) != "" {
		t.Errorf("after wacht-agent uninstall systemd still lists %q", lf)
	}
	if s := unitState(t, "is-active"); s == "active" {
		t.Error("the unit is still active after wacht-agent uninstall")
	}
	if _, err := os.Stat(filepath.Join(systemdtest.Root(), "etc/systemd/system/wacht-agent.service")); !os.IsNotExist(err) {
		t.Errorf("the unit file is still there after wacht-agent uninstall: %v", err)
	}
}
