package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The Linux patch path for real (issue 19): a booted Debian container
// (systemdtest; its root is an overlay thrown away afterwards) with a local
// apt repository the test builds, a real `wacht serve` on the host's
// loopback (the container shares the host's network) and a real
// wacht-agent running inside the container as a systemd unit.

// demoPkgs are the test's packages: each is installed at 1.0 and the
// repository then offers 2.0.
var demoPkgs = []string{"wacht-demo-a", "wacht-demo-b"}

// container runs commands inside the booted container.
type container struct {
	t    *testing.T
	root string // the container's root folder as the host sees it
}

func bootedContainer(t *testing.T) *container {
	t.Helper()
	systemdtest.Nsenter(t) // fails t outside the booted container
	return &container{t: t, root: systemdtest.Root()}
}

// cmd builds a command that runs args inside every namespace of the
// container, as root.
func (c *container) cmd(args ...string) *exec.Cmd {
	return systemdtest.Command(c.t, []string{"DEBIAN_FRONTEND=noninteractive"}, args...)
}

// run runs args inside and returns their combined output; failing fails t.
func (c *container) run(args ...string) string {
	c.t.Helper()
	out, err := c.cmd(args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("%q in the container: %v\n%s", args, err, out)
	}
	return string(out)
}

// write writes a file inside the container.
func (c *container) write(path string, b []byte, mode os.FileMode) {
	c.t.Helper()
	full := filepath.Join(c.root, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(full, b, mode); err != nil {
		c.t.Fatal(err)
	}
}

// installed returns the installed version of a package ("" if none) as
// dpkg-query inside the container says.
func (c *container) installed(pkg string) string {
	c.t.Helper()
	out, err := c.cmd("dpkg-query", "-W", "-f=${Status}|${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	status, version, _ := strings.Cut(string(out), "|")
	if status != "install ok installed" {
		return ""
	}
	return version
}

// buildDemoDeb builds one version of a demo package with dpkg-deb into dir
// and returns the file's name. Its postinst does what Debian's kernel and
// libc packages do through update-notifier-common when withReboot: asks
// for a restart in /var/run/reboot-required.
func buildDemoDeb(t *testing.T, dir, name, version string, withReboot bool) string {
	t.Helper()
	var extra map[string]string
	if withReboot {
		extra = map[string]string{"DEBIAN/postinst": "#!/bin/sh\nset -e\nif [ \"$1\" = configure ]; then\n" +
			"\ttouch /var/run/reboot-required\n\techo " + name + " >> /var/run/reboot-required.pkgs\nfi\n"}
	}
	deb := name + "_" + version + "_all.deb"
	if err := os.WriteFile(filepath.Join(dir, deb), systemdtest.BuildDeb(t, name, version, extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return deb
}

// aptRepo is the local apt repository inside the container: a flat
// repository in /var/tmp/wacht-repo, the only apt source the container
// has (no network: the Debian mirror's source and lists are removed). It
// is indexed on the host (dpkg-scanpackages cannot walk a folder under
// /proc/PID/root) and copied in.
type aptRepo struct {
	c    *container
	host string // the repository as built on the host
}

const repoPath = "/var/tmp/wacht-repo"

func newAptRepo(t *testing.T, c *container) *aptRepo {
	t.Helper()
	r := &aptRepo{c: c, host: t.TempDir()}
	// The container's only source: apt-get update (the agent's scan may
	// run it) must reach nothing beyond the container.
	c.write("/etc/apt/sources.list", []byte("deb [trusted=yes] file:"+repoPath+" ./\n"), 0o644)
	lists, _ := filepath.Glob(filepath.Join(c.root, "var/lib/apt/lists/*_dists_*"))
	for _, l := range lists {
		os.Remove(l)
	}
	parts, _ := filepath.Glob(filepath.Join(c.root, "etc/apt/sources.list.d/*"))
	for _, p := range parts {
		os.Remove(p)
	}
	return r
}

// publish adds built .debs to the repository, indexes it with
// dpkg-scanpackages, copies it into the container and has apt read it.
func (r *aptRepo) publish(t *testing.T, build string, debs ...string) {
	t.Helper()
	for _, deb := range debs {
		b, err := os.ReadFile(filepath.Join(build, deb))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(r.host, deb), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	scan := exec.Command("dpkg-scanpackages", "--multiversion", ".", "/dev/null")
	scan.Dir = r.host
	index, err := scan.Output()
	if err != nil {
		t.Fatalf("dpkg-scanpackages: %v", err)
	}
	for _, deb := range debs {
		if !strings.Contains(string(index), "Filename: ./"+deb+"\n") {
			t.Fatalf("dpkg-scanpackages left out %s:\n%s", deb, index)
		}
	}
	if err := os.WriteFile(filepath.Join(r.host, "Packages"), index, 0o644); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(r.host)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range entries {
		b, err := os.ReadFile(filepath.Join(r.host, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		r.c.write(repoPath+"/"+f.Name(), b, 0o644)
	}
	r.c.run("apt-get", "update", "-q")
}

// localScan runs `wacht-agent updates --json` inside the container and
// decodes what it prints; it must exit with status exit.
func localScan(t *testing.T, c *container, exit int) (scan struct {
	Sources []core.PatchSourceStatus `json:"sources"`
	Missing []core.MissingUpdate     `json:"missing"`
	Reboot  core.RebootState         `json:"reboot"`
}) {
	t.Helper()
	cmd := c.cmd("/usr/local/bin/wacht-agent", "updates", "--json")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if code := cmd.ProcessState.ExitCode(); code != exit {
		t.Fatalf("wacht-agent updates --json exited %d (%v), want %d:\n%s\n%s", code, err, exit, out, stderr.String())
	}
	if err := json.Unmarshal(out, &scan); err != nil {
		t.Fatalf("wacht-agent updates --json: %v\n%s\n%s", err, out, stderr.String())
	}
	t.Logf("wacht-agent updates --json (exit %d): %s", exit, stderr.String())
	return scan
}

// agentUnit is the transient systemd unit the agent runs as.
const agentUnit = "wacht-agent-e2e.service"

// startAgentInContainer enrolls the agent copied into the container with
// tok and starts it as a systemd unit (root, as installed).
func startAgentInContainer(t *testing.T, c *container, tok string) {
	t.Helper()
	t.Logf("enroll: %s", c.run("/usr/local/bin/wacht-agent", "enroll", "--data", "/var/lib/wacht-agent", "--token", tok))
	c.run("systemd-run", "--unit="+agentUnit, "--collect", "--property=Restart=no", "--",
		"/usr/local/bin/wacht-agent", "run", "--data", "/var/lib/wacht-agent")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := c.cmd("journalctl", "-u", agentUnit, "--no-pager", "-o", "short-iso").CombinedOutput()
			t.Logf("the agent's journal in the container:\n%s", out)
		}
		c.cmd("systemctl", "stop", agentUnit).Run()
	})
}

// TestPatchLinuxInContainer patches a Linux agent end to end for real,
// from approval to verification: the agent inside the container scans the
// local repository, the technician approves both updates, the agent
// installs wacht-demo-a in the policy's window, wacht-demo-b stays back
// (the policy excludes it), the "patches" check turns ok and the restart
// the package asked for is reported.
func TestPatchLinuxInContainer(t *testing.T) {
	if !systemdtest.Run(t) {
		return
	}
	if _, err := exec.LookPath("dpkg-scanpackages"); err != nil {
		t.Fatal("dpkg-scanpackages is missing (apt-get install dpkg-dev)")
	}
	began := time.Now()
	c := bootedContainer(t)

	// The repository: 1.0 of both, installed; then 2.0 of both published.
	build := t.TempDir()
	repo := newAptRepo(t, c)
	var olds, news []string
	for _, p := range demoPkgs {
		olds = append(olds, buildDemoDeb(t, build, p, "1.0", false))
		news = append(news, buildDemoDeb(t, build, p, "2.0", p == "wacht-demo-a"))
	}
	repo.publish(t, build, olds...)
	c.run(append([]string{"apt-get", "install", "-y", "-q", "--no-install-recommends"}, demoPkgs...)...)
	for _, p := range demoPkgs {
		if v := c.installed(p); v != "1.0" {
			t.Fatalf("%s installed at %q, want 1.0", p, v)
		}
	}
	repo.publish(t, build, news...)
	for _, p := range demoPkgs {
		if out := c.run("apt-cache", "policy", p); !strings.Contains(out, "Candidate: 2.0") {
			t.Fatalf("apt does not offer %s 2.0:\n%s", p, out)
		}
	}
	if _, err := os.Stat(filepath.Join(c.root, "var/run/reboot-required")); err == nil {
		t.Fatal("the container asks for a restart before any update; the test could not tell the agent's report")
	}
	bin, err := os.ReadFile(filepath.Join(binDir, "wacht-agent"))
	if err != nil {
		t.Fatal(err)
	}
	c.write("/usr/local/bin/wacht-agent", bin, 0o755)

	// `wacht-agent updates` inside lists both as missing; with a source
	// apt cannot read, the scan fails with the reason, never "no updates".
	scan := localScan(t, c, 0)
	for _, k := range []string{core.UpdateKey(core.SourceApt, "wacht-demo-a", "2.0"), core.UpdateKey(core.SourceApt, "wacht-demo-b", "2.0")} {
		if !slices.ContainsFunc(scan.Missing, func(m core.MissingUpdate) bool { return m.Key == k && m.Installed == "1.0" }) {
			t.Errorf("wacht-agent updates does not list %s missing: %+v", k, scan.Missing)
		}
	}
	if scan.Reboot.Pending || scan.Reboot.Error != "" {
		t.Errorf("wacht-agent updates: restart state %+v before any update", scan.Reboot)
	}
	c.write("/etc/apt/sources.list.d/broken.list", []byte("deb [trusted=yes] file:/var/tmp/no-such-repo ./\n"), 0o644)
	if bad := localScan(t, c, 1); len(bad.Sources) != 1 || bad.Sources[0].Status != core.ScanError || bad.Sources[0].Message.EN == "" || bad.Sources[0].Message.DE == "" {
		t.Errorf("wacht-agent updates with an unreadable source: %+v, want the apt scan failed with its reason", bad.Sources)
	} else {
		t.Logf("the scan with an unreadable source: %q", bad.Sources[0].Message.EN)
	}
	if err := os.Remove(filepath.Join(c.root, "etc/apt/sources.list.d/broken.list")); err != nil {
		t.Fatal(err)
	}

	// The server on the host's loopback, the agent inside the container.
	e := newEnv(t)
	startAgentInContainer(t, c, e.token())
	var devices []apiDevice
	waitFor(t, "the container's device online", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dev := devices[0]
	t.Logf("%v: the container's agent is online", time.Since(began).Round(time.Second))
	if host := strings.TrimSpace(c.run("hostname")); dev.Hostname != host {
		t.Fatalf("the device is %q, want the container's %q", dev.Hostname, host)
	}

	patchScenario(t, e, c, dev.ID)
}

// deviceUpdates is GET /api/v1/devices/{id}/updates.
type deviceUpdates struct {
	Status       *core.DevicePatchStatus  `json:"status"`
	Missing      []core.DevicePatch       `json:"missing"`
	Failed       []core.DevicePatch       `json:"failed"`
	Attempts     []core.PatchAttempt      `json:"attempts"`
	Reboot       core.RebootState         `json:"reboot"`
	Sources      []core.PatchSourceStatus `json:"sources"`
	Verification *struct {
		Status  string    `json:"status"`
		Value   float64   `json:"value"`
		Message core.Text `json:"message"`
	} `json:"verification"`
}

func (u deviceUpdates) missing(key string) *core.DevicePatch {
	for i := range u.Missing {
		if u.Missing[i].Key == key {
			return &u.Missing[i]
		}
	}
	return nil
}

func (e *env) deviceUpdates(id int64) deviceUpdates {
	e.t.Helper()
	var u deviceUpdates
	if st := e.api("GET", fmt.Sprintf("/api/v1/devices/%d/updates", id), &u); st != http.StatusOK {
		e.t.Fatalf("GET /api/v1/devices/%d/updates: HTTP %d", id, st)
	}
	return u
}

// patchesCheck returns the device's "patches" check state (nil if none).
func (e *env) patchesCheck(id int64) *core.CheckState {
	e.t.Helper()
	var cs []core.CheckState
	e.api("GET", fmt.Sprintf("/api/v1/devices/%d/checks", id), &cs)
	for i := range cs {
		if cs[i].Name == core.PatchCheckName {
			return &cs[i]
		}
	}
	return nil
}

// clientCompliance is one client of GET /api/v1/patches/compliance.
type clientCompliance struct {
	ClientID        int64             `json:"client_id"`
	Devices         int               `json:"devices"`
	Compliant       int               `json:"compliant"`
	Percent         float64           `json:"percent"`
	ApprovedMissing int               `json:"approved_missing"`
	RebootPending   []json.RawMessage `json:"reboot_pending"`
}

func (e *env) compliance(client int64) clientCompliance {
	e.t.Helper()
	var cs []clientCompliance
	if st := e.api("GET", fmt.Sprintf("/api/v1/patches/compliance?client=%d", client), &cs); st != http.StatusOK || len(cs) != 1 || cs[0].ClientID != client {
		e.t.Fatalf("GET /api/v1/patches/compliance?client=%d: HTTP %d %+v", client, st, cs)
	}
	return cs[0]
}

// containerZone is the container's time zone, which the agent's schedule
// uses ("At" is device local time).
func containerZone(t *testing.T, c *container) *time.Location {
	t.Helper()
	loc, err := time.LoadLocationFromTZData("container", []byte(c.run("cat", "/etc/localtime")))
	if err != nil {
		t.Fatalf("the container's /etc/localtime: %v", err)
	}
	return loc
}

// patchScenario is the patch path from the agent's first scan to the
// verification after the install.
func patchScenario(t *testing.T, e *env, c *container, dev int64) {
	keyA, keyB := core.UpdateKey(core.SourceApt, "wacht-demo-a", "2.0"), core.UpdateKey(core.SourceApt, "wacht-demo-b", "2.0")
	var devs []struct {
		ID       int64 `json:"id"`
		ClientID int64 `json:"client_id"`
	}
	e.api("GET", "/api/v1/devices", &devs)
	if len(devs) != 1 || devs[0].ID != dev || devs[0].ClientID == 0 {
		t.Fatalf("devices: %+v", devs)
	}
	client := devs[0].ClientID
	loc := containerZone(t, c)
	began := time.Now()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var raw json.RawMessage
		e.api("GET", fmt.Sprintf("/api/v1/devices/%d/updates", dev), &raw)
		t.Logf("the device's updates at the end:\n%s", raw)
		if pc := e.patchesCheck(dev); pc != nil {
			t.Logf("its patches check: %s %q", pc.Status, pc.Message.EN)
		}
	})

	// The policy: patching on, installs on, nothing approved automatically
	// (approval is manual), wacht-demo-b excluded, never restart (this is a
	// container whose restart would end the test), and an install window
	// that is closed for now: today at three hours from now, its late
	// start limited to an hour so that yesterday's window does not count.
	pp := core.PatchPolicy{Enabled: true, Install: true,
		AutoApprove: []core.PatchRule{{Classification: patch.ClassNone}},
		Exclusions:  core.PatchExclusions{Packages: []string{"wacht-demo-b"}},
		Schedule:    core.PatchSchedule{At: time.Now().In(loc).Add(3 * time.Hour).Format("15:04"), WindowMinutes: 30, MaxLatenessHours: 1},
		Reboot:      core.PatchReboot{Mode: core.RebootModeNever},
	}
	policyBody := func() map[string]any {
		return map[string]any{"name": "E2E patches", "checks": []any{}, "patch": pp}
	}
	var pol struct {
		ID int64 `json:"id"`
	}
	if st, b := e.send("POST", "/api/v1/policies", policyBody(), &pol); st != http.StatusCreated {
		t.Fatalf("creating the patch policy: %d %s", st, b)
	}
	e.assign(fmt.Sprintf("/api/v1/clients/%d/policies", client), pol.ID)

	// The agent's scan: both 2.0s missing, a awaiting approval, b excluded,
	// no restart pending.
	var u deviceUpdates
	waitFor(t, "the scan reporting both 2.0s missing", 2*time.Minute, func() bool {
		u = e.deviceUpdates(dev)
		return u.missing(keyA) != nil && u.missing(keyB) != nil
	})
	t.Logf("%v: first report: %+v", time.Since(began).Round(time.Second), u)
	for _, k := range []string{keyA, keyB} {
		m := u.missing(k)
		if m.Source != core.SourceApt || m.Installed != "1.0" || m.Version != "2.0" || m.Classification != core.ClassUpdate || m.PatchID == 0 {
			t.Errorf("missing %s: %+v", k, m)
		}
	}
	if a, b := u.missing(keyA).Approval, u.missing(keyB).Approval; a != core.ApprovalNone || b != core.ApprovalExcluded {
		t.Errorf("approvals before the technician's: a %q, b %q; want %q and %q", a, b, core.ApprovalNone, core.ApprovalExcluded)
	}
	if u.Reboot.Pending || u.Reboot.Error != "" {
		t.Errorf("restart state before any update: %+v", u.Reboot)
	}
	if i := slices.IndexFunc(u.Sources, func(s core.PatchSourceStatus) bool { return s.Source == core.SourceApt }); i < 0 || u.Sources[i].Status != core.ScanOK {
		t.Errorf("the apt source's scan: %+v", u.Sources)
	}
	patchA, patchB := u.missing(keyA).PatchID, u.missing(keyB).PatchID

	// The technician approves both for the client: the exclusion alone
	// must keep wacht-demo-b back.
	for _, id := range []int64{patchA, patchB} {
		if st, b := e.send("PUT", fmt.Sprintf("/api/v1/patches/%d/approval", id), map[string]any{"client": client, "approved": true}, nil); st != http.StatusOK {
			t.Fatalf("approving patch %d: %d %s", id, st, b)
		}
	}
	// Asked for by hand, the excluded one is refused by the agent.
	var reply protocol.UpdatesInstallReply
	if st, b := e.send("POST", fmt.Sprintf("/api/v1/devices/%d/updates/install", dev), map[string]any{"ids": []int64{patchB}}, &reply); st != http.StatusAccepted {
		t.Fatalf("installing the excluded wacht-demo-b by hand: %d %s", st, b)
	}
	if len(reply.Started) != 0 || reply.Refused[keyB].EN == "" || reply.Refused[keyB].DE == "" {
		t.Errorf("installing the excluded wacht-demo-b by hand: %+v, want it refused with a reason", reply)
	}

	// The agent knows the decision once a scan's verification counts
	// wacht-demo-a as approved and missing; the window is closed, so it
	// stays at 1.0.
	var pc *core.CheckState
	lastScan := time.Time{}
	waitFor(t, "the agent's verification counting the approved update", 2*time.Minute, func() bool {
		if v := c.installed("wacht-demo-a"); v != "1.0" {
			t.Fatalf("wacht-demo-a is at %q while its window is closed, want 1.0", v)
		}
		pc = e.patchesCheck(dev)
		if pc != nil && pc.Value != nil && *pc.Value == 1 {
			return true
		}
		if time.Since(lastScan) > 10*time.Second { // scans are cheap: ask again until the decision is in
			lastScan = time.Now()
			if st, b := e.send("POST", fmt.Sprintf("/api/v1/devices/%d/updates/scan", dev), nil, nil); st != http.StatusAccepted {
				t.Fatalf("scan now: %d %s", st, b)
			}
		}
		return false
	})
	t.Logf("%v: approved, window closed: patches %s %q", time.Since(began).Round(time.Second), pc.Status, pc.Message.EN)
	if !strings.Contains(pc.Message.EN, "1 missing") || !strings.Contains(pc.Message.EN, "1 excluded") {
		t.Errorf("patches check before the window: %q", pc.Message.EN)
	}
	for _, p := range demoPkgs {
		if v := c.installed(p); v != "1.0" {
			t.Fatalf("%s is at %q before the window opened, want 1.0", p, v)
		}
	}
	if u = e.deviceUpdates(dev); u.missing(keyA) == nil || u.missing(keyA).Approval != core.ApprovalManual || u.missing(keyB) == nil || u.missing(keyB).Approval != core.ApprovalExcluded {
		t.Errorf("after the approvals: a %+v, b %+v; want a manual, b excluded", u.missing(keyA), u.missing(keyB))
	}
	if cc := e.compliance(client); cc.Devices != 1 || cc.Compliant != 0 || cc.ApprovedMissing != 1 {
		t.Errorf("the client's compliance before the window: %+v, want 1 device behind by 1 approved update", cc)
	}

	// The window opens shortly: at the next minute of the container's
	// clock, at least 25 s ahead so that it is closed when the policy
	// arrives and the agent's own schedule has to open it. (The agent
	// looks at its schedule every minute and when its policy changes;
	// starting late in a minute would cost one more of its rounds, so the
	// test waits for the next minute then.)
	now := time.Now().In(loc)
	open := now.Truncate(time.Minute).Add(time.Minute)
	if left := open.Sub(now); left < 25*time.Second {
		time.Sleep(left + time.Second)
		open = open.Add(time.Minute)
	}
	pp.Schedule.At = open.Format("15:04")
	if st, b := e.send("PUT", fmt.Sprintf("/api/v1/policies/%d", pol.ID), policyBody(), nil); st != http.StatusOK {
		t.Fatalf("moving the window: %d %s", st, b)
	}
	t.Logf("%v: the window opens at %s (container time)", time.Since(began).Round(time.Second), open.Format(time.RFC3339))
	waitFor(t, "wacht-demo-a 2.0 installed in the window", 3*time.Minute, func() bool { return c.installed("wacht-demo-a") == "2.0" })
	if b, err := os.ReadFile(filepath.Join(c.root, "usr/share/wacht-demo-a/VERSION")); err != nil || string(b) != "2.0\n" {
		t.Errorf("wacht-demo-a's file: %q %v", b, err)
	}

	// The report after the install: the attempt, b still missing and
	// excluded, the restart the package asked for.
	waitFor(t, "the install reported", 2*time.Minute, func() bool {
		u = e.deviceUpdates(dev)
		return u.missing(keyA) == nil && slices.ContainsFunc(u.Attempts, func(a core.PatchAttempt) bool { return a.Key == keyA })
	})
	t.Logf("%v: after the install: %+v", time.Since(began).Round(time.Second), u)
	var attempts []core.PatchAttempt
	for _, a := range u.Attempts {
		if a.Key == keyA || a.Key == keyB {
			attempts = append(attempts, a)
		}
	}
	if len(attempts) != 1 {
		t.Fatalf("attempts: %+v, want one for wacht-demo-a", attempts)
	}
	if a := attempts[0]; a.Key != keyA || a.Result != core.PatchInstalled || a.Trigger != "schedule" || a.StartedAt.Before(open) || !a.RebootNeeded {
		t.Errorf("attempt %+v: want wacht-demo-a installed by the schedule at or after %s, asking for a restart", a, open)
	}
	if v := c.installed("wacht-demo-b"); v != "1.0" {
		t.Errorf("the excluded wacht-demo-b is at %q, want 1.0", v)
	}
	if m := u.missing(keyB); m == nil || m.Approval != core.ApprovalExcluded {
		t.Errorf("wacht-demo-b after the install: %+v, want missing and excluded", m)
	}
	if !u.Reboot.Pending || !slices.Contains(u.Reboot.Reasons, "/var/run/reboot-required (wacht-demo-a)") {
		t.Errorf("restart state after the install: %+v, want pending for /var/run/reboot-required (wacht-demo-a)", u.Reboot)
	}

	// The daily verification: ok for the approved set, the restart and the
	// exclusion said.
	waitFor(t, "the patches check after the install", 2*time.Minute, func() bool {
		pc = e.patchesCheck(dev)
		return pc != nil && pc.Value != nil && *pc.Value == 0 && strings.Contains(pc.Message.EN, "reboot pending")
	})
	t.Logf("%v: patches: %s %q / %q", time.Since(began).Round(time.Second), pc.Status, pc.Message.EN, pc.Message.DE)
	if pc.Status != core.StatusOK || !strings.Contains(pc.Message.EN, "all approved updates installed") || !strings.Contains(pc.Message.EN, "1 excluded") ||
		!strings.Contains(pc.Message.DE, "Neustart ausstehend") {
		t.Errorf("patches check after the install: %s %q / %q", pc.Status, pc.Message.EN, pc.Message.DE)
	}
	// The server's view agrees: its verdict, and the client fully patched.
	if v := e.deviceUpdates(dev).Verification; v == nil || v.Status != core.StatusOK.String() || v.Value != 0 {
		t.Errorf("the server's verdict after the install: %+v", v)
	}
	if cc := e.compliance(client); cc.Devices != 1 || cc.Compliant != 1 || cc.Percent != 100 || cc.ApprovedMissing != 0 || len(cc.RebootPending) != 1 {
		t.Errorf("the client's compliance after the install: %+v, want 1 of 1 device patched, waiting for a restart", cc)
	}
}
