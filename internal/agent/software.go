package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/swdetect"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Desired software state (issue 17): the signed policy's entries say that
// a package must be installed (at least in a version) or absent. The
// agent checks each with the package's detection rule at start, when the
// policy changes, every hour and when asked (run-checks); on a drift it
// installs or removes the package through the package actions' own path
// (runPackage: verified download, journal, exit codes, detection after the
// run) with a run ID it names per attempt, recorded as pending in
// software.json before anything runs. A failed attempt backs off (15 min,
// doubling up to 24 h; 10 min for "another installation runs"), persisted
// across restarts; a changed entry starts afresh. Each check reports the
// entry's state as a result of the entry's check name. Lock mode and the
// local software lock refuse it as they refuse the signed actions.

// runSoftware checks the policy's entries until ctx ends. An entry's
// check and attempt run in the background, one at a time per entry, and
// never block the checks.
func (a *Agent) runSoftware(ctx context.Context) {
	every := a.opts.SoftwareEvery
	checked := map[string]time.Time{} // when each entry was last checked
	again := map[string]bool{}        // changed while its check ran: check it once more
	select {
	case <-a.plan.softwareChanged: // the plan of the start: checked now anyway
	default:
	}
	kicked := false
	for ctx.Err() == nil {
		entries := a.plan.softwareList()
		now := a.now()
		var wake time.Time
		seen := map[string]bool{}
		for _, e := range entries {
			seen[e.Check] = true
			last, ok := checked[e.Check]
			next := last.Add(every)
			if na := a.software.get(e).NextAttempt; na.After(last) && na.Before(next) {
				next = na // the back-off ends before the next hourly check
			}
			if ok && !again[e.Check] && !kicked && now.Before(next) {
				if wake.IsZero() || next.Before(wake) {
					wake = next
				}
				continue
			}
			if a.startSoftware(ctx, e) {
				checked[e.Check], again[e.Check] = now, false
			} else if !ok {
				// New or changed (the policy changed) while the check of its
				// former definition runs. A check asked for or due while one
				// runs is answered by the running one.
				again[e.Check] = true
			}
		}
		kicked = false
		for c := range checked {
			if !seen[c] {
				delete(checked, c)
				delete(again, c)
			}
		}
		wait := maxSleep
		if !wake.IsZero() {
			wait = min(max(wake.Sub(now), 0), maxSleep)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-a.plan.softwareChanged:
			clear(checked)
		case <-a.swKick:
			kicked = true
		case <-a.swDone:
		case <-t.C:
		}
		t.Stop()
	}
}

// checkSoftware asks the software loop to check every entry now.
func (a *Agent) checkSoftware() {
	select {
	case a.swKick <- struct{}{}:
	default:
	}
}

// startSoftware checks e in the background unless it is being checked.
func (a *Agent) startSoftware(ctx context.Context, e protocol.Software) bool {
	if !a.software.claim(e.Check) {
		return false
	}
	a.swRuns.Go(func() {
		defer func() {
			a.software.release(e.Check)
			select {
			case a.swDone <- struct{}{}:
			default:
			}
		}()
		if r, ok := a.enforce(ctx, e); ok {
			a.store([]core.Result{r})
		}
	})
	return true
}

// recoverSoftware settles the attempts in flight when the agent stopped,
// before the first check: one whose installer had started counts as a
// failed attempt (interrupted, not run again), one that finished as what
// the journal recorded, one that never started as nothing.
func (a *Agent) recoverSoftware() {
	entries := map[string]protocol.Software{}
	for _, e := range a.plan.softwareList() {
		entries[e.Check] = e
	}
	for check, id := range a.software.pending() {
		e, inPolicy := entries[check]
		done, started := a.scripts().journaled(id)
		if !inPolicy || !started {
			a.software.settle(check)
			continue
		}
		var res protocol.PackageResult
		if done == nil || recorded(id, swAction(e), done, &res) != nil {
			why := core.Text{EN: fmt.Sprintf("The attempt %s was interrupted: the agent stopped while it ran.", id),
				DE: fmt.Sprintf("Der Versuch %s wurde unterbrochen: der Agent wurde während der Ausführung beendet.", id)}
			a.software.end(e, swFailed, why, a.now(), time.Time{}, a.opts.SoftwareBackoff, a.opts.SoftwareRetry)
			continue
		}
		o, why := attemptOutcome(res, nil)
		a.software.end(e, o, why, a.now(), time.Time{}, a.opts.SoftwareBackoff, a.opts.SoftwareRetry)
	}
}

