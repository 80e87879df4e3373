package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/vercmp"
)

// Signed self-update (issue 21; docs/agent-update.md). The server sends
// protocol.ActionAgentUpdate; the agent checks the build's release
// signature against the release keys it pinned, its platform and version,
// downloads it, checks its bytes and executable header, and stages it
// next to its own executable (update_replace.go). After the OK reply it
// starts the watchdog from the previous binary (update_watchdog.go), which
// restarts the agent into the new build and restores the previous one if
// the new build has not been welcomed by the server in time.

func init() {
	RegisterAction(protocol.ActionAgentUpdate, Action{
		Lock: protocol.LockSelfUpdate,
		// Not Code: the release signature, not the action key, decides
		// what runs; lock mode is handled in checkUpdate.
		Do: func(ctx context.Context, a *Agent, args json.RawMessage) (any, error) {
			var ua protocol.AgentUpdateArgs
			if err := decodeArgs(protocol.ActionAgentUpdate, args, &ua); err != nil {
				return nil, err
			}
			return a.agentUpdate(ctx, ua)
		},
		After: func(a *Agent) { a.afterUpdate() },
	})
}

// updater is the agent's self-update state in memory.
type updater struct {
	mu     sync.Mutex
	keys   [][]byte // release keys trusted
	local  bool     // keys set by the device's administrator
	busy   bool     // an update is being checked, downloaded or staged
	staged *UpdateState
	report *protocol.UpdateReport // sent in every auth until welcomed
	trial  bool                   // this process is a new build on trial
}

func newUpdater(cfg Config) *updater {
	return &updater{keys: validReleaseKeys(cfg.ReleaseKeys), local: cfg.LocalReleaseKey && len(cfg.ReleaseKeys) > 0}
}

// validReleaseKeys keeps the keys of the right size.
func validReleaseKeys(keys [][]byte) [][]byte {
	var out [][]byte
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize {
			out = append(out, bytes.Clone(k))
		}
	}
	return out
}

func (u *updater) publicKeys() []ed25519.PublicKey {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]ed25519.PublicKey, len(u.keys))
	for i, k := range u.keys {
		out[i] = ed25519.PublicKey(k)
	}
	return out
}

func (u *updater) pendingReport() *protocol.UpdateReport {
	if u == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.report == nil {
		return nil
	}
	r := *u.report
	return &r
}

// releaseKeyFingerprint is Auth.ReleaseKey: the first trusted release key's
// fingerprint ("" for none).
func (a *Agent) releaseKeyFingerprint() string {
	keys := a.upd.publicKeys()
	if len(keys) == 0 {
		return ""
	}
	return release.Fingerprint(keys[0])
}

// pinReleaseKeys pins the welcome's release keys if this agent trusts
// none yet (trust on first use over the authenticated session, as the
// action key); pinned or local keys are never replaced from here.
func (a *Agent) pinReleaseKeys(keys [][]byte) {
	keys = validReleaseKeys(keys)
	u := a.upd
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.keys) > 0 || len(keys) == 0 {
		return
	}
	u.keys = keys
	cfg, err := LoadConfig(a.opts.DataDir)
	if err == nil {
		cfg.ReleaseKeys, cfg.LocalReleaseKey = keys, false
		err = SaveConfig(a.opts.DataDir, cfg)
	}
	if err != nil {
		a.log.Error("cannot store the server's release keys; trusting them for this run only", "err", err)
		return
	}
	a.log.Info("pinned the server's release keys on first use", "fingerprint", release.Fingerprint(keys[0])[:16])
}

// updateWelcomed runs after each welcome: sent is the report the auth
// carried, answered now; a build on trial commits itself.
func (a *Agent) updateWelcomed(sent *protocol.UpdateReport) {
	u := a.upd
	u.mu.Lock()
	trial := u.trial
	u.trial = false
	if sent != nil && u.report != nil && *u.report == *sent {
		u.report = nil
	}
	u.mu.Unlock()
	err := updateStateFile(a.opts.DataDir, func(st *UpdateState) bool {
		changed := false
		if trial && st.Phase == PhaseTrial {
			st.Phase, changed = PhaseCommitted, true
			a.log.Info("the new build was welcomed; the update is committed", "from", st.From, "to", st.To)
		}
		if sent != nil && st.Report != nil && *st.Report == *sent {
			st.Report, changed = nil, true
		}
		return changed
	})
	if err != nil {
		a.log.Error("cannot record the update's state", "err", err)
	}
}

