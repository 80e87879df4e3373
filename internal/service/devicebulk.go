package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// The actions BulkDevices applies to each selected device.
const (
	BulkAck         = "ack"         // acknowledge the device's open alerts
	BulkMaintenance = "maintenance" // a one-off maintenance window from now
	BulkRunChecks   = "run_checks"  // ask the agent to run its checks now
	BulkPolicy      = "policy"      // add a policy to the device's own assignments
	BulkMove        = "move"        // move the device to another site
)

// BulkActions lists the actions BulkDevices knows.
var BulkActions = []string{BulkAck, BulkMaintenance, BulkRunChecks, BulkPolicy, BulkMove}

// Bounds of a bulk action: how many devices one request may name, how
// long a maintenance window may last, how many run-checks requests are in
// flight at once and how long each waits for its agent's answer.
const (
	MaxBulkDevices    = 10000
	MaxBulkDuration   = 30 * 24 * time.Hour
	bulkRunParallel   = 16
	BulkRunChecksWait = 3 * time.Second
)

// BulkAction is what to do to every selected device.
type BulkAction struct {
	Action   string        `json:"action"`
	Comment  string        `json:"comment,omitempty"`  // BulkAck
	Title    string        `json:"title,omitempty"`    // BulkMaintenance
	Duration time.Duration `json:"duration,omitempty"` // BulkMaintenance
	PolicyID int64         `json:"policy_id,omitempty"`
	SiteID   int64         `json:"site_id,omitempty"`
}

// BulkResult says how a bulk action went: Done devices, and the devices it
// failed for with the reason.
type BulkResult struct {
	Action string        `json:"action"`
	Done   int           `json:"done"`
	Failed []BulkFailure `json:"failed"`
	// Requested counts run-checks requests whose agent had not answered
	// within BulkRunChecksWait: sent, results come in later. They count
	// in Done too.
	Requested int `json:"requested,omitempty"`
}

// BulkFailure is one device a bulk action failed for.
type BulkFailure struct {
	DeviceID int64     `json:"device_id"`
	Hostname string    `json:"hostname,omitempty"`
	Reason   core.Text `json:"reason"`
}

// BulkDevices applies one action to each device through the single-device
// service method (AckOutage, SaveMaintenance, RunChecks, SetAssignments,
// UpdateDevice), so every device is authorized and audited on its own. A
// device that fails does not stop the others; the result lists it with
// the reason.
func (s *Service) BulkDevices(ctx context.Context, u core.User, ids []int64, a BulkAction) (BulkResult, error) {
	res := BulkResult{Action: a.Action, Failed: []BulkFailure{}}
	ids = uniqueIDs(ids)
	if err := s.CheckBulk(ctx, u, len(ids), a); err != nil {
		return res, err
	}
	if a.Action == BulkRunChecks {
		return s.bulkRunChecks(ctx, u, ids, res), nil
	}
	for _, id := range ids {
		if err := s.bulkOne(ctx, u, id, a); err != nil {
			res.Failed = append(res.Failed, s.bulkFailure(ctx, u, id, err))
			continue
		}
		res.Done++
	}
	return res, nil
}

// CheckBulk validates a bulk action on n devices without applying it, so
// that a transport can ask for confirmation only of what would be tried.
func (s *Service) CheckBulk(ctx context.Context, u core.User, n int, a BulkAction) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	var fs []policy.FieldError
	if n == 0 {
		fs = append(fs, fieldErr("devices", "select at least one device", "wählen Sie mindestens ein Gerät"))
	}
	if n > MaxBulkDevices {
		fs = append(fs, fieldErr("devices", fmt.Sprintf("at most %d devices at once", MaxBulkDevices),
			fmt.Sprintf("höchstens %d Geräte auf einmal", MaxBulkDevices)))
	}
	switch a.Action {
	case BulkAck:
		if len(a.Comment) > 2000 {
			fs = append(fs, fieldErr("comment", "longer than 2000 bytes", "länger als 2000 Bytes"))
		}
	case BulkMaintenance:
		if a.Duration <= 0 || a.Duration > MaxBulkDuration {
			fs = append(fs, fieldErr("duration", "must be between 1 minute and 30 days", "muss zwischen 1 Minute und 30 Tagen liegen"))
		}
		if _, fe := policy.CleanName("title", a.Title, policy.MaxLabelLen); fe != nil {
			fs = append(fs, *fe)
		}
	case BulkRunChecks:
	case BulkPolicy:
		if _, err := s.store.GetPolicy(ctx, a.PolicyID); errors.Is(err, core.ErrNotFound) {
			fs = append(fs, fieldErr("policy_id", "no such policy", "keine solche Richtlinie"))
		} else if err != nil {
			return fmt.Errorf("getting policy %d: %w", a.PolicyID, err)
		}
	case BulkMove:
		if a.SiteID <= 0 {
			fs = append(fs, fieldErr("site_id", "choose the site to move to", "wählen Sie den Ziel-Standort"))
		}
	default:
		fs = append(fs, fieldErr("action", "unknown action", "unbekannte Aktion"))
	}
	return validation(fs)
}