// swAction is the package action that brings e into its state.
func swAction(e protocol.Software) string {
	if e.State == core.SoftwareAbsent {
		return protocol.ActionUninstall
	}
	return protocol.ActionInstall
}

// enforce checks e and acts on a drift; it returns the result to report
// (ok false when the agent stopped meanwhile).
func (a *Agent) enforce(ctx context.Context, e protocol.Software) (core.Result, bool) {
	pa := e.Package
	pa.RunID = "x" // the agent names each attempt
	pa.Detection.MinVersion = e.MinVersion
	if e.State == core.SoftwareAbsent {
		pa.Detection.MinVersion = "" // any version is one too many
	} else if e.MinVersion == "" {
		pa.Detection.MinVersion = e.Package.Detection.MinVersion
	}
	name := pa.Name
	if err := pa.Validate(); err != nil {
		return swResult(e, core.StatusError, core.Text{EN: fmt.Sprintf("The desired state of %s cannot be enforced: bad package: %v.", name, err),
			DE: fmt.Sprintf("Der Sollzustand von %s lässt sich nicht durchsetzen: fehlerhaftes Paket: %v.", name, err)}), true
	}
	action := swAction(e)
	h, _ := lookupAction(action)
	if err := a.allows(action, h); err != nil {
		why := errText(err)
		return swResult(e, core.StatusError, core.Text{EN: fmt.Sprintf("The desired state of %s is not enforced: %s", name, why.EN),
			DE: fmt.Sprintf("Der Sollzustand von %s wird nicht durchgesetzt: %s", name, why.DE)}), true
	}
	det := swdetect.Detect(ctx, pa.Detection)
	if ctx.Err() != nil {
		return core.Result{}, false
	}
	if det.State == swdetect.StateError || det.State == swdetect.StateUnsupported {
		return swResult(e, core.StatusError, core.Text{EN: fmt.Sprintf("Cannot tell whether %s is installed (%s): %v.", name, det.State, det.Err),
			DE: fmt.Sprintf("Ob %s installiert ist, lässt sich nicht feststellen (%s): %v.", name, det.State, det.Err)}), true
	}
	now := a.now()
	drift, ok := driftText(e, name, det)
	if ok {
		rec := a.software.end(e, swDone, core.Text{}, now, time.Time{}, a.opts.SoftwareBackoff, a.opts.SoftwareRetry)
		return a.inState(e, rec, name, det.Version), true
	}
	if rec := a.software.get(e); now.Before(rec.NextAttempt) {
		why := core.Text{}
		if rec.Why != nil {
			why = *rec.Why
		}
		return swResult(e, core.StatusFailure, waiting(drift, why, rec.NextAttempt, now)), true
	}

	// One installer at a time on this device: two would collide (1618,
	// the package manager's lock).
	a.swActMu.Lock()
	defer a.swActMu.Unlock()
	if !slices.ContainsFunc(a.plan.softwareList(), func(x protocol.Software) bool { return x.Check == e.Check && swHash(x) == swHash(e) }) {
		return core.Result{}, false // changed or gone while it waited: checked anew
	}
	pa.RunID = a.software.begin(e, now)
	doing := core.Text{EN: "installing it now", DE: "wird jetzt installiert"}
	if e.State == core.SoftwareAbsent {
		doing = core.Text{EN: "removing it now", DE: "wird jetzt entfernt"}
	}
	a.store([]core.Result{swResult(e, core.StatusFailure, core.Text{EN: fmt.Sprintf("%s; %s (run %s).", drift.EN, doing.EN, pa.RunID),
		DE: fmt.Sprintf("%s; %s (Lauf %s).", drift.DE, doing.DE, pa.RunID)})})
	res, err := a.scripts().runPackage(ctx, a.downloader(), pa, e.State == core.SoftwareAbsent)
	if ctx.Err() != nil {
		return core.Result{}, false // stays pending: settled at the next start
	}
	o, why := attemptOutcome(res, err)
	var reboot time.Time
	if o == swDone && res.RebootNeeded {
		reboot = time.Now()
	}
	rec := a.software.end(e, o, why, a.now(), reboot, a.opts.SoftwareBackoff, a.opts.SoftwareRetry)
	if o != swDone {
		return swResult(e, core.StatusFailure, waiting(drift, why, rec.NextAttempt, a.now())), true
	}
	return a.inState(e, rec, name, res.Version), true
}