// updatePlan is what checkUpdate decided.
type updatePlan struct {
	current bool // already runs the build: nothing to do
	m       release.Manifest
}

// checkUpdate decides from the arguments alone whether this agent takes
// the update: signature, kind, platform, version and lock mode. running is
// the running version; rejected the builds rolled back here.
func checkUpdate(ua protocol.AgentUpdateArgs, keys []ed25519.PublicKey, local, lockMode bool, running, goos, goarch string, rejected []string) (updatePlan, error) {
	m := ua.Build.Manifest
	if lockMode && !local {
		return updatePlan{}, Errorf(protocol.CodeScriptSigner,
			"Refused: this device is in lock mode and its release key came from the server, so the server could choose its code; set a local release key (wacht-agent install --release-key) to allow updates.",
			"Abgelehnt: Dieses Gerät ist im Sperrmodus und sein Release-Schlüssel kam vom Server, der so den Code bestimmen könnte; ein lokaler Release-Schlüssel (wacht-agent install --release-key) erlaubt Aktualisierungen.")
	}
	if len(keys) == 0 {
		return updatePlan{}, Errorf(protocol.CodeNoReleaseKey, "Refused: this agent trusts no release key, so it cannot verify agent builds.",
			"Abgelehnt: Dieser Agent vertraut keinem Release-Schlüssel und kann Agent-Builds daher nicht prüfen.")
	}
	if err := ua.Build.Verify(keys); err != nil {
		if errors.Is(err, release.ErrBadSignature) {
			return updatePlan{}, Errorf(protocol.CodeBadSignature, "Refused: the build %s is not signed with a release key this agent trusts (key %.16s).",
				"Abgelehnt: Der Build %s ist nicht mit einem Release-Schlüssel signiert, dem dieser Agent vertraut (Schlüssel %.16s).", m.Name, ua.Build.KeyID)
		}
		return updatePlan{}, Errorf(protocol.CodeBadArgs, "Refused: the build's manifest is invalid: %v", "Abgelehnt: Das Manifest des Builds ist ungültig: %v", err)
	}
	if m.Kind != release.KindBinary {
		return updatePlan{}, Errorf(protocol.CodeBadArgs, "Refused: %s is a %s, not an agent binary.", "Abgelehnt: %s ist ein %s, keine Agent-Programmdatei.", m.Name, m.Kind)
	}
	if m.OS != goos || m.Arch != goarch {
		return updatePlan{}, Errorf(protocol.CodeWrongPlatform, "Refused: the build is for %s/%s, this agent runs on %s/%s.",
			"Abgelehnt: Der Build ist für %s/%s, dieser Agent läuft auf %s/%s.", m.OS, m.Arch, goos, goarch)
	}
	switch c := vercmp.Compare(m.Version, running); {
	case c == 0:
		return updatePlan{current: true, m: m}, nil
	case c < 0 && !ua.AllowDowngrade:
		return updatePlan{}, Errorf(protocol.CodeDowngrade, "Refused: %s is older than the running version %s, and the server did not allow a downgrade.",
			"Abgelehnt: %s ist älter als die laufende Version %s, und der Server hat kein Zurückstufen erlaubt.", m.Version, running)
	}
	if slices.Contains(rejected, m.SHA256) && !ua.AllowDowngrade {
		return updatePlan{}, Errorf(protocol.CodeFailed, "Refused: build %s (sha256 %.16s) was rolled back on this device before; the server must allow it explicitly (allow downgrade) to try it again.",
			"Abgelehnt: Build %s (sha256 %.16s) wurde auf diesem Gerät schon einmal zurückgerollt; der Server muss ihn ausdrücklich erlauben (Zurückstufen erlauben), um ihn erneut zu versuchen.", m.Version, m.SHA256)
	}
	if ua.WatchdogSeconds != 0 && (time.Duration(ua.WatchdogSeconds)*time.Second < protocol.MinWatchdog || time.Duration(ua.WatchdogSeconds)*time.Second > protocol.MaxWatchdog) {
		return updatePlan{}, Errorf(protocol.CodeBadArgs, "Refused: a watchdog of %d s is outside %v to %v.", "Abgelehnt: Eine Überwachungszeit von %d s liegt außerhalb von %v bis %v.",
			ua.WatchdogSeconds, protocol.MinWatchdog, protocol.MaxWatchdog)
	}
	return updatePlan{m: m}, nil
}

