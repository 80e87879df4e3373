package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
)

// TestSelfUpdateUnderSystemd is the agent's self-update the way a Linux
// machine runs it: the real .deb of agent 1.0.0 installed with a token in a
// booted systemd container (systemdtest), against a real `wacht serve` on
// 127.0.0.1 with a release key. A rollout takes it to 1.1.0: the agent
// starts its watchdog in a transient unit (systemd-run), which restarts
// the service with systemctl; the device reconnects as 1.1.0 under a new
// MainPID, /usr/bin/wacht-agent is 1.1.0 and its .prev 1.0.0. A rollout of
// a build that exits 1 at start: systemd restarts it (Restart=always) until
// the watchdog's deadline, the watchdog restores 1.1.0 and restarts the
// service; the device reports rolled_back (update_crashed), the rollout
// pauses, and no watchdog unit is left. A build that runs but never
// connects is rolled back at the deadline (update_timeout). dpkg --purge
// then leaves no build behind. Run alone with `make systemd`.
func TestSelfUpdateUnderSystemd(t *testing.T) {
	if !systemdtest.Run(t) {
		return
	}
	l := &updateLane{builds: map[string]string{}, sums: map[string]string{}, work: t.TempDir()}
	began := time.Now()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		l.build(t, l.work, v, "github.com/wacht-rmm/wacht/cmd/wacht-agent", "-X main.version="+v)
	}
	l.buildCrashers(t, "1.2.0")
	l.buildHangers(t, "1.3.0")
	t.Logf("built 4 agent builds in %v", time.Since(began).Round(time.Millisecond))
	l.startReleaseServer(t)
	l.signBuilds(t)
	deb := buildDebOf(t, l.builds["1.0.0"], "1.0.0")
	t.Cleanup(func() { cleanUpSystemdAgent(t) })

	// Install 1.0.0 with a token; it enrolls and the unit runs.
	began = time.Now()
	systemdtest.Inside(t, nil, "sh", "-c", `mkdir -p /etc/wacht-agent && printf '%s\n' "$1" > /etc/wacht-agent/token`, "sh", l.enrollToken(t))
	t.Logf("dpkg -i:\n%s", systemdtest.Inside(t, nil, "dpkg", "-i", deb))
	waitFor(t, "the unit to be active", time.Minute, func() bool { return unitState(t, "is-active") == "active" })
	dev := l.waitVersion(t, "1.0.0", "agent 1.0.0 online from the .deb", nil)
	l.deviceID, l.clientID = dev.ID, dev.ClientID
	t.Logf("1.0.0 installed and online after %v", time.Since(began).Round(time.Millisecond))
	l.publishAPI(t, "1.1.0")
	l.publishAPI(t, "1.2.0")
	l.publishAPI(t, "1.3.0")
	exe := filepath.Join(systemdtest.Root(), "usr/bin/wacht-agent")
	l.wantFile(t, exe, "1.0.0")

	if !t.Run("update", func(t *testing.T) {
		pid := mainPID(t)
		began := time.Now()
		r := l.startRollout(t, map[string]any{"version": "1.1.0", "pilot_clients": []int64{l.clientID},
			"auto_promote": true, "max_failures": 1, "watchdog_seconds": updateWatchdog})
		l.waitVersion(t, "1.1.0", "the service to reconnect as 1.1.0", nil)
		reconnected := time.Since(began)
		u := l.waitUpdate(t, r.ID, core.UpdateDone)
		view := l.waitRollout(t, r.ID, "the rollout to finish", func(v rolloutView) bool { return v.State == core.RolloutDone })
		t.Logf("update 1.0.0 → 1.1.0 under systemd: reconnected after %v, rollout done after %v (stage %s)",
			reconnected.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), view.Stage)
		if u.FromVersion != "1.0.0" || u.ToVersion != "1.1.0" {
			t.Errorf("update row from %q to %q, want 1.0.0 → 1.1.0", u.FromVersion, u.ToVersion)
		}
		now := runningUnitAgent(t, "1.1.0")
		if now == pid {
			t.Errorf("the unit's MainPID is still %s after the update", pid)
		}
		t.Logf("MainPID %s (1.0.0) → %s (1.1.0)", pid, now)
		l.wantFile(t, exe, "1.1.0")
		l.wantFile(t, exe+".prev", "1.0.0")
		waitNoWatchdogUnit(t)
	}) {
		return
	}

	if !t.Run("crash_rolled_back", func(t *testing.T) {
		pid := mainPID(t)
		began := time.Now()
		r := l.startRollout(t, map[string]any{"version": "1.2.0", "pilot_clients": []int64{l.clientID},
			"auto_promote": true, "max_failures": 1, "watchdog_seconds": crashWatchdog})
		// systemd restarts the crashing build (Restart=always) while it is
		// on trial; the watchdog's own restart reset NRestarts.
		waitFor(t, "the trial of 1.2.0 to begin", 2*time.Minute, func() bool { return updatePhase(t) == agent.PhaseTrial })
		restarts := 0
		duringTrial(t, func(n int, _ string) bool {
			if n > restarts && restarts == 0 {
				t.Logf("systemd restarted the crashing build after %v", time.Since(began).Round(time.Millisecond))
			}
			restarts = max(restarts, n)
			return true
		})
		if restarts == 0 {
			t.Error("systemd never restarted the crashing build during its trial")
		}
		u := l.waitUpdate(t, r.ID, core.UpdateRolledBack)
		rolledBack := time.Since(began)
		if u.Code == "" || u.Error.EN == "" || u.Error.DE == "" {
			t.Errorf("rolled_back update without a code and a reason in English and German: %+v", u)
		}
		// It exited (systemd restarted it), it did not merely fail to connect.
		if u.Code != agent.CodeUpdateCrashed {
			t.Errorf("the crashing build was rolled back with code %q (%s), want %s", u.Code, u.Error.EN, agent.CodeUpdateCrashed)
		}
		l.waitVersion(t, "1.1.0", "the restored 1.1.0 to be online", nil)
		view := l.waitRollout(t, r.ID, "the rollout to pause itself", func(v rolloutView) bool { return v.State == core.RolloutPaused })
		t.Logf("crashing 1.2.0 (watchdog %d s): rolled back and reported after %v, systemd restarted it %d times; code %s, reason %q / %q; pause reason %q",
			crashWatchdog, rolledBack.Round(time.Millisecond), restarts, u.Code, u.Error.EN, u.Error.DE, view.PauseReason.EN)
		if view.PauseReason.EN == "" {
			t.Errorf("paused rollout without a reason: %+v", view)
		}
		now := runningUnitAgent(t, "1.1.0")
		if now == pid {
			t.Errorf("the unit's MainPID is still %s: the service was not restarted", pid)
		}
		l.wantFile(t, exe, "1.1.0")
		waitNoWatchdogUnit(t)
		l.cancel(t, r.ID)
	}) {
		return
	}

	// A build that runs but never connects: systemd has nothing to
	// restart, the watchdog rolls it back at the deadline as a timeout.
	if !t.Run("timeout_rolled_back", func(t *testing.T) {
		began := time.Now()
		r := l.startRollout(t, map[string]any{"version": "1.3.0", "pilot_clients": []int64{l.clientID},
			"auto_promote": true, "max_failures": 1, "watchdog_seconds": crashWatchdog})
		var pid string
		waitFor(t, "the unit to run the silent 1.3.0", 2*time.Minute, func() bool {
			out, _ := systemdtest.Command(t, nil, "systemctl", "status", "--no-pager", "wacht-agent.service").Output()
			pid = mainPID(t)
			return strings.Contains(string(out), "1.3.0 runs without connecting")
		})
		// Until the watchdog rolls back, 1.3.0 keeps running as that
		// process: systemd restarts nothing (its restart by the watchdog
		// reset NRestarts; the rollback's stop and start reset it again).
		duringTrial(t, func(n int, p string) bool {
			// MainPID 0: the watchdog stops the unit for its rollback
			// before it records the rollback.
			if n != 0 || (p != pid && p != "0") {
				t.Errorf("during the silent build's trial systemd restarted the unit (NRestarts %d, MainPID %s, was %s)", n, p, pid)
				return false
			}
			return true
		})
		u := l.waitUpdate(t, r.ID, core.UpdateRolledBack)
		rolledBack := time.Since(began)
		if u.Code != agent.CodeUpdateTimeout || u.Error.EN == "" || u.Error.DE == "" {
			t.Errorf("the silent build was rolled back with %+v, want code %s and a reason in English and German", u, agent.CodeUpdateTimeout)
		}
		l.waitVersion(t, "1.1.0", "the restored 1.1.0 to be online", nil)
		l.waitRollout(t, r.ID, "the rollout to pause itself", func(v rolloutView) bool { return v.State == core.RolloutPaused })
		t.Logf("silent 1.3.0 (watchdog %d s, MainPID %s): rolled back and reported after %v; code %s, reason %q",
			crashWatchdog, pid, rolledBack.Round(time.Millisecond), u.Code, u.Error.EN)
		runningUnitAgent(t, "1.1.0")
		l.wantFile(t, exe, "1.1.0")
		waitNoWatchdogUnit(t)
		l.cancel(t, r.ID)
	}) {
		return
	}

	// dpkg --purge after self-updates leaves no build behind: dpkg knows
	// /usr/bin/wacht-agent, not the .prev the update kept beside it.
	t.Run("purge", func(t *testing.T) {
		t.Logf("dpkg --purge:\n%s", systemdtest.Inside(t, nil, "dpkg", "--purge", "wacht-agent"))
		var left []string
		found, _ := filepath.Glob(filepath.Join(systemdtest.Root(), "usr/bin/wacht-agent*"))
		for _, f := range found {
			left = append(left, strings.TrimPrefix(f, systemdtest.Root()))
		}
		for _, p := range []string{"var/lib/wacht-agent", "etc/wacht-agent"} {
			if _, err := os.Lstat(filepath.Join(systemdtest.Root(), p)); !os.IsNotExist(err) {
				left = append(left, "/"+p)
			}
		}
		if len(left) > 0 {
			t.Errorf("after dpkg --purge these are left: %q", left)
		}
		if s := unitState(t, "is-active"); s == "active" {
			t.Error("the unit is still active after the purge")
		}
	})
}

