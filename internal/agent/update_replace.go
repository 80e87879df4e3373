package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// UpdateFile in the data folder records the newest self-update
// (UpdateState); AgentPIDFile holds the PID of an agent the watchdog
// started in the foreground; AgentLogFile receives that agent's output.
const (
	UpdateFile   = "update.json"
	AgentPIDFile = "agent.pid"
	AgentLogFile = "agent.log"
)

// Phases of an update.
const (
	PhaseTrial      = "trial"       // the new build is in place (or about to be) and on trial
	PhaseCommitted  = "committed"   // the new build was welcomed by the server
	PhaseRolledBack = "rolled_back" // the watchdog restored the previous build
	PhaseFailed     = "failed"      // the replacement was interrupted; the previous build runs
)

// Suffixes of the files next to the executable.
const (
	suffixNew  = ".new"  // the new build, before it replaces the executable
	suffixPrev = ".prev" // the previous build, kept for the rollback
	suffixOld  = ".old"  // Windows: the running executable renamed away
	suffixRB   = ".rb"   // the previous build, before it replaces the executable again
)

// UpdateState is update.json.
type UpdateState struct {
	RolloutID int64  `json:"rollout_id"`
	From      string `json:"from"`
	To        string `json:"to"`
	SHA256    string `json:"sha256"` // the new build's
	Exe       string `json:"exe"`    // the executable replaced
	// Args are the agent's arguments and Service whether a service
	// manager runs it; PID is the process that staged the update.
	Args    []string `json:"args,omitempty"`
	Service bool     `json:"service,omitempty"`
	PID     int      `json:"pid"`
	// WatchdogSeconds is how long the new build has to be welcomed after
	// the restart (Restarted); Deadline is when the watchdog rolls back.
	WatchdogSeconds int       `json:"watchdog_seconds"`
	Staged          time.Time `json:"staged"`
	Restarted       time.Time `json:"restarted,omitzero"`
	Deadline        time.Time `json:"deadline"`
	Phase           string    `json:"phase"`
	// WatchdogPID and WatchdogStartMS identify the running watchdog.
	WatchdogPID     int   `json:"watchdog_pid,omitempty"`
	WatchdogStartMS int64 `json:"watchdog_start_ms,omitempty"`
	// Report is the outcome the agent sends in its auth until welcomed.
	Report *protocol.UpdateReport `json:"report,omitempty"`
	// Rejected are the SHA-256 of builds rolled back on this device.
	Rejected []string `json:"rejected,omitempty"`
}

// ReadUpdateState reads update.json in dir (wacht-agent status); a
// missing file is the zero state.
func ReadUpdateState(dir string) (UpdateState, error) { return readUpdateState(dir) }

// readUpdateState reads update.json; a missing file is the zero state.
func readUpdateState(dir string) (UpdateState, error) {
	var st UpdateState
	b, err := os.ReadFile(filepath.Join(dir, UpdateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return UpdateState{}, fmt.Errorf("reading %s: %w", filepath.Join(dir, UpdateFile), err)
	}
	return st, nil
}

// writeUpdateState replaces update.json atomically and durably.
func writeUpdateState(dir string, st UpdateState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, UpdateFile), append(b, '\n')); err != nil {
		return err
	}
	return syncDir(dir)
}

// updateStateFile changes update.json with f if it exists; f reports
// whether it changed anything.
func updateStateFile(dir string, f func(*UpdateState) bool) error {
	st, err := readUpdateState(dir)
	if err != nil || st.Phase == "" {
		return err
	}
	if !f(&st) {
		return nil
	}
	return writeUpdateState(dir, st)
}

// diskFree tells the free bytes of the file system holding dir.
var diskFree = func(dir string) (uint64, error) {
	u, err := disk.Usage(dir)
	if err != nil {
		return 0, err
	}
	return u.Free, nil
}

// errPowerCut is what a test's cut hook returns to stop stageUpdate as a
// power cut would.
var errPowerCut = errors.New("power cut (test)")

