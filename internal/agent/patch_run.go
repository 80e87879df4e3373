package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/updates"
)

func init() {
	// Scanning changes nothing, but the protocol lets the local lock stop
	// both patch actions; the daily scan runs under the lock as well.
	RegisterAction(protocol.ActionUpdatesScan, Action{Lock: protocol.LockPatches,
		Do: func(_ context.Context, a *Agent, _ json.RawMessage) (any, error) {
			if _, err := a.patchOn(); err != nil {
				return nil, err
			}
			a.patch.mu.Lock()
			a.patch.scanWanted = true
			a.patch.mu.Unlock()
			a.patch.wake()
			return nil, nil
		}})
	RegisterAction(protocol.ActionUpdatesInstall, Action{Lock: protocol.LockPatches,
		Do: func(_ context.Context, a *Agent, args json.RawMessage) (any, error) {
			var r protocol.UpdatesInstallArgs
			if err := decodeArgs(protocol.ActionUpdatesInstall, args, &r); err != nil {
				return nil, err
			}
			return a.installNow(r)
		}})
}

// patchOn returns the running patch policy, or the refusal when patch
// management is off on this device.
func (a *Agent) patchOn() (*protocol.PatchPolicy, error) {
	pol := a.plan.patchPolicy()
	if pol == nil || !pol.Enabled {
		return nil, Errorf(protocol.CodeFailed, "Patch management is off in this device's policy.",
			"Die Patchverwaltung ist in der Richtlinie dieses Geräts ausgeschaltet.")
	}
	return pol, nil
}

// patchesLocked says whether the local lock stops installing updates.
func (a *Agent) patchesLocked() bool { return slices.Contains(a.cfg.Disable, protocol.LockPatches) }

// installNow is the updates-install action: it checks the keys against
// the last scan and the policy's exclusions, answers at once and installs
// in the background (Trigger "manual").
func (a *Agent) installNow(r protocol.UpdatesInstallArgs) (protocol.UpdatesInstallReply, error) {
	var reply protocol.UpdatesInstallReply
	pol, err := a.patchOn()
	if err != nil {
		return reply, err
	}
	switch r.Reboot {
	case "", core.RebootModeNever, core.RebootModeWindow, core.RebootModeAsk, core.RebootModeForce:
	default:
		return reply, Errorf(protocol.CodeBadArgs, "Unknown reboot mode %q.", "Unbekannter Neustart-Modus %q.", r.Reboot)
	}
	eff := patch.Defaults(pol.PatchPolicy)
	keys := r.Keys
	if len(keys) == 0 {
		if !r.Approved {
			return reply, Errorf(protocol.CodeBadArgs, "No updates named.", "Keine Updates angegeben.")
		}
		for _, u := range a.patch.candidates(pol, eff) {
			keys = append(keys, u.Key)
		}
	}
	if len(keys) > protocol.MaxPatchUpdates {
		return reply, Errorf(protocol.CodeBadArgs, "Too many updates (%d).", "Zu viele Updates (%d).", len(keys))
	}
	us, refused := a.patch.checkKeys(keys, eff)
	reply.Started = []string{}
	if len(refused) > 0 {
		reply.Refused = refused
	}
	if len(us) == 0 {
		return reply, nil
	}
	if !a.patch.tryBegin() {
		return protocol.UpdatesInstallReply{}, Errorf(protocol.CodeBusy, "An installation of updates is running on this device.",
			"Auf diesem Gerät läuft bereits eine Installation von Updates.")
	}
	for _, u := range us {
		reply.Started = append(reply.Started, u.Key)
	}
	ctx := a.root
	a.patchRuns.Go(func() {
		defer a.patch.end()
		a.patch.run.Lock()
		defer a.patch.run.Unlock()
		res := a.patch.install(ctx, us, TriggerManual, eff.MaxFailures, a.now)
		if ctx.Err() != nil {
			return
		}
		a.afterInstall(ctx, pol, eff, r.Reboot, res, time.Time{})
	})
	return reply, nil
}