// driftText says how the detection's finding differs from e's state; ok
// when it does not.
func driftText(e protocol.Software, name string, det swdetect.Result) (core.Text, bool) {
	nv := nameVersion(name, det.Version)
	switch {
	case e.State == core.SoftwareAbsent && det.State == swdetect.StateAbsent,
		e.State == core.SoftwarePresent && det.State == swdetect.StateInstalled:
		return core.Text{}, true
	case e.State == core.SoftwareAbsent:
		return core.Text{EN: nv + " is installed but must be absent", DE: nv + " ist installiert, soll aber fehlen"}, false
	case det.State == swdetect.StateOlder:
		min := e.MinVersion
		if min == "" {
			min = e.Package.Detection.MinVersion
		}
		return core.Text{EN: fmt.Sprintf("%s is older than the required %s", nv, min), DE: fmt.Sprintf("%s ist älter als die verlangte Version %s", nv, min)}, false
	}
	return core.Text{EN: name + " is not installed", DE: name + " ist nicht installiert"}, false
}

// inState is the result of an entry in its state: ok, or a warning while
// an install waits for the restart it asked for.
func (a *Agent) inState(e protocol.Software, rec swRecord, name, version string) core.Result {
	nv := nameVersion(name, version)
	if e.State == core.SoftwareAbsent {
		return swResult(e, core.StatusOK, core.Text{EN: nv + " absent as required", DE: nv + " fehlt wie verlangt"})
	}
	if !rec.Reboot.IsZero() {
		if boot, err := host.BootTime(); err == nil && time.Unix(int64(boot), 0).After(rec.Reboot) {
			a.software.rebooted(e)
		} else {
			return swResult(e, core.StatusWarning, core.Text{EN: nv + " installed; a restart is needed to finish it",
				DE: nv + " installiert; ein Neustart ist nötig, um die Installation abzuschließen"})
		}
	}
	return swResult(e, core.StatusOK, core.Text{EN: nv + " installed", DE: nv + " installiert"})
}

// attemptOutcome maps an attempt's result (or the error before anything
// ran) to the back-off and its reason.
func attemptOutcome(res protocol.PackageResult, err error) (swOutcome, core.Text) {
	switch {
	case err != nil:
		return swFailed, errText(err)
	case res.Meaning == core.ExitRetry:
		return swBusy, res.Message
	case res.Meaning == core.ExitOK || res.Meaning == core.ExitReboot:
		return swDone, core.Text{}
	}
	return swFailed, res.Message
}

// waiting is the result text of an entry that waits for its next attempt.
func waiting(drift, why core.Text, next, now time.Time) core.Text {
	at := next.Local().Format("15:04")
	if y, m, d := next.Local().Date(); y != now.Local().Year() || m != now.Local().Month() || d != now.Local().Day() {
		at = next.Local().Format("2006-01-02 15:04")
	}
	if why.EN == "" {
		why = core.Text{EN: "The last attempt failed.", DE: "Der letzte Versuch schlug fehl."}
	}
	return core.Text{EN: fmt.Sprintf("%s: %s Next attempt at %s.", drift.EN, why.EN, at),
		DE: fmt.Sprintf("%s: %s Nächster Versuch um %s.", drift.DE, why.DE, at)}
}

func nameVersion(name, version string) string {
	if version == "" {
		return name
	}
	return name + " " + version
}

// errText is err's English and German text.
func errText(err error) core.Text {
	var ae *protocol.ActionError
	if errors.As(err, &ae) {
		return ae.Message
	}
	return core.Text{EN: err.Error(), DE: err.Error()}
}

// swResult is a result of e's check.
func swResult(e protocol.Software, s core.Status, msg core.Text) core.Result {
	return core.Result{ID: core.NewResultID(), Check: e.Check, Status: s, Message: core.Text{EN: truncate(msg.EN, 4000), DE: truncate(msg.DE, 4000)},
		At: time.Now().UTC().Truncate(time.Millisecond)}
}
