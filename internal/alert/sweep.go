package alert

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

func (e *Engine) sweepLoop(ctx context.Context) {
	t := time.NewTicker(e.o.SweepInterval)
	defer t.Stop()
	for {
		sweep := e.Sweep
		if e.o.Singleton != nil {
			sweep = func(ctx context.Context) error { _, err := e.o.Singleton(ctx, "offline-sweep", e.Sweep); return err }
		}
		if err := sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("offline sweep", "err", err)
		}
		if err := e.Release(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("notifying outages held back by maintenance", "err", err)
		}
		if err := e.Remind(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("reminding of open outages", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DevicePresence is a device's presence as shown.
type DevicePresence struct {
	core.Presence
	State string `json:"state"` // Presence*
}

// PresenceStates returns every device's presence state now.
func (e *Engine) PresenceStates(ctx context.Context) ([]DevicePresence, error) {
	return PresenceStates(ctx, e.o.Store, e.o.Now())
}

// PresenceStates returns every active device's presence state at now.
func PresenceStates(ctx context.Context, st interface {
	core.AlertStore
	core.SettingStore
}, now time.Time) ([]DevicePresence, error) {
	s, err := LoadSettings(ctx, st)
	if err != nil {
		return nil, err
	}
	ps, err := st.ListPresence(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]DevicePresence, len(ps))
	for i, p := range ps {
		out[i] = DevicePresence{Presence: p, State: EvaluatePresence(p, s, now).State}
	}
	return out, nil
}

// Sweep looks at every device once: it raises offline outages for devices
// away too long and closes them for devices that are back. Inside a
// maintenance window an offline outage is opened silently (held, see
// Release), and a device coming back sends "online" only if its offline
// message was sent and no window is active.
func (e *Engine) Sweep(ctx context.Context) error {
	s, err := e.Settings(ctx)
	if err != nil {
		return err
	}
	e.mailReady(s) // logs, once, when mail turns unconfigured (or at the first sweep)
	ps, err := e.o.Store.ListPresence(ctx)
	if err != nil {
		return err
	}
	now := e.o.Now()
	for _, p := range ps {
		d := EvaluatePresence(p, s, now)
		if !d.Open && !d.Close && !d.ClearGoodbye {
			continue
		}
		np := p
		if d.ClearGoodbye {
			np.GoodbyeAt, np.GoodbyeReason = nil, ""
		}
		change := core.AlertChange{Presence: &np}
		var pending []pendingMsg
		if d.Open || d.Close {
			dev, err := e.device(ctx, p.DeviceID)
			if err != nil {
				return err
			}
			held, err := e.InMaintenance(ctx, p.DeviceID, now)
			if err != nil {
				return err
			}
			if d.Open {
				np.OutageRef = newRef()
				change.Open = []core.Outage{{Ref: np.OutageRef, DeviceID: p.DeviceID, Kind: core.OutageOffline,
					Severity: core.OutageOffline, OpenedAt: now, Notified: !held, Held: held,
					Message: core.Text{EN: "agent not heard from", DE: "Agent meldet sich nicht"}}}
				if !held {
					pending = append(pending, pendingMsg{key: "outage:" + np.OutageRef + ":" + notify.KindOffline,
						facts: Facts{Kind: notify.KindOffline, Device: dev, OutageRef: np.OutageRef, Since: p.LastSeen, At: now}})
				}
			}
			if d.Close {
				o, err := e.outageByRef(ctx, p.DeviceID, p.OutageRef)
				if err != nil && !errors.Is(err, core.ErrNotFound) {
					return err
				}
				change.Close = []core.OutageClose{{Ref: p.OutageRef, At: now}}
				// Back online is sent even inside a window when the
				// offline message went out (see Evaluate's recovery).
				if o.Notified {
					pending = append(pending, pendingMsg{key: "outage:" + p.OutageRef + ":" + notify.KindOnline,
						facts: Facts{Kind: notify.KindOnline, Device: dev, OutageRef: p.OutageRef, Since: o.OpenedAt, At: now}})
				}
				np.OutageRef = ""
			}
		}
		if len(pending) > 0 {
			msgs, why, err := e.messages(ctx, s, pending)
			if err != nil {
				return err
			}
			change.Outbox = msgs
			settle(&change, pending, why)
		}
		if err := e.o.Store.ApplyAlertChange(ctx, change); err != nil {
			return err
		}
		if d.Open {
			e.log.Info("device offline", "device", p.DeviceID, "last_seen", p.LastSeen)
		}
		if len(change.Outbox) > 0 {
			e.Nudge()
		}
	}
	return nil
}

func (e *Engine) outageByRef(ctx context.Context, deviceID int64, ref string) (core.Outage, error) {
	os, err := e.o.Store.ListOutages(ctx, core.OutageFilter{OpenOnly: true, DeviceID: deviceID})
	if err != nil {
		return core.Outage{}, err
	}
	for _, o := range os {
		if o.Ref == ref {
			return o, nil
		}
	}
	return core.Outage{}, core.ErrNotFound
}

// quietness returns a test whether an open outage must not be notified
// now: a maintenance window covers its device, or its check is cleared or
// flapping. It looks each device up once per pass.
func (e *Engine) quietness(now time.Time) func(ctx context.Context, o core.Outage) (bool, error) {
	maint := map[int64]bool{}
	silent := map[int64]map[int64]bool{} // device → check IDs that are cleared or flapping
	return func(ctx context.Context, o core.Outage) (bool, error) {
		m, ok := maint[o.DeviceID]
		if !ok {
			var err error
			if m, err = e.InMaintenance(ctx, o.DeviceID, now); err != nil {
				return false, err
			}
			maint[o.DeviceID] = m
		}
		if m || o.CheckID == 0 {
			return m, nil
		}
		sil, ok := silent[o.DeviceID]
		if !ok {
			states, err := e.o.Store.AlertStates(ctx, o.DeviceID)
			if err != nil {
				return false, err
			}
			sil = map[int64]bool{}
			for _, a := range states {
				if a.Flapping || a.ClearUntilPass || (a.ClearedUntil != nil && now.Before(*a.ClearedUntil)) {
					sil[a.CheckID] = true
				}
			}
			silent[o.DeviceID] = sil
		}
		return sil[o.CheckID], nil
	}
}

// Release sends the held-back opening message of each outage that opened
// inside a maintenance window and is still open, unacknowledged and
// unnotified once no window covers its device: a problem that began in
// the window and outlasted it is heard of once. A cleared or flapping
// check stays with its usual rules. The dedupe key is the one the message
// would have had, so it is queued at most once, on any replica.
func (e *Engine) Release(ctx context.Context) error {
	open, err := e.o.Store.ListOutages(ctx, core.OutageFilter{OpenOnly: true})
	if err != nil {
		return err
	}
	s, err := e.Settings(ctx)
	if err != nil {
		return err
	}
	now := e.o.Now()
	quiet := e.quietness(now)
	for _, o := range open {
		if !o.Held || o.Notified || o.NotNotified != "" || o.AckedAt != nil {
			continue
		}
		if q, err := quiet(ctx, o); err != nil {
			return err
		} else if q {
			continue
		}
		dev, err := e.device(ctx, o.DeviceID)
		if err != nil {
			return err
		}
		f := Facts{Kind: notify.KindOutage, Device: dev, Check: o.CheckName, Key: o.CheckKey, Status: core.StatusFailure,
			Value: o.Value, Unit: o.Unit, Message: o.Message, OutageRef: o.Ref, Since: o.OpenedAt, At: now}
		if o.Kind == core.OutageOffline {
			f = Facts{Kind: notify.KindOffline, Device: dev, OutageRef: o.Ref, Since: dev.LastSeen, At: now}
		}
		pending := []pendingMsg{{key: "outage:" + o.Ref + ":" + f.Kind, facts: f}}
		msgs, why, err := e.messages(ctx, s, pending)
		if err != nil {
			return err
		}
		change := core.AlertChange{Notified: []string{o.Ref}, Outbox: msgs}
		settle(&change, pending, why)
		if err := e.o.Store.ApplyAlertChange(ctx, change); err != nil {
			return err
		}
		if len(msgs) > 0 {
			e.Nudge()
		}
	}
	return nil
}

// Remind re-notifies open, notified outages that nobody acknowledged, once
// per RemindAfter since they opened (the n-th reminder's dedupe key makes
// it unique), except for cleared or flapping checks and devices in
// maintenance.
func (e *Engine) Remind(ctx context.Context) error {
	s, err := e.Settings(ctx)
	if err != nil || s.RemindAfter <= 0 {
		return err
	}
	open, err := e.o.Store.ListOutages(ctx, core.OutageFilter{OpenOnly: true})
	if err != nil {
		return err
	}
	now := e.o.Now()
	every := s.RemindAfter.D()
	quiet := e.quietness(now)
	for _, o := range open {
		n := int(now.Sub(o.OpenedAt) / every)
		if n < 1 || o.AckedAt != nil || !o.Notified || e.reminded(o.Ref) >= n {
			continue
		}
		if q, err := quiet(ctx, o); err != nil {
			return err
		} else if q {
			continue
		}
		dev, err := e.device(ctx, o.DeviceID)
		if err != nil {
			return err
		}
		status := core.StatusFailure
		if o.Kind == core.OutageOffline {
			status = core.StatusUnknown
		}
		msgs, _, err := e.messages(ctx, s, []pendingMsg{{
			key: "outage:" + o.Ref + ":" + notify.KindReminder + ":" + strconv.Itoa(n),
			facts: Facts{Kind: notify.KindReminder, Device: dev, Check: o.CheckName, Key: o.CheckKey, Status: status,
				Value: o.Value, Unit: o.Unit, Message: o.Message, OutageRef: o.Ref, Since: o.OpenedAt, At: now},
		}})
		if err != nil {
			return err
		}
		if len(msgs) > 0 {
			if err := e.o.Store.ApplyAlertChange(ctx, core.AlertChange{Outbox: msgs}); err != nil {
				return err
			}
			e.Nudge()
		}
		e.setReminded(o.Ref, n)
	}
	return nil
}

// reminded and setReminded remember which reminder of an outage this
// process queued last, to skip re-rendering it every sweep; after a
// restart the outbox's dedupe key keeps a repeated one from being sent.
func (e *Engine) reminded(ref string) int {
	e.remindMu.Lock()
	defer e.remindMu.Unlock()
	return e.remindedN[ref]
}

func (e *Engine) setReminded(ref string, n int) {
	e.remindMu.Lock()
	defer e.remindMu.Unlock()
	if e.remindedN == nil || len(e.remindedN) > 100_000 {
		e.remindedN = map[string]int{}
	}
	e.remindedN[ref] = n
}