// runPatches runs the patch schedule until ctx ends: the daily scan (a
// missed one at the next start), scans asked for, installs in the window
// and restarts per policy.
func (a *Agent) runPatches(ctx context.Context) {
	for ctx.Err() == nil {
		a.patchStep(ctx, a.now())
		t := time.NewTimer(maxSleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.patch.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// patchStep does what is due at now.
func (a *Agent) patchStep(ctx context.Context, now time.Time) {
	pol := a.plan.patchPolicy()
	if pol == nil || !pol.Enabled {
		return
	}
	eff := patch.Defaults(pol.PatchPolicy)
	h, m, err := patch.ParseAt(eff.ScanAt)
	if err != nil {
		h, m = 12, 0
	}
	a.patch.mu.Lock()
	wanted, last := a.patch.scanWanted, a.patch.st.ScannedAt
	a.patch.scanWanted = false
	a.patch.mu.Unlock()
	if wanted || inventoryDue(last, now, a.sched.loc, h, m) {
		a.patch.run.Lock()
		a.patch.scan(ctx, eff, now)
		a.patch.run.Unlock()
		if ctx.Err() != nil {
			return
		}
		a.patchVerify(pol, eff, now)
	}
	if eff.Install && !a.patchesLocked() {
		a.patchSchedule(ctx, pol, eff, now)
	}
	a.patchReboot(ctx, eff, now)
}

// patchSchedule installs the approved updates when a window is open that
// has not run yet, or a skipped run's retry is due inside its window.
func (a *Agent) patchSchedule(ctx context.Context, pol *protocol.PatchPolicy, eff core.PatchPolicy, now time.Time) {
	st := a.patch.state()
	retry := !st.RetryAt.IsZero() && !now.Before(st.RetryAt) && now.Before(st.RetryUntil)
	w, open := patch.OpenWindow(eff.Schedule, pol.Windows, st.LastRun, now, a.sched.loc)
	if open && !st.LastRun.Before(w.Start) {
		open = false // this window ran already
	}
	if !open && !retry {
		return
	}
	if !a.patch.tryBegin() {
		return // a technician's install runs: the window is tried again after it
	}
	defer a.patch.end()
	a.patch.run.Lock()
	defer a.patch.run.Unlock()
	until := st.RetryUntil
	if open {
		until = w.End
		if !until.After(now) {
			// Started late (the device was off): the run gets a window's length.
			until = now.Add(time.Duration(eff.Schedule.WindowMinutes) * time.Minute)
		}
	}
	a.patch.mu.Lock()
	if open {
		a.patch.st.LastRun = w.Start.UTC()
	}
	a.patch.st.RetryAt, a.patch.st.RetryUntil = time.Time{}, time.Time{}
	if open && a.patch.st.Reboot.Pending && eff.Reboot.Mode == core.RebootModeWindow && a.patch.st.RebootAt.IsZero() {
		a.patch.st.RebootAt = until.UTC() // a restart left pending by an earlier install
	}
	a.patch.saveLocked()
	a.patch.mu.Unlock()
	cands := a.patch.candidates(pol, eff)
	if len(cands) == 0 {
		return
	}
	a.log.Info("installing updates in the window", "updates", len(cands), "until", until)
	res := a.patch.install(ctx, cands, TriggerSchedule, eff.MaxFailures, a.now)
	if ctx.Err() != nil {
		return
	}
	if res.skipped > 0 {
		if next := a.now().Add(patchRetry); next.Before(until) {
			a.patch.mu.Lock()
			a.patch.st.RetryAt, a.patch.st.RetryUntil = next.UTC(), until.UTC()
			a.patch.saveLocked()
			a.patch.mu.Unlock()
		}
	}
	a.afterInstall(ctx, pol, eff, "", res, until)
}

// afterInstall scans again, reports, and plans the restart the installs
// need per policy (mode overrides it for a technician's run); windowEnd
// is the end of the window the run belongs to (zero: none).
func (a *Agent) afterInstall(ctx context.Context, pol *protocol.PatchPolicy, eff core.PatchPolicy, mode string, res installResult, windowEnd time.Time) {
	now := a.now()
	a.patch.scan(ctx, eff, now)
	if ctx.Err() != nil {
		return
	}
	if mode == "" {
		mode = eff.Reboot.Mode
	}
	a.patch.mu.Lock()
	if res.rebootNeeded && !a.patch.st.Reboot.Pending {
		// The source says so even if the OS shows no sign yet.
		a.patch.setRebootLocked(core.RebootState{Pending: true, Reasons: []string{"install"}}, now)
		a.patch.newReportLocked()
	}
	if a.patch.st.Reboot.Pending && res.installed+res.failed > 0 {
		switch mode {
		case core.RebootModeForce:
			a.patch.st.RebootAt = now.UTC()
		case core.RebootModeWindow:
			if !windowEnd.IsZero() {
				a.patch.st.RebootAt = windowEnd.UTC()
			}
		case core.RebootModeAsk:
			if a.patch.st.RebootAt.IsZero() {
				a.patch.st.RebootAt = now.Add(time.Duration(eff.Reboot.DeadlineHours) * time.Hour).UTC()
				a.patch.st.AskAt, a.patch.st.Asked = now.UTC(), 0
			}
		}
	}
	a.patch.saveLocked()
	a.patch.mu.Unlock()
	a.patchVerify(pol, eff, now)
	a.patchReboot(ctx, eff, now)
}

// patchReboot restarts the machine when a planned restart is due, or a
// restart has been pending ForceAfterDays (in every mode but never), and
// asks the users before the deadline of "ask".
func (a *Agent) patchReboot(ctx context.Context, eff core.PatchPolicy, now time.Time) {
	st := a.patch.state()
	if !st.Reboot.Pending || eff.Reboot.Mode == core.RebootModeNever && st.RebootAt.IsZero() {
		return
	}
	due := !st.RebootAt.IsZero() && !now.Before(st.RebootAt)
	if d := eff.Reboot.ForceAfterDays; d > 0 && eff.Reboot.Mode != core.RebootModeNever && !st.Reboot.Since.IsZero() &&
		now.Sub(st.Reboot.Since) >= time.Duration(d)*24*time.Hour {
		due = true
	}
	if !due && !st.AskAt.IsZero() && !now.Before(st.AskAt) && st.Asked <= eff.Reboot.Deferrals && !a.trayActive(now) {
		// With a tray connected its user sees the prompt (OpStatus) and
		// defers it there; without one, an OS notice counts as a deferral.
		left := st.RebootAt.Sub(now).Round(time.Minute)
		msg := core.Text{
			EN: fmt.Sprintf("Updates were installed on this computer. Please save your work and restart it; it restarts automatically at %s (in %s).", st.RebootAt.In(a.sched.loc).Format("2006-01-02 15:04"), left),
			DE: fmt.Sprintf("Auf diesem Computer wurden Updates installiert. Bitte sichern Sie Ihre Arbeit und starten Sie ihn neu; er startet am %s (in %s) automatisch neu.", st.RebootAt.In(a.sched.loc).Format("02.01.2006 15:04"), left),
		}
		if err := a.patch.boot.notify(ctx, msg); err != nil {
			a.log.Warn("cannot ask the users to restart", "err", err)
		}
		a.patch.mu.Lock()
		a.patch.deferLocked(now, eff.Reboot.Deferrals)
		a.patch.mu.Unlock()
	}
	if !due || now.Sub(st.RebootIssued) < patchRebootAgain {
		return
	}
	link := a.invLink.Load()
	if link != nil && link.ended() {
		link = nil
	}
	a.patch.mu.Lock()
	if link == nil {
		// Without a session the server cannot be told: wait a while for
		// one (the agent may have just started), then restart anyway.
		if a.patch.noLinkSince.IsZero() {
			a.patch.noLinkSince = now
		}
		if now.Sub(a.patch.noLinkSince) < patchGoodbyeWait {
			a.patch.mu.Unlock()
			return
		}
	}
	a.patch.noLinkSince = time.Time{}
	a.patch.st.RebootIssued, a.patch.st.RebootAt, a.patch.st.AskAt = now.UTC(), time.Time{}, time.Time{}
	a.patch.saveLocked()
	a.patch.mu.Unlock()
	// Say goodbye first, so that the server expects the restart and
	// raises no offline alert.
	if link != nil {
		if err := link.c.send(protocol.TypeGoodbye, "", protocol.Goodbye{Reason: protocol.GoodbyeReboot}); err != nil {
			a.log.Warn("cannot announce the restart", "err", err)
		}
	}
	a.log.Info("restarting the machine to finish installing updates", "pending_since", st.Reboot.Since, "reasons", st.Reboot.Reasons)
	msg := core.Text{EN: "This computer restarts in one minute to finish installing updates.",
		DE: "Dieser Computer startet in einer Minute neu, um die Installation von Updates abzuschließen."}
	if err := a.patch.boot.reboot(ctx, msg); err != nil {
		a.log.Error("cannot restart the machine", "err", err)
	}
}

// patchVerify spools the daily verification, the "patches" check result
// (patch.Verify: never OK without a successful scan). A machine without
// any update source Wacht knows says so.
func (a *Agent) patchVerify(pol *protocol.PatchPolicy, eff core.PatchPolicy, now time.Time) {
	st := a.patch.state()
	v := patch.Verify(eff, pol.Decisions, st.Missing, st.Reboot, st.Sources, now)
	if len(st.Sources) == 0 {
		v.Message = localized(updates.NoSourcesError())
	}
	value := v.Value
	a.store([]core.Result{{ID: core.NewResultID(), Check: core.PatchCheckName, Status: v.Status, Value: &value,
		Message: core.Text{EN: truncate(v.Message.EN, 4000), DE: truncate(v.Message.DE, 4000)},
		At:      now.UTC().Truncate(time.Millisecond)}})
}

// runPatchReports sends the waiting patch report on the welcomed session
// until the server acknowledges it; a report left unanswered is sent
// again after a back-off, and after every reconnect.
func (a *Agent) runPatchReports(ctx context.Context) {
	for ctx.Err() == nil {
		wait := maxSleep
		if link := a.invLink.Load(); link != nil && !link.ended() {
			r, retry := a.patch.pending(a.now())
			if r != nil {
				a.sendPatchReport(ctx, link, r)
				continue
			}
			if !retry.IsZero() {
				wait = min(max(retry.Sub(a.now()), 0), maxSleep)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.patch.sendKick:
			t.Stop()
		case <-t.C:
		}
	}
}

// sendPatchReport sends r and waits for its acknowledgement.
func (a *Agent) sendPatchReport(ctx context.Context, link *invLink, r *patchPending) {
	err := link.c.send(protocol.TypePatchReport, r.ID, r.Report)
	if err == nil {
		a.log.Info("patch report sent", "missing", len(r.Report.Missing), "attempts", len(r.Report.Attempts))
		err = a.waitPatchAck(ctx, link, r.ID)
	}
	switch {
	case err == nil:
		a.patch.acked(r.ID)
	case errors.Is(err, errPatchRejected):
		// The same report would be refused again: drop it; the next scan
		// makes a new one.
		a.patch.acked(r.ID)
		a.log.Error("the server refused the patch report", "err", err)
	case ctx.Err() != nil:
	case errors.Is(err, errSessionEnded) || link.ended():
		// The next session sends it again at once.
		a.log.Info("session ended before the patch report was acknowledged; resending on the next", "err", err)
	default:
		next := a.patch.unanswered(a.now())
		a.log.Warn("patch report not acknowledged", "err", err, "retry_at", next)
	}
}

// ended says whether the session of link is over.
func (l *invLink) ended() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

var (
	errSessionEnded  = errors.New("session ended before the answer came")
	errUnanswered    = errors.New("no answer in time")
	errPatchRejected = errors.New("patch report rejected")
)

// waitAck waits on acks for the answer to message id (a patch report, a
// support request), until the session ends or twice the results' ack
// timeout passes.
func (a *Agent) waitAck(ctx context.Context, link *invLink, acks <-chan protocol.Envelope, id string) (protocol.Envelope, error) {
	t := time.NewTimer(2 * a.opts.AckTimeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return protocol.Envelope{}, ctx.Err()
		case <-link.done:
			return protocol.Envelope{}, errSessionEnded
		case <-t.C:
			return protocol.Envelope{}, errUnanswered
		case env := <-acks:
			if env.ID == id {
				return env, nil
			}
			// A late answer to a replaced or abandoned message.
		}
	}
}

// waitPatchAck waits for the acknowledgement of report id.
func (a *Agent) waitPatchAck(ctx context.Context, link *invLink, id string) error {
	env, err := a.waitAck(ctx, link, a.patch.acks, id)
	if err != nil {
		return err
	}
	var ack protocol.PatchAck
	if err := protocol.DecodeData(env, &ack); err != nil {
		return err
	}
	switch ack.Status {
	case protocol.PatchStored:
	case protocol.PatchRejected:
		return fmt.Errorf("%w: %s", errPatchRejected, ack.Reason)
	default:
		return fmt.Errorf("patch report not stored: %q", ack.Status)
	}
	return nil
}