// wantFile fails unless the file at path is version's build.
func (l *updateLane) wantFile(t *testing.T, path, version string) {
	t.Helper()
	if got := sumFile(t, path); got != l.sums[version] {
		have := "?"
		for v, s := range l.sums {
			if s == got {
				have = v
			}
		}
		t.Errorf("%s has sha256 %s (build %s), want %s's %s", path, got, have, version, l.sums[version])
	}
}

// runningUnitAgent waits until wacht-agent.service is active and its main
// process runs /usr/bin/wacht-agent as it is on disk now (not a replaced,
// deleted file) and that file says version; it returns the MainPID.
func runningUnitAgent(t *testing.T, version string) string {
	t.Helper()
	var pid, exe string
	waitFor(t, "the unit to run /usr/bin/wacht-agent "+version, time.Minute, func() bool {
		if unitState(t, "is-active") != "active" {
			return false
		}
		pid = mainPID(t)
		out, err := systemdtest.Command(t, nil, "readlink", "/proc/"+pid+"/exe").Output()
		exe = strings.TrimSpace(string(out))
		return err == nil && pid != "0" && exe == "/usr/bin/wacht-agent"
	})
	if v := systemdtest.Inside(t, nil, "/usr/bin/wacht-agent", "version"); !strings.Contains(v, version) {
		t.Errorf("/usr/bin/wacht-agent version says %q, want %s", v, version)
	}
	return pid
}