// bulkOne applies a (not run-checks) to one device.
func (s *Service) bulkOne(ctx context.Context, u core.User, id int64, a BulkAction) error {
	switch a.Action {
	case BulkAck:
		os, err := s.ListOutages(ctx, u, core.OutageFilter{DeviceID: id, OpenOnly: true})
		if err != nil {
			return err
		}
		for _, o := range os {
			if o.AckedAt != nil {
				continue
			}
			if _, err := s.AckOutage(ctx, u, o.ID, a.Comment); err != nil {
				return err
			}
		}
		return nil
	case BulkMaintenance:
		start := s.now().UTC().Truncate(time.Minute)
		end := start.Add(a.Duration)
		_, err := s.SaveMaintenance(ctx, u, 0, core.Maintenance{Scope: core.LevelDevice, TargetID: id, Title: a.Title,
			Repeat: core.RepeatOnce, Start: start, End: &end})
		return err
	case BulkPolicy:
		as, err := s.Assignments(ctx, u, core.LevelDevice, id)
		if err != nil {
			return err
		}
		pids := make([]int64, 0, len(as)+1)
		for _, pa := range as {
			pids = append(pids, pa.PolicyID)
		}
		if slices.Contains(pids, a.PolicyID) {
			return nil // assigned already: nothing to change
		}
		_, err = s.SetAssignments(ctx, u, core.LevelDevice, id, append(pids, a.PolicyID))
		return err
	case BulkMove:
		_, err := s.UpdateDevice(ctx, u, id, DeviceChange{SiteID: &a.SiteID})
		return err
	}
	return fmt.Errorf("bulk action %q: %w", a.Action, core.ErrInvalid)
}

// bulkRunChecks asks the agents to run their checks, bulkRunParallel at a
// time, waiting BulkRunChecksWait for each answer. A request still
// unanswered then goes on by itself (RunChecks bounds it by CommandTimeout
// and audits its outcome) and counts as requested: the agent runs its
// checks and the results arrive later, and the technician does not wait a
// command timeout per silent agent.
func (s *Service) bulkRunChecks(ctx context.Context, u core.User, ids []int64, res BulkResult) BulkResult {
	var mu sync.Mutex
	sem := make(chan struct{}, bulkRunParallel)
	var wg sync.WaitGroup
	for _, id := range ids {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			done := make(chan error, 1)
			go func() {
				_, err := s.RunChecks(context.WithoutCancel(ctx), u, id)
				done <- err
			}()
			var err error
			pending := false
			timer := time.NewTimer(BulkRunChecksWait)
			select {
			case err = <-done:
			case <-timer.C:
				pending = true
			}
			timer.Stop()
			var f BulkFailure
			if err != nil {
				f = s.bulkFailure(ctx, u, id, err)
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case pending:
				res.Done++
				res.Requested++
			case err != nil:
				res.Failed = append(res.Failed, f)
			default:
				res.Done++
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(res.Failed, func(a, b BulkFailure) int { return cmp.Compare(a.DeviceID, b.DeviceID) })
	return res
}

// bulkFailure describes why a device failed, naming it if u may see it.
func (s *Service) bulkFailure(ctx context.Context, u core.User, id int64, err error) BulkFailure {
	f := BulkFailure{DeviceID: id, Reason: bulkReason(err)}
	if d, derr := s.device(ctx, u, id); derr == nil {
		f.Hostname = d.Hostname
	}
	if f.Reason.EN == "" {
		s.log.Error("bulk action failed", "device", id, "err", err)
		f.Reason = core.Text{EN: "internal error (logged)", DE: "interner Fehler (protokolliert)"}
	}
	return f
}

// bulkReason says in both languages why a single action failed; empty for
// an unexpected error.
func bulkReason(err error) core.Text {
	if t, ok := Reason(err); ok {
		return t
	}
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		return core.Text{EN: ve.In("en"), DE: ve.In("de")}
	}
	switch {
	case errors.Is(err, core.ErrNotFound):
		return core.Text{EN: "device not found", DE: "Gerät nicht gefunden"}
	case errors.Is(err, core.ErrOffline):
		return core.Text{EN: "the agent is offline", DE: "der Agent ist offline"}
	case errors.Is(err, core.ErrConflict):
		return core.Text{EN: "not possible for this device (retired or not active)", DE: "für dieses Gerät nicht möglich (ausgemustert oder nicht aktiv)"}
	case errors.Is(err, core.ErrForbidden):
		return core.Text{EN: "your role does not allow this", DE: "Ihre Rolle erlaubt das nicht"}
	case errors.Is(err, context.DeadlineExceeded):
		return core.Text{EN: "the agent did not answer in time", DE: "der Agent hat nicht rechtzeitig geantwortet"}
	}
	return core.Text{}
}

// uniqueIDs drops repeated IDs, keeping the first occurrence's order.
func uniqueIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
