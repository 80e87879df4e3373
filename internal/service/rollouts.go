package service

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/vercmp"
)

// The rollout loop (issue 21 part 3): one node of the cluster (store.Lead)
// ticks every RolloutTick while a rollout is active. Each tick
//
//   - settles sent updates: UpdateDone once the device reports the
//     rollout's version, UpdateFailed (CodeUpdateTimeout) when nothing was
//     heard within the watchdog plus RolloutMargin;
//   - pauses the rollout once failed and rolled-back updates reach
//     MaxFailures;
//   - sends ActionAgentUpdate to the devices of the current ring that are
//     online, have a build for their OS and architecture, run another
//     version (older, or newer with AllowDowngrade) and have no update yet
//     (or one that failed only because the device was offline), at most
//     Concurrency at a time;
//   - promotes a pilot ring that finished without failures (AutoPromote)
//     and finishes the rollout once every device in scope is done.
//
// Devices that are offline stay pending and are picked up when they come
// back while the rollout runs.

// Rollout loop timing.
const (
	RolloutTick = 5 * time.Second
	// RolloutMargin is how long beyond the watchdog a sent update may stay
	// unheard of before it counts as failed.
	RolloutMargin = 2 * time.Minute
	// rolloutSendWait bounds the wait for the agent's reply to the update
	// action (download, verification and replacement included).
	rolloutSendWait = 10 * time.Minute
)

// Codes of updates the server itself marks failed.
const (
	CodeUpdateTimeout = "timeout" // nothing heard within the watchdog and margin
	CodeUpdateOffline = "offline" // not connected when sent: retried, not counted
	CodeUpdateSend    = "send"    // the action could not be sent
)