// unitRestarts is how often systemd restarted wacht-agent.service.
func unitRestarts(t *testing.T) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(systemdtest.Inside(t, nil, "systemctl", "show", "-p", "NRestarts", "--value", "wacht-agent.service")))
	if err != nil {
		t.Fatalf("NRestarts: %v", err)
	}
	return n
}

// updatePhase is the phase in the agent's update.json ("" without one).
func updatePhase(t *testing.T) string {
	t.Helper()
	var st struct {
		Phase string `json:"phase"`
	}
	b, err := os.ReadFile(filepath.Join(systemdtest.Root(), "var/lib/wacht-agent/update.json"))
	if err != nil || json.Unmarshal(b, &st) != nil {
		return ""
	}
	return st.Phase
}

// duringTrial polls until the update leaves its trial, calling each with
// the unit's NRestarts and MainPID while it is on trial, until each
// returns false.
func duringTrial(t *testing.T, each func(restarts int, pid string) bool) {
	t.Helper()
	waitFor(t, "the watchdog to end the trial", 3*time.Minute, func() bool {
		if updatePhase(t) != agent.PhaseTrial {
			return true
		}
		n, p := unitRestarts(t), mainPID(t)
		if updatePhase(t) != agent.PhaseTrial {
			return true // the rollback may have started between the two
		}
		return !each(n, p)
	})
}

