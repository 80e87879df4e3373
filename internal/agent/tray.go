package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// trayRetry is the wait before listening again after the tray socket or
// pipe failed.
const trayRetry = time.Minute

// serveTray serves the tray apps until ctx ends. A failure to listen (the
// directory cannot be made, another agent holds the address) is logged
// and tried again later; it never stops the monitoring.
func (a *Agent) serveTray(ctx context.Context) {
	addr := cmp.Or(a.cfg.TrayAddress, trayipc.DefaultAddress())
	log := a.log.With("part", "tray", "addr", addr)
	for ctx.Err() == nil {
		l, err := trayipc.Listen(addr)
		if err == nil {
			log.Info("serving the tray apps")
			err = trayipc.Serve(ctx, l, a.handleTray, log)
			l.Close()
		}
		if ctx.Err() != nil {
			return
		}
		log.Warn("cannot serve the tray apps; trying again later", "err", err, "retry_in", trayRetry)
		t := time.NewTimer(trayRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// trayAlive: a tray that asked within this long counts as connected (the
// trays ask for the status every few seconds).
const trayAlive = time.Minute

func trayErr(code, en, de string, args ...any) *trayipc.Error {
	return &trayipc.Error{Code: code, Message: core.Text{EN: fmt.Sprintf(en, args...), DE: fmt.Sprintf(de, args...)}}
}

// handleTray answers one request of a tray app (trayipc.Handler). Nothing
// it does starts a program; the user is always the peer the OS reported.
func (a *Agent) handleTray(_ context.Context, p trayipc.Peer, op string, data json.RawMessage) (any, error) {
	now := a.now()
	a.trayMu.Lock()
	if _, ok := a.traySeen[p.UID]; ok || len(a.traySeen) < maxTrays {
		a.traySeen[p.UID] = now
	}
	a.trayMu.Unlock()
	switch op {
	case trayipc.OpStatus:
		return a.trayStatus(), nil
	case trayipc.OpIcon:
		t := a.plan.trayBranding()
		if t == nil || len(t.Icon) == 0 {
			return nil, trayErr(trayipc.CodeNotFound, "No icon is set.", "Es ist kein Symbol festgelegt.")
		}
		return trayipc.Icon{PNG: t.Icon, SHA256: t.IconSHA256}, nil
	case trayipc.OpSupport:
		var s trayipc.SupportArgs
		if err := decodeTray(data, &s); err != nil {
			return nil, err
		}
		ref, err := a.support.add(p, s, now)
		if err != nil {
			return nil, err
		}
		a.log.Info("support request from the tray", "ref", ref, "user", p.User)
		return trayipc.SupportReply{Ref: ref}, nil
	case trayipc.OpRequests:
		return a.support.requests(p), nil
	case trayipc.OpReboot:
		var r trayipc.RebootArgs
		if err := decodeTray(data, &r); err != nil {
			return nil, err
		}
		return a.trayReboot(p, r.Choice, now)
	}
	return nil, trayErr(trayipc.CodeUnknownOp, "Unknown operation %q.", "Unbekannte Operation %q.", truncate(op, 64))
}

// maxTrays bounds the trays remembered as connected (one per user).
const maxTrays = 1000

// decodeTray decodes a request's data strictly.
func decodeTray(data json.RawMessage, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return trayErr(trayipc.CodeBadRequest, "Malformed request: %v.", "Fehlerhafte Anfrage: %v.", truncate(err.Error(), 200))
	}
	return nil
}

// trayActive says whether a tray asked within trayAlive of now.
func (a *Agent) trayActive(now time.Time) bool {
	a.trayMu.Lock()
	defer a.trayMu.Unlock()
	for uid, t := range a.traySeen {
		if now.Sub(t) < trayAlive {
			return true
		}
		delete(a.traySeen, uid)
	}
	return false
}

// rebootPrompt is the restart to ask the users about: one planned by the
// "ask" mode (asked before, or a reminder planned), not yet started.
func rebootPrompt(st patchState, eff core.PatchPolicy) *trayipc.Reboot {
	if !st.Reboot.Pending || st.RebootAt.IsZero() || st.AskAt.IsZero() && st.Asked == 0 {
		return nil
	}
	return &trayipc.Reboot{Deadline: st.RebootAt, DeferralsLeft: max(eff.Reboot.Deferrals-st.Asked, 0)}
}

// trayReboot is a user's answer to the restart prompt: "now" makes the
// deadline now (the patch loop restarts through its usual path, goodbye
// first); "later" uses one deferral, refused when none is left.
func (a *Agent) trayReboot(p trayipc.Peer, choice string, now time.Time) (trayipc.RebootReply, error) {
	if choice != trayipc.RebootNow && choice != trayipc.RebootLater {
		return trayipc.RebootReply{}, trayErr(trayipc.CodeBadRequest, "Unknown choice %q.", "Unbekannte Auswahl %q.", truncate(choice, 64))
	}
	pol := a.plan.patchPolicy()
	if pol == nil || !pol.Enabled {
		return trayipc.RebootReply{}, errNoRebootPrompt
	}
	eff := patch.Defaults(pol.PatchPolicy)
	a.patch.mu.Lock()
	defer a.patch.mu.Unlock()
	prompt := rebootPrompt(a.patch.st, eff)
	if prompt == nil {
		return trayipc.RebootReply{}, errNoRebootPrompt
	}
	if choice == trayipc.RebootNow {
		a.patch.st.RebootAt = now.UTC()
		a.patch.saveLocked()
		a.patch.wake()
		a.log.Info("a user chose to restart now", "user", p.User)
		return trayipc.RebootReply{At: now.Add(time.Minute).UTC(), DeferralsLeft: prompt.DeferralsLeft}, nil
	}
	if prompt.DeferralsLeft == 0 {
		at := prompt.Deadline.In(a.sched.loc)
		return trayipc.RebootReply{}, &trayipc.Error{Code: trayipc.CodeRefused, Message: core.Text{
			EN: "The restart cannot be postponed any more; it happens at " + at.Format("2006-01-02 15:04") + " at the latest.",
			DE: "Der Neustart kann nicht mehr verschoben werden; er erfolgt spätestens am " + at.Format("02.01.2006 15:04") + ".",
		}}
	}
	a.patch.deferLocked(now, eff.Reboot.Deferrals)
	a.log.Info("a user postponed the restart", "user", p.User, "deadline", prompt.Deadline)
	return trayipc.RebootReply{At: a.patch.st.RebootAt, DeferralsLeft: prompt.DeferralsLeft - 1}, nil
}

var errNoRebootPrompt = trayErr(trayipc.CodeNotFound, "No restart is waiting for an answer.", "Es wartet kein Neustart auf eine Antwort.")