// RolloutLoop runs RolloutStep every interval until ctx ends; the server
// runs it on one node at a time (store.Lead).
func (s *Service) RolloutLoop(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = RolloutTick
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.RolloutStep(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("rollout step", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// rolloutPlan is the state of a rollout against the fleet.
type rolloutPlan struct {
	r        core.Rollout
	bins     map[string]core.AgentFile
	updates  []core.AgentUpdate
	byDevice map[int64]*core.AgentUpdate
	devices  map[int64]core.Device
	// pending are the devices of the current ring still to be sent (or
	// sent again), in device order.
	pending []core.Device
	// ringDone: every device of the current ring in scope is updated,
	// failed or already ran the version.
	ringDone bool
	skipped  int
	current  int
}

// InPilot reports whether device d is in rollout r's pilot ring: a device
// of a pilot client, or one of the PilotPercent percent that a stable hash
// of the device ID picks.
func InPilot(r core.Rollout, d core.Device) bool {
	if slices.Contains(r.PilotClients, d.ClientID) {
		return true
	}
	return pilotBucket(d.ID) < r.PilotPercent
}

// pilotBucket maps a device ID to 0..99, the same for every rollout.
func pilotBucket(id int64) int {
	sum := sha256.Sum256([]byte("wacht-rollout-pilot:" + strconv.FormatInt(id, 10)))
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// rolloutPlan compares r with the fleet.
func (s *Service) rolloutPlan(ctx context.Context, r core.Rollout) (*rolloutPlan, error) {
	bins, err := s.binaries(ctx, r.Version)
	if err != nil {
		return nil, err
	}
	us, err := s.store.ListAgentUpdates(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("listing the updates of rollout %d: %w", r.ID, err)
	}
	ds, err := s.store.ListDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	p := &rolloutPlan{r: r, bins: bins, updates: us, byDevice: map[int64]*core.AgentUpdate{}, devices: map[int64]core.Device{}, ringDone: true}
	for i := range us {
		p.byDevice[us[i].DeviceID] = &us[i]
	}
	slices.SortFunc(ds, func(a, b core.Device) int { return int(a.ID - b.ID) })
	for _, d := range ds {
		p.devices[d.ID] = d
		if d.State != core.DeviceActive {
			continue
		}
		if u := p.byDevice[d.ID]; u != nil {
			if u.State == core.UpdateSent || (u.State == core.UpdateFailed && u.Code == CodeUpdateOffline) {
				if r.Stage == core.StageAll || InPilot(r, d) {
					p.ringDone = false
					if u.State == core.UpdateFailed {
						p.pending = append(p.pending, d)
					}
				}
			}
			continue
		}
		_, hasBin := bins[d.OS+"/"+d.Arch]
		c := vercmp.Compare(d.AgentVersion, r.Version)
		switch {
		case c == 0:
			p.current++
			continue
		case !hasBin || (c > 0 && !r.AllowDowngrade) || d.AgentVersion == "" || s.selfUpdateLocked(d.ID):
			p.skipped++
			continue
		}
		if r.Stage == core.StageAll || InPilot(r, d) {
			p.pending = append(p.pending, d)
			p.ringDone = false
		}
	}
	return p, nil
}

// selfUpdateLocked reports whether the device's owner disabled self-update
// (wacht-agent install --disable self-update), as its agent told this
// node; such a device is skipped.
func (s *Service) selfUpdateLocked(id int64) bool {
	rm, ok := s.cmd.(Remote)
	if !ok {
		return false
	}
	locks, _ := rm.Disabled(id)
	return slices.Contains(locks, protocol.LockSelfUpdate)
}

// RolloutStep does one tick of the rollout loop (see above); it returns
// once the updates it sent were answered or failed.
func (s *Service) RolloutStep(ctx context.Context) error {
	r, err := s.store.ActiveRollout(ctx)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the active rollout: %w", err)
	}
	now := s.now().UTC()
	p, err := s.rolloutPlan(ctx, r)
	if err != nil {
		return err
	}
	// Settle the updates in flight.
	inflight, changed := 0, false
	for i := range p.updates {
		u := &p.updates[i]
		if u.State != core.UpdateSent {
			continue
		}
		d, ok := p.devices[u.DeviceID]
		switch {
		case ok && d.AgentVersion == r.Version && d.AgentVersion != u.FromVersion:
			u.State, u.FinishedAt = core.UpdateDone, &now
		case now.Sub(u.SentAt) > time.Duration(r.WatchdogSeconds)*time.Second+RolloutMargin:
			u.State, u.Code, u.FinishedAt = core.UpdateFailed, CodeUpdateTimeout, &now
			u.Error = core.Text{EN: "the agent did not report back within the watchdog time after the update",
				DE: "der Agent hat sich nach dem Update nicht innerhalb der Watchdog-Zeit zurückgemeldet"}
		default:
			inflight++
			continue
		}
		if err := s.store.PutAgentUpdate(ctx, *u); err != nil {
			return fmt.Errorf("recording the update of device %d: %w", u.DeviceID, err)
		}
		changed = true
	}
	if changed {
		if p, err = s.rolloutPlan(ctx, r); err != nil {
			return err
		}
	}
	if r.State != core.RolloutRunning {
		return nil
	}
	if paused, err := s.pauseAtMaxFailures(ctx, &r, p.updates); paused || err != nil {
		return err
	}
	// Send to the ring's pending devices.
	var sendTo []core.Device
	for _, d := range p.pending {
		if inflight+len(sendTo) >= r.Concurrency {
			break
		}
		if !s.online(d, now) || s.selfUpdateLocked(d.ID) {
			continue
		}
		sendTo = append(sendTo, d)
	}
	if len(sendTo) > 0 {
		s.sendUpdates(ctx, r, p, sendTo)
		return nil // settled by the next ticks
	}
	if !p.ringDone {
		return nil
	}
	switch {
	case r.Stage == core.StagePilot && r.AutoPromote && failures(p.updates) == 0:
		r.Stage = core.StageAll
		s.log.Info("rollout promoted: the pilot ring finished without failures", "rollout", r.ID, "version", r.Version)
	case r.Stage == core.StageAll:
		r.State, r.FinishedAt = core.RolloutDone, &now
		s.log.Info("rollout done", "rollout", r.ID, "version", r.Version)
	default:
		return nil
	}
	if err := s.store.UpdateRollout(ctx, &r); err != nil {
		return fmt.Errorf("updating rollout %d: %w", r.ID, err)
	}
	return s.store.Audit(ctx, core.AuditEntry{At: now.Truncate(time.Millisecond), Actor: "server", Action: "rollout." + r.State + "." + r.Stage,
		Target: target("rollout", r.ID), Detail: "version=" + r.Version, Result: core.AuditOK})
}

// pauseAtMaxFailures pauses r once its failures reach MaxFailures.
func (s *Service) pauseAtMaxFailures(ctx context.Context, r *core.Rollout, us []core.AgentUpdate) (bool, error) {
	n := failures(us)
	if n < r.MaxFailures {
		return false, nil
	}
	r.State = core.RolloutPaused
	r.PauseReason = core.Text{
		EN: fmt.Sprintf("paused automatically: %d devices failed to update or rolled back (limit %d); look at their errors, then resume or cancel", n, r.MaxFailures),
		DE: fmt.Sprintf("automatisch pausiert: %d Geräte konnten nicht aktualisiert werden oder wurden zurückgesetzt (Grenze %d); prüfen Sie deren Fehler, dann fortsetzen oder abbrechen", n, r.MaxFailures),
	}
	if err := s.store.UpdateRollout(ctx, r); err != nil {
		return true, fmt.Errorf("pausing rollout %d: %w", r.ID, err)
	}
	s.log.Warn("rollout paused at its failure limit", "rollout", r.ID, "failures", n)
	return true, s.store.Audit(ctx, core.AuditEntry{At: s.now().UTC().Truncate(time.Millisecond), Actor: "server", Action: "rollout.pause",
		Target: target("rollout", r.ID), Detail: fmt.Sprintf("automatic: %d failures", n), Result: core.AuditOK})
}

// sendUpdates records each device's update as sent, then sends the update
// actions at once and records the refusals.
func (s *Service) sendUpdates(ctx context.Context, r core.Rollout, p *rolloutPlan, ds []core.Device) {
	rm, _ := s.cmd.(Remote)
	var wg sync.WaitGroup
	for _, d := range ds {
		f := p.bins[d.OS+"/"+d.Arch]
		u := core.AgentUpdate{RolloutID: r.ID, DeviceID: d.ID, FromVersion: d.AgentVersion, ToVersion: r.Version,
			State: core.UpdateSent, SentAt: s.now().UTC()}
		if old := p.byDevice[d.ID]; old != nil {
			u.Attempts = old.Attempts
		}
		u.Attempts++
		// Recorded before sending: a leader that takes over never sends
		// it twice.
		if err := s.store.PutAgentUpdate(ctx, u); err != nil {
			s.log.Error("recording an update", "rollout", r.ID, "device", d.ID, "err", err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.sendUpdate(ctx, rm, r, f, d)
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				return // the loop stops; the watchdog settles it
			}
			now := s.now().UTC()
			u.State, u.FinishedAt = core.UpdateFailed, &now
			var ae *protocol.ActionError
			switch {
			case errors.As(err, &ae):
				u.Code, u.Error = ae.Code, ae.Message
			case errors.Is(err, core.ErrOffline):
				u.Code = CodeUpdateOffline
				u.Error = core.Text{EN: "the device was offline; it is sent again when it is back", DE: "das Gerät war offline; es wird erneut gesendet, sobald es zurück ist"}
			case errors.Is(err, context.DeadlineExceeded):
				return // maybe updated: the version or the watchdog tells
			default:
				u.Code = CodeUpdateSend
				u.Error = core.Text{EN: "sending the update failed: " + err.Error(), DE: "das Senden des Updates schlug fehl: " + err.Error()}
			}
			if err := s.store.PutAgentUpdate(ctx, u); err != nil {
				s.log.Error("recording a failed update", "rollout", r.ID, "device", d.ID, "err", err)
			}
		}()
	}
	wg.Wait()
}

// sendUpdate sends one device its update action; an agent that already
// runs the build counts as updated at once.
func (s *Service) sendUpdate(ctx context.Context, rm Remote, r core.Rollout, f core.AgentFile, d core.Device) error {
	if rm == nil {
		return core.ErrOffline
	}
	if s.secrets == nil {
		return errors.New("the server has no secret key to issue download tickets")
	}
	var build release.Signed
	if err := json.Unmarshal(f.Signed, &build); err != nil {
		return fmt.Errorf("reading the signed manifest of %s: %w", f.Name, err)
	}
	wd := time.Duration(r.WatchdogSeconds) * time.Second
	ticket := blobs.NewTickets(s.secrets.Derive(blobs.TicketPurpose)).Issue(d.ID, f.SHA256, s.now().Add(rolloutSendWait+wd))
	args := protocol.AgentUpdateArgs{RolloutID: r.ID, Build: build, Ticket: ticket, AllowDowngrade: r.AllowDowngrade, WatchdogSeconds: r.WatchdogSeconds}
	var res protocol.AgentUpdateResult
	sctx, cancel := context.WithTimeout(ctx, rolloutSendWait)
	defer cancel()
	if err := rm.Do(sctx, d.ID, protocol.ActionAgentUpdate, args, &res); err != nil {
		return err
	}
	s.log.Info("agent update sent", "rollout", r.ID, "device", d.ID, "from", res.From, "to", res.To, "state", res.State)
	if res.State == protocol.UpdateCurrent {
		now := s.now().UTC()
		return s.store.PutAgentUpdate(ctx, core.AgentUpdate{RolloutID: r.ID, DeviceID: d.ID, FromVersion: d.AgentVersion, ToVersion: r.Version,
			State: core.UpdateDone, SentAt: now, FinishedAt: &now, Attempts: 1})
	}
	return nil
}

// RecordUpdate records the outcome of a self-update as the agent reports
// it when it connects (protocol.Auth.Update); the agent repeats the report
// until welcomed, so the same report changes nothing. A report of another
// rollout than the device's update is ignored.
func (s *Service) RecordUpdate(ctx context.Context, deviceID int64, rep protocol.UpdateReport) error {
	switch rep.State {
	case core.UpdateDone, core.UpdateRolledBack, core.UpdateFailed:
	default:
		return fmt.Errorf("update report of device %d: unknown state %q", deviceID, rep.State)
	}
	if rep.RolloutID <= 0 {
		return nil // an update outside a rollout
	}
	us, err := s.store.ListAgentUpdates(ctx, rep.RolloutID)
	if errors.Is(err, core.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the updates of rollout %d: %w", rep.RolloutID, err)
	}
	i := slices.IndexFunc(us, func(u core.AgentUpdate) bool { return u.DeviceID == deviceID })
	if i < 0 {
		return nil // not sent by this rollout
	}
	u := us[i]
	msg := core.Text{EN: truncate(rep.Message.EN, 1000), DE: truncate(rep.Message.DE, 1000)}
	if u.State == rep.State && u.Code == truncate(rep.Code, 64) && u.Error == msg {
		return nil // a repeated report
	}
	at := rep.At.UTC()
	if at.IsZero() || at.After(s.now().Add(time.Minute)) {
		at = s.now().UTC()
	}
	u.State, u.Code, u.Error, u.FinishedAt = rep.State, truncate(rep.Code, 64), msg, &at
	if err := s.store.PutAgentUpdate(ctx, u); err != nil {
		return fmt.Errorf("recording the update of device %d: %w", deviceID, err)
	}
	return s.store.Audit(ctx, core.AuditEntry{At: s.now().UTC().Truncate(time.Millisecond), Actor: "agent", Action: "agent.update",
		Target: target("device", deviceID), Detail: fmt.Sprintf("rollout=%d %s → %s: %s %s", rep.RolloutID, truncate(rep.From, 64), truncate(rep.To, 64), rep.State, u.Code),
		Result: map[bool]string{true: core.AuditOK, false: core.AuditFailed}[rep.State == core.UpdateDone]})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