// watchdogUnits lists the loaded transient watchdog units.
func watchdogUnits(t *testing.T) string {
	t.Helper()
	out, _ := systemdtest.Command(t, nil, "systemctl", "list-units", "--all", "--no-legend", "--plain", "wacht-agent-update-*").Output()
	return strings.TrimSpace(string(out))
}

// waitNoWatchdogUnit waits until the watchdog's transient unit is gone
// (it exits once the update is committed or rolled back; --collect
// unloads it).
func waitNoWatchdogUnit(t *testing.T) {
	t.Helper()
	began := time.Now()
	waitFor(t, "no transient watchdog unit left", time.Minute, func() bool { return watchdogUnits(t) == "" })
	t.Logf("no watchdog unit left (%v after asking)", time.Since(began).Round(time.Millisecond))
}

// cleanUpSystemdAgent logs the agent's and its watchdogs' journals on
// failure, stops any watchdog unit and purges the package.
func cleanUpSystemdAgent(t *testing.T) {
	if t.Failed() {
		for _, args := range [][]string{
			{"systemctl", "status", "--no-pager", "wacht-agent.service"},
			{"journalctl", "--no-pager", "-n", "300", "-u", "wacht-agent.service"},
			{"journalctl", "--no-pager", "-n", "300", "-u", "wacht-agent-update-*"},
			{"cat", "/var/lib/wacht-agent/update.json"},
			{"ls", "-l", "/usr/bin/"},
		} {
			out, err := systemdtest.Command(t, nil, args...).CombinedOutput()
			t.Logf("%s (%v):\n%s", strings.Join(args, " "), err, out)
		}
	}
	if u := watchdogUnits(t); u != "" {
		for _, line := range strings.Split(u, "\n") {
			if f := strings.Fields(line); len(f) > 0 {
				systemdtest.Command(t, nil, "systemctl", "stop", f[0]).Run()
			}
		}
	}
	// (a second purge is a no-op for dpkg)
	if out, err := systemdtest.Command(t, nil, "dpkg", "--purge", "wacht-agent").CombinedOutput(); err != nil {
		t.Errorf("dpkg --purge: %v\n%s", err, out)
	}
	for _, suffix := range []string{"", ".prev", ".new", ".rb"} {
		os.Remove(filepath.Join(systemdtest.Root(), "usr/bin/wacht-agent"+suffix))
	}
}