// checkBuildFile checks a downloaded build against its manifest and its
// executable header against this platform.
func checkBuildFile(path string, m release.Manifest, goos, goarch string) error {
	f, err := os.Open(path)
	if err != nil {
		return fileErr(path, err)
	}
	defer f.Close()
	if err := m.Check(f); err != nil {
		return Errorf(protocol.CodeHashMismatch, "Refused: the downloaded build does not match its signed manifest (tampered or truncated): %v",
			"Abgelehnt: Der heruntergeladene Build passt nicht zu seinem signierten Manifest (verändert oder abgeschnitten): %v", err)
	}
	fos, farch, err := release.Platform(f)
	if err != nil || fos != goos || farch != goarch {
		if err == nil {
			err = fmt.Errorf("%s/%s", fos, farch)
		}
		return Errorf(protocol.CodeWrongPlatform, "Refused: the downloaded build is not an executable for %s/%s: %v",
			"Abgelehnt: Der heruntergeladene Build ist keine ausführbare Datei für %s/%s: %v", goos, goarch, err)
	}
	return nil
}

// agentUpdate runs ActionAgentUpdate up to the staged replacement; the
// watchdog is started by afterUpdate once the reply went out.
func (a *Agent) agentUpdate(ctx context.Context, ua protocol.AgentUpdateArgs) (any, error) {
	st, err := readUpdateState(a.opts.DataDir)
	if err != nil {
		a.log.Warn("reading the update state", "err", err)
	}
	plan, err := checkUpdate(ua, a.upd.publicKeys(), a.upd.local, len(a.cfg.ScriptSigner) > 0, Version, runtime.GOOS, runtime.GOARCH, st.Rejected)
	if err != nil {
		return nil, err
	}
	if plan.current {
		return protocol.AgentUpdateResult{State: protocol.UpdateCurrent, From: Version, To: plan.m.Version}, nil
	}
	u := a.upd
	u.mu.Lock()
	if u.busy || u.staged != nil || (st.Phase == PhaseTrial && !u.trial) {
		u.mu.Unlock()
		return nil, Errorf(protocol.CodeBusy, "Refused: an update of this agent is already under way.", "Abgelehnt: Eine Aktualisierung dieses Agenten läuft bereits.")
	}
	u.busy = true
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		u.busy = false
		u.mu.Unlock()
	}()
	exe, err := a.executable()
	if err != nil {
		return nil, Errorf(protocol.CodeFailed, "Cannot find this agent's executable: %v", "Die Programmdatei dieses Agenten ist nicht auffindbar: %v", err)
	}
	d := a.downloader()
	unhold := d.hold(plan.m.SHA256)
	defer unhold()
	path, err := d.Fetch(ctx, BlobRef{SHA256: plan.m.SHA256, Size: plan.m.Size, Ticket: ua.Ticket})
	if err != nil {
		return nil, err
	}
	defer d.discard(plan.m.SHA256)
	if err := checkBuildFile(path, plan.m, runtime.GOOS, runtime.GOARCH); err != nil {
		os.Remove(path)
		return nil, err
	}
	watch := time.Duration(ua.WatchdogSeconds) * time.Second
	if watch == 0 {
		watch = protocol.DefaultWatchdog
	}
	now := time.Now().UTC()
	next := UpdateState{
		RolloutID: ua.RolloutID, From: Version, To: plan.m.Version, SHA256: plan.m.SHA256, Exe: exe,
		Args: a.opts.Args, Service: a.opts.Service, PID: os.Getpid(), WatchdogSeconds: int(watch / time.Second),
		Deadline: now.Add(watch + watchdogSlack), Phase: PhaseTrial, Staged: now, Rejected: st.Rejected,
	}
	if err := stageUpdate(path, &next, a.opts.DataDir, nil); err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.staged = &next
	u.mu.Unlock()
	a.log.Info("staged an agent update; restarting through the watchdog", "from", next.From, "to", next.To, "watchdog", watch)
	return protocol.AgentUpdateResult{State: protocol.UpdateRestarting, From: next.From, To: next.To}, nil
}

