package alert

import (
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Params tune the evaluation of one check.
type Params struct {
	AlertAfter  int // consecutive failures before an outage (≥ 1)
	FlapChanges int
	FlapWindow  time.Duration
	// Maintenance: a maintenance window covers the result; the state
	// machine runs as always but nothing is notified.
	Maintenance bool
}

// OpenOutage is what Evaluate needs to know of the check's open outage.
type OpenOutage struct {
	Notified bool // its opening was notified
	Acked    bool
}

// Decision is the outcome of evaluating one result.
type Decision struct {
	State core.AlertState
	Open  bool   // open a new outage with ref State.OutageRef
	Close string // ref of the outage to close, if any
	// Notify lists the messages to send (notify.Kind*), in order.
	Notify []string
	// MarkNotified is set when the outage (new or open) is now notified.
	MarkNotified bool
	// Held is set when a maintenance window held back the opening
	// message of the outage State.OutageRef (see Engine.Release).
	Held bool
	// Ignored results (not newer than the last evaluated one, or statuses
	// that say nothing about the check's health) change only LastAt.
	Ignored bool
}

// Evaluate applies one result to a check's alert state. open describes
// the outage the state references (zero if none); newRef names a new one.
// It is a pure function of its inputs.
func Evaluate(a core.AlertState, r core.Result, p Params, open OpenOutage, newRef func() string) Decision {
	if p.AlertAfter < 1 {
		p.AlertAfter = 1
	}
	now := r.At
	// An old result delivered late, or one evaluated before and delivered
	// again (the agent resends a batch whose ack it missed). The store
	// keeps milliseconds, so compare at that precision.
	if a.Known && r.At.UnixMilli() <= a.LastAt.UnixMilli() {
		return Decision{State: a, Ignored: true}
	}
	if !a.Known {
		a.Known, a.State = true, core.AlertOK
	}
	a.LastAt = r.At
	cleared := a.ClearUntilPass || (a.ClearedUntil != nil && now.Before(*a.ClearedUntil))
	if a.ClearedUntil != nil && !now.Before(*a.ClearedUntil) {
		a.ClearedUntil = nil // expired
	}
	d := Decision{}

	changed := false
	switch r.Status {
	case core.StatusFailure:
		if a.State == core.AlertSoft || a.State == core.AlertFailure {
			a.Consecutive++
		} else {
			a.Consecutive = 1
		}
		if a.Consecutive >= p.AlertAfter {
			a.State = core.AlertFailure
			if a.OutageRef == "" {
				a.OutageRef, d.Open, changed = newRef(), true, true
				open = OpenOutage{}
			}
		} else {
			a.State = core.AlertSoft
		}
	case core.StatusOK, core.StatusWarning, core.StatusError:
		a.Consecutive = 0
		a.State = core.AlertOK
		if r.Status != core.StatusOK {
			a.State = core.AlertWarning // errors show like warnings
		}
		if a.OutageRef != "" {
			d.Close, a.OutageRef, changed = a.OutageRef, "", true
		}
		if r.Status == core.StatusOK {
			a.ClearUntilPass = false
		}
	default: // unknown, unsupported: nothing about the check's health
		d.State, d.Ignored = a, true
		return d
	}

	// Flapping bookkeeping: recent changes within the window.
	wasFlapping := a.Flapping
	if changed {
		a.Changes = append(a.Changes, now)
	}
	cut := 0
	for cut < len(a.Changes) && now.Sub(a.Changes[cut]) > p.FlapWindow {
		cut++
	}
	a.Changes = append([]time.Time(nil), a.Changes[cut:]...)
	if len(a.Changes) > p.FlapChanges+1 {
		a.Changes = a.Changes[len(a.Changes)-(p.FlapChanges+1):] // more are not needed
	}
	switch {
	case !wasFlapping && len(a.Changes) > p.FlapChanges:
		a.Flapping = true
	case wasFlapping && len(a.Changes) == 0:
		a.Flapping = false
	}

	switch {
	case cleared:
		// A cleared check is silent; an outage opened now stays unnotified,
		// so that its recovery is silent too.
	case a.Flapping && !wasFlapping:
		d.Notify = append(d.Notify, notify.KindFlapping)
	case a.Flapping:
		// quiet until stable
	case wasFlapping:
		// Stable again: report where it settled, once.
		if a.OutageRef != "" {
			if !open.Notified && !open.Acked {
				d.Notify, d.MarkNotified = append(d.Notify, notify.KindOutage), true
			}
		} else {
			d.Notify = append(d.Notify, notify.KindStable)
		}
	case d.Open:
		d.Notify, d.MarkNotified = append(d.Notify, notify.KindOutage), true
	case d.Close != "" && open.Notified:
		d.Notify = append(d.Notify, notify.KindRecovery)
	}
	if p.Maintenance && len(d.Notify) > 0 {
		// Silent in maintenance. A held-back opening message of an outage
		// still open when the window ends is sent then; flapping and
		// "stable again" messages are dropped. The recovery of an outage
		// notified before the window still goes out: its recipients were
		// told it is down and would otherwise never hear it is up again.
		d.Held = d.MarkNotified && a.OutageRef != ""
		if slices.Equal(d.Notify, []string{notify.KindRecovery}) {
			d.Held = false
		} else {
			d.Notify, d.MarkNotified = nil, false
		}
	}
	d.State = a
	return d
}