// stageUpdate puts the verified build src in place of st.Exe, keeping the
// previous binary, in steps that each leave an executable that starts:
//
//  1. new: copy src to <exe>.new, fsync;
//  2. prev: hard-link (or copy) <exe> to <exe>.prev, fsync;
//  3. state: write update.json (phase trial) atomically;
//  4. replace: Unix: rename <exe>.new over <exe>, fsync the folder;
//     Windows: rename <exe> to <exe>.old, then <exe>.new to <exe>.
//
// cut, if set, is called after each step with its name (tests inject
// power cuts with it).
func stageUpdate(src string, st *UpdateState, dataDir string, cut func(step string) error) error {
	if cut == nil {
		cut = func(string) error { return nil }
	}
	exe := st.Exe
	dir := filepath.Dir(exe)
	si, err := os.Stat(src)
	if err != nil {
		return fileErr(src, err)
	}
	ei, err := os.Stat(exe)
	if err != nil {
		return fileErr(exe, err)
	}
	// Room for the new build and, if no hard link is possible, a copy of
	// the old one, with a MiB to spare.
	need := uint64(si.Size()) + uint64(ei.Size()) + 1<<20
	if free, err := diskFree(dir); err == nil && free < need {
		return Errorf(protocol.CodeDiskFull, "Refused: %s has %d MiB free, the update needs %d MiB (the new build next to the previous one).",
			"Abgelehnt: %s hat %d MiB frei, die Aktualisierung braucht %d MiB (der neue Build neben dem bisherigen).", dir, free>>20, (need+1<<20-1)>>20)
	}
	fail := func(path string, err error) error {
		os.Remove(exe + suffixNew)
		if isDiskFull(err) {
			return Errorf(protocol.CodeDiskFull, "The disk holding %s is full; the update was not installed.", "Der Datenträger von %s ist voll; die Aktualisierung wurde nicht installiert.", dir)
		}
		return fileErr(path, err)
	}
	if err := copyFileSync(src, exe+suffixNew, 0o755); err != nil {
		return fail(exe+suffixNew, err)
	}
	if err := cut("new"); err != nil {
		return err
	}
	os.Remove(exe + suffixPrev)
	if err := os.Link(exe, exe+suffixPrev); err != nil {
		if err := copyFileSync(exe, exe+suffixPrev, 0o755); err != nil {
			os.Remove(exe + suffixPrev)
			return fail(exe+suffixPrev, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return fail(dir, err)
	}
	if err := cut("prev"); err != nil {
		return err
	}
	if err := writeUpdateState(dataDir, *st); err != nil {
		return fail(filepath.Join(dataDir, UpdateFile), err)
	}
	if err := cut("state"); err != nil {
		return err
	}
	if err := replaceExe(exe+suffixNew, exe); err != nil {
		// The previous build stays; the state says trial for a build that
		// is not in place, which the next start resolves as failed.
		st.Phase = PhaseFailed
		_ = writeUpdateState(dataDir, *st)
		return fail(exe, err)
	}
	return cut("replace")
}

// restorePrev puts <exe>.prev back in place of exe (the rollback), by a
// copy and an atomic replacement; <exe>.prev stays.
func restorePrev(exe string) error {
	if err := copyFileSync(exe+suffixPrev, exe+suffixRB, 0o755); err != nil {
		os.Remove(exe + suffixRB)
		return err
	}
	return replaceExe(exe+suffixRB, exe)
}

// copyFileSync copies src to dst (created or truncated) and fsyncs it.
func copyFileSync(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if serr := out.Sync(); err == nil {
		err = serr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(dst, mode)
	}
	return err
}

// resolveUpdate settles at the agent's start what an update left behind.
// running is the running version, exe the running executable. It returns
// the state and whether this process is the new build on trial; a trial
// whose build is not the one running (the replacement was cut short)
// becomes failed with a report, and leftover files are removed.
func resolveUpdate(dataDir, exe, running string, now time.Time) (UpdateState, bool, error) {
	os.Remove(exe + suffixOld) // Windows: the build replaced last time
	os.Remove(exe + suffixRB)
	st, err := readUpdateState(dataDir)
	if err != nil {
		return st, false, err
	}
	switch {
	case st.Phase == PhaseTrial && running == st.To && sameFile(st.Exe, exe):
		if st.Restarted.IsZero() || !watchdogAlive(st) {
			// Started by a reboot or the service manager, not the
			// watchdog, or the watchdog is gone (a reboot): the new
			// build gets its full time from now on.
			st.Restarted = now
			st.Deadline = now.Add(time.Duration(st.WatchdogSeconds) * time.Second)
			if err := writeUpdateState(dataDir, st); err != nil {
				return st, true, err
			}
		}
		return st, true, nil
	case st.Phase == PhaseTrial:
		st.Phase = PhaseFailed
		st.Report = &protocol.UpdateReport{
			RolloutID: st.RolloutID, From: st.From, To: st.To, State: core.UpdateFailed, Code: protocol.CodeFailed, At: now,
			Message: updateReportText("The update to %s was interrupted before the new build replaced %s (power cut or crash); %s still runs.",
				"Die Aktualisierung auf %s wurde unterbrochen, bevor der neue Build %s ersetzte (Stromausfall oder Absturz); %s läuft weiter.", st.To, st.From, running),
		}
		os.Remove(st.Exe + suffixNew)
		return st, false, writeUpdateState(dataDir, st)
	case st.Phase == PhaseFailed && st.Report == nil:
		st.Report = &protocol.UpdateReport{
			RolloutID: st.RolloutID, From: st.From, To: st.To, State: core.UpdateFailed, Code: protocol.CodeFailed, At: now,
			Message: updateReportText("The new build %s could not replace %s.", "Der neue Build %s konnte %s nicht ersetzen.", st.To, st.From),
		}
		os.Remove(exe + suffixNew)
		return st, false, writeUpdateState(dataDir, st)
	}
	os.Remove(exe + suffixNew)
	return st, false, nil
}

// sameFile reports whether a and b name the same file ("" matches all).
func sameFile(a, b string) bool {
	if a == "" || b == "" || a == b {
		return true
	}
	ai, err1 := os.Stat(a)
	bi, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(ai, bi)
}