// watchdogSlack is added to the deadline written at staging, for the time
// the watchdog needs to start; the watchdog sets the real one when it
// restarts the agent.
const watchdogSlack = time.Minute

// afterUpdate starts the watchdog from the previous binary once the reply
// went out; the watchdog restarts the agent. A watchdog that cannot start
// leaves the new build in place for the next start of the agent, which
// starts the watchdog itself (recoverUpdate).
func (a *Agent) afterUpdate() {
	a.upd.mu.Lock()
	st := a.upd.staged
	a.upd.mu.Unlock()
	if st == nil {
		return // UpdateCurrent
	}
	err := startWatchdog(a.opts.DataDir, st.Exe, a.opts.Service)
	if err == nil {
		return
	}
	// Without a watchdog nobody restarts the agent or rolls back: undo
	// the replacement and report why.
	a.log.Error("cannot start the update watchdog; restoring the previous build", "err", err)
	if rerr := restorePrev(st.Exe); rerr != nil {
		a.log.Error("restoring the previous build; the new build runs at the agent's next start", "err", rerr)
		return
	}
	fail := *st
	fail.Phase = PhaseFailed
	fail.Report = &protocol.UpdateReport{RolloutID: st.RolloutID, From: st.From, To: st.To, State: core.UpdateFailed, Code: protocol.CodeFailed, At: time.Now().UTC(),
		Message: updateReportText("The update watchdog could not be started (%v); %s was restored.", "Der Update-Wächter konnte nicht gestartet werden (%v); %s wurde wiederhergestellt.", err, st.From)}
	if werr := writeUpdateState(a.opts.DataDir, fail); werr != nil {
		a.log.Error("recording the failed update", "err", werr)
	}
	a.upd.mu.Lock()
	a.upd.staged, a.upd.report = nil, fail.Report
	a.upd.mu.Unlock()
}

// executable is the agent's own executable file, symbolic links resolved.
func (a *Agent) executable() (string, error) {
	exe := a.opts.Executable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", err
		}
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	return filepath.Abs(exe)
}

// updateReportText builds the English and German text of a report.
func updateReportText(en, de string, args ...any) core.Text {
	return core.Text{EN: fmt.Sprintf(en, args...), DE: fmt.Sprintf(de, args...)}
}

// recoverUpdate settles, at the start, what an update left behind: a
// build on trial remembers to commit itself once welcomed and starts a
// watchdog if none runs (the agent was started by a reboot or its service
// manager after a power cut); an outcome not yet reported is sent in the
// next auth.
func (a *Agent) recoverUpdate() {
	exe, err := a.executable()
	if err != nil {
		a.log.Warn("cannot find this agent's executable; skipping the update check", "err", err)
		return
	}
	now := time.Now().UTC()
	st, trial, err := resolveUpdate(a.opts.DataDir, exe, Version, now)
	if err != nil {
		a.log.Error("settling the last update", "err", err)
	}
	u := a.upd
	u.mu.Lock()
	u.trial = trial
	switch {
	case trial:
		u.report = &protocol.UpdateReport{RolloutID: st.RolloutID, From: st.From, To: st.To, State: core.UpdateDone, At: now,
			Message: updateReportText("Updated from %s to %s.", "Von %s auf %s aktualisiert.", st.From, st.To)}
	case st.Report != nil:
		r := *st.Report
		u.report = &r
	}
	u.mu.Unlock()
	if trial {
		a.log.Info("running a new build on trial", "from", st.From, "to", st.To, "deadline", st.Deadline)
		if !watchdogAlive(st) {
			a.log.Warn("no update watchdog runs; starting one")
			if err := startWatchdog(a.opts.DataDir, st.Exe, st.Service); err != nil {
				a.log.Error("cannot start the update watchdog", "err", err)
			}
		}
	}
}
