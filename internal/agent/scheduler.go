package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// ScheduleFile keeps the time of each check's last run, so that a restart
// neither re-runs every 24x7 check at once nor forgets a daily check that
// was missed while the machine was off or asleep.
const ScheduleFile = "schedule.json"

// planned is one check of the running plan with its schedule. Hash
// identifies its configuration: a changed check runs at once.
type planned struct {
	NamedCheck
	Type     string // the registered check type (the tray's antivirus and backup)
	Schedule core.Schedule
	Hash     string
}

// lastRun is the persisted record of one check's last run.
type lastRun struct {
	At   time.Time `json:"at"`
	Hash string    `json:"hash"`
}

// scheduler decides which checks are due. It is pure apart from the file
// it persists to; the clock is passed in.
type scheduler struct {
	loc *time.Location
	// every, if set, replaces the interval of all 24x7 checks (--interval).
	every time.Duration
	path  string // schedule file; "" keeps last runs in memory only
	log   *slog.Logger

	mu   sync.Mutex
	last map[string]lastRun
}

func newScheduler(path string, loc *time.Location, every time.Duration, log *slog.Logger) *scheduler {
	if loc == nil {
		loc = time.Local
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &scheduler{loc: loc, every: every, path: path, log: log, last: map[string]lastRun{}}
	if path != "" {
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			log.Warn("reading check schedule; all checks run now", "err", err)
		default:
			if err := json.Unmarshal(b, &s.last); err != nil {
				log.Warn("check schedule damaged; all checks run now", "err", err)
				s.last = map[string]lastRun{}
			}
		}
	}
	return s
}

// nextDue returns when p is due, given the clock now. A check that never
// ran, or whose configuration changed since, is due now.
func (s *scheduler) nextDue(p planned, now time.Time) time.Time {
	s.mu.Lock()
	lr, ok := s.last[p.Name]
	s.mu.Unlock()
	if !ok || lr.Hash != p.Hash || lr.At.IsZero() {
		return now
	}
	last := lr.At
	if last.After(now) {
		last = now // the clock went back: count from now
	}
	switch p.Schedule.Class {
	case core.ScheduleDaily:
		h, m, err := policy.ParseAt(p.Schedule.At)
		if err != nil {
			h, m = 6, 0 // validated by the server; never reached in practice
		}
		return nextDaily(last.In(s.loc), h, m)
	default:
		every := time.Duration(p.Schedule.EveryMinutes) * time.Minute
		if s.every > 0 {
			every = s.every
		}
		if every <= 0 {
			every = policy.DefaultEveryMinutes * time.Minute
		}
		return last.Add(every)
	}
}

// nextDaily is the first h:m (wall clock in last's location) strictly
// after last. time.Date normalizes a time skipped by a DST change.
func nextDaily(last time.Time, h, m int) time.Time {
	y, mo, d := last.Date()
	t := time.Date(y, mo, d, h, m, 0, 0, last.Location())
	if !t.After(last) {
		t = time.Date(y, mo, d+1, h, m, 0, 0, last.Location())
	}
	return t
}

// due splits the plan into checks due at now and the time the next of the
// others becomes due (zero if none).
func (s *scheduler) due(plan []planned, now time.Time) (due []planned, next time.Time) {
	for _, p := range plan {
		n := s.nextDue(p, now)
		if !n.After(now) {
			due = append(due, p)
			continue
		}
		if next.IsZero() || n.Before(next) {
			next = n
		}
	}
	return due, next
}

// ran records that the checks ran at at and persists the record.
func (s *scheduler) ran(ps []planned, at time.Time) {
	s.mu.Lock()
	for _, p := range ps {
		s.last[p.Name] = lastRun{At: at.UTC(), Hash: p.Hash}
	}
	b, err := json.MarshalIndent(s.last, "", "  ")
	s.mu.Unlock()
	if s.path == "" {
		return
	}
	if err == nil {
		err = writeFileAtomic(s.path, append(b, '\n'))
	}
	if err != nil {
		// The checks still run; after a restart they may run early.
		s.log.Warn("cannot save check schedule", "err", err)
	}
}

// forget drops the records of checks no longer planned.
func (s *scheduler) forget(plan []planned) {
	keep := map[string]bool{}
	for _, p := range plan {
		keep[p.Name] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.last {
		if !keep[n] {
			delete(s.last, n)
		}
	}
}

// maxSleep bounds one wait of the schedule loop, so that a jump of the
// wall clock (resume from sleep, time sync) is noticed within a minute.
const maxSleep = time.Minute

// schedule runs due checks until ctx ends: at start everything that is due
// (never ran, missed while the machine was off, changed), then each check
// on its own schedule. A new plan wakes it at once.
func (a *Agent) schedule(ctx context.Context) {
	for ctx.Err() == nil {
		plan := a.plan.get()
		now := time.Now()
		due, next := a.sched.due(plan, now)
		if len(due) > 0 {
			a.runPlanned(ctx, due, now)
			continue
		}
		wait := maxSleep
		if !next.IsZero() {
			wait = min(max(next.Sub(now), 0), maxSleep)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-a.plan.changed:
			t.Stop()
		case <-t.C:
		}
	}
}

// runPlanned runs ps, spools their results and records the run.
func (a *Agent) runPlanned(ctx context.Context, ps []planned, at time.Time) int {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	checks := make([]NamedCheck, len(ps))
	for i, p := range ps {
		checks[i] = p.NamedCheck
	}
	rs := a.runner.Run(ctx, checks)
	if ctx.Err() != nil {
		// Stopping: the run was cut short; it runs again at the next start.
		return 0
	}
	a.sched.ran(ps, at)
	a.store(rs)
	a.fixFailing(ctx, rs)
	return len(rs)
}

// hashOf identifies a check's configuration.
func hashOf(c core.PolicyCheck) string {
	b, _ := json.Marshal(struct {
		T string          `json:"t"`
		P json.RawMessage `json:"p"`
		S core.Schedule   `json:"s"`
	}{c.Type, c.Params, c.Schedule})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func schedulePath(dir string) string { return filepath.Join(dir, ScheduleFile) }
