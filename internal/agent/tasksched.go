package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TasksFile keeps each automated task's schedule state: the occurrence it
// last ran, the run in flight and the automatic fixes of the day, so that
// a restart neither re-runs an occurrence nor forgets one missed while the
// agent was stopped.
const TasksFile = "tasks.json"

// taskRecord is the persisted state of one task.
type taskRecord struct {
	// Hash identifies the schedule the record belongs to: a new schedule
	// is anchored anew (a new script version keeps the cadence).
	Hash string `json:"hash"`
	// Last is when the last scheduled occurrence was due, or when the
	// schedule was anchored; the next occurrence is the first after it.
	Last time.Time `json:"last,omitzero"`
	// Pending is the run started and not yet reported: after a restart it
	// is reported as interrupted (or run again with RunAgain).
	Pending *taskOccurrence `json:"pending,omitempty"`
	// FixDay (device-local YYYY-MM-DD) and Fixes count the automatic
	// fixes started that day.
	FixDay string `json:"fix_day,omitempty"`
	Fixes  int    `json:"fixes,omitempty"`
	// LastFix is the last fix's due time: each fix gets a later second,
	// so that two fixes never share a run ID.
	LastFix time.Time `json:"last_fix,omitzero"`
	// LastStart is the last start run's due time, for the same reason: an
	// agent restarted within a second must not take its start run for the
	// one before.
	LastStart time.Time `json:"last_start,omitzero"`
}

// taskOccurrence is one run of a task: how it was triggered and when it
// was due, which together name it (protocol.TaskRunID).
type taskOccurrence struct {
	Trigger string    `json:"trigger"`
	Due     time.Time `json:"due"`
}

func (o taskOccurrence) runID(task string) string { return protocol.TaskRunID(task, o.Trigger, o.Due) }

// taskSched decides which tasks are due and keeps their records. It is
// pure apart from the file it persists to; the clock is passed in.
type taskSched struct {
	loc  *time.Location
	path string // "" keeps the records in memory only
	log  *slog.Logger

	mu      sync.Mutex
	recs    map[string]*taskRecord
	running map[string]bool // tasks with a run in flight in this process
}

func newTaskSched(path string, loc *time.Location, log *slog.Logger) *taskSched {
	if loc == nil {
		loc = time.Local
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &taskSched{loc: loc, path: path, log: log, running: map[string]bool{},
		recs: loadRecords[taskRecord](path, log, "the task schedule", "scheduled tasks start anew")}
}

// taskHash identifies a task's schedule.
func taskHash(s core.TaskSchedule) string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// nextOccurrence is the first time s is due strictly after after, zero
// for schedules that are not on the clock (start, fix) or cannot be met.
func nextOccurrence(s core.TaskSchedule, after time.Time, loc *time.Location) time.Time {
	after = after.In(loc)
	if s.Kind == core.TaskInterval {
		if s.EveryMinutes <= 0 {
			return time.Time{}
		}
		return after.Add(time.Duration(s.EveryMinutes) * time.Minute)
	}
	h, m, match, ok := calendar(s)
	if !ok {
		return time.Time{}
	}
	y, mo, d := after.Date()
	start := 0
	if ah, am, _ := after.Clock(); ah*60+am >= h*60+m {
		start = 1
	}
	for i := start; i < maxDays; i++ {
		day := time.Date(y, mo, d+i, 12, 0, 0, 0, loc)
		if !match(day) {
			continue
		}
		// Strictly after, also where time.Date picks the first pass of a
		// repeated hour.
		if t := at(day, h, m); t.After(after) {
			return t
		}
	}
	return time.Time{}
}

// latestDue is the last occurrence of s after last and not after now
// (ok false if there is none): a task missed several times while the agent
// was stopped runs once, for the latest of them.
func latestDue(s core.TaskSchedule, last, now time.Time, loc *time.Location) (due time.Time, ok bool) {
	if s.Kind == core.TaskInterval {
		every := time.Duration(s.EveryMinutes) * time.Minute
		if every <= 0 || now.Sub(last) < every {
			return time.Time{}, false
		}
		return last.Add(now.Sub(last) / every * every), true
	}
	h, m, match, ok := calendar(s)
	if !ok {
		return time.Time{}, false
	}
	now = now.In(loc)
	y, mo, d := now.Date()
	for i := 0; i < maxDays; i++ {
		day := time.Date(y, mo, d-i, 12, 0, 0, 0, loc)
		if !match(day) {
			continue
		}
		if t := at(day, h, m); !t.After(now) {
			// Not before nextOccurrence's answer: in the hour repeated
			// when DST ends, time.Date may pick the second pass.
			return t, t.After(last) && nextOccurrence(s, last, loc).Compare(t) <= 0
		}
	}
	return time.Time{}, false
}

// maxDays bounds the search for a matching day (a monthly task matches
// every month).
const maxDays = 400

// calendar returns a daily, weekly or monthly schedule's time of day and
// which days it runs on; ok is false for other kinds or a bad time.
// Days are compared on the wall clock, not as instants, so that the hour
// repeated when DST ends does not run a task twice; a time skipped when
// DST begins is normalized forward by time.Date.
func calendar(s core.TaskSchedule) (h, m int, match func(day time.Time) bool, ok bool) {
	h, m, err := policy.ParseAt(s.At)
	if err != nil {
		return 0, 0, nil, false // validated by the server
	}
	switch s.Kind {
	case core.TaskDaily:
		return h, m, func(time.Time) bool { return true }, true
	case core.TaskWeekly:
		return h, m, func(d time.Time) bool { return slices.Contains(s.Weekdays, int(d.Weekday())) }, true
	case core.TaskMonthly:
		return h, m, func(d time.Time) bool {
			last := time.Date(d.Year(), d.Month()+1, 0, 12, 0, 0, 0, d.Location()).Day()
			return d.Day() == min(s.Day, last)
		}, true
	}
	return 0, 0, nil, false
}

// at is h:m on day's date.
func at(day time.Time, h, m int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), h, m, 0, 0, day.Location())
}

// scheduled reports whether a task runs on the clock.
func scheduled(k string) bool {
	return k == core.TaskInterval || k == core.TaskDaily || k == core.TaskWeekly || k == core.TaskMonthly
}

// record returns t's record, anchoring a new or changed schedule at now
// (changed reports that): a new interval task is due at once, like a new
// check; a changed interval keeps counting from the last run; a calendar
// task first runs at its next time after now.
func (s *taskSched) record(t protocol.Task, now time.Time) (r *taskRecord, changed bool) {
	r = s.recs[t.Name]
	if r == nil {
		r = &taskRecord{}
		s.recs[t.Name] = r
	}
	h := taskHash(t.Schedule)
	if r.Hash == h {
		return r, false
	}
	r.Hash = h
	switch {
	case t.Schedule.Kind != core.TaskInterval:
		r.Last = now.UTC()
	case r.Last.IsZero():
		r.Last = now.UTC().Add(-time.Duration(t.Schedule.EveryMinutes) * time.Minute)
	}
	return r, true
}

// due returns the scheduled occurrences due at now, one per task not
// running, and when the next of the others is due (zero if none).
func (s *taskSched) due(tasks []protocol.Task, now time.Time) (due []taskOccurrence, which []protocol.Task, next time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	anchored := false
	defer func() {
		if anchored {
			s.saveLocked() // a restart must not re-anchor a calendar task
		}
	}()
	for _, t := range tasks {
		if !scheduled(t.Schedule.Kind) {
			continue
		}
		r, changed := s.record(t, now)
		anchored = anchored || changed
		last := r.Last
		if last.After(now) {
			last = now // the clock went back: count from now
		}
		if d, ok := latestDue(t.Schedule, last, now, s.loc); ok {
			if !s.running[t.Name] {
				due = append(due, taskOccurrence{Trigger: protocol.TriggerSchedule, Due: d})
				which = append(which, t)
			}
			continue
		}
		if n := nextOccurrence(t.Schedule, last, s.loc); !n.IsZero() && (next.IsZero() || n.Before(next)) {
			next = n
		}
	}
	return due, which, next
}

// begin marks o of task as running and persists it as pending, before
// its process starts; false if the task already runs.
func (s *taskSched) begin(task string, o taskOccurrence) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[task] {
		return false
	}
	s.running[task] = true
	r := s.recs[task]
	if r == nil {
		r = &taskRecord{}
		s.recs[task] = r
	}
	r.Pending = &o
	switch {
	case o.Trigger == protocol.TriggerSchedule:
		r.Last = o.Due.UTC()
	case o.Trigger == protocol.TriggerStart && o.Due.After(r.LastStart):
		r.LastStart = o.Due.UTC()
	}
	s.saveLocked()
	return true
}

// startOccurrence is task's run for the agent start at started: a later
// second than its last start run, so that its run ID is new.
func (s *taskSched) startOccurrence(task string, started time.Time) taskOccurrence {
	due := started.UTC().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.recs[task]; r != nil && !due.After(r.LastStart) {
		due = r.LastStart.Add(time.Second)
	}
	return taskOccurrence{Trigger: protocol.TriggerStart, Due: due}
}

// end clears task's pending run once its result is spooled. A run cut
// short by the agent stopping keeps it pending (reported as interrupted
// at the next start).
func (s *taskSched) end(task string, reported bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, task)
	if r := s.recs[task]; r != nil && reported {
		r.Pending = nil
		s.saveLocked()
	}
}

// pending returns the runs that were in flight when the agent stopped.
func (s *taskSched) pending() map[string]taskOccurrence {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]taskOccurrence{}
	for n, r := range s.recs {
		if r.Pending != nil {
			out[n] = *r.Pending
		}
	}
	return out
}

// takeFix counts an automatic fix of task at now against its daily cap
// max and returns the fix's occurrence; false if the cap is reached or
// the task is running.
func (s *taskSched) takeFix(task string, max int, now time.Time) (taskOccurrence, bool) {
	if max <= 0 {
		max = core.DefaultFixesPerDay
	}
	day := now.In(s.loc).Format(time.DateOnly)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[task] {
		return taskOccurrence{}, false
	}
	r := s.recs[task]
	if r == nil {
		r = &taskRecord{}
		s.recs[task] = r
	}
	if r.FixDay != day {
		r.FixDay, r.Fixes = day, 0
	}
	if r.Fixes >= max {
		return taskOccurrence{}, false
	}
	r.Fixes++
	due := now.UTC().Truncate(time.Second)
	if !due.After(r.LastFix) {
		due = r.LastFix.Add(time.Second)
	}
	r.LastFix = due
	s.saveLocked()
	return taskOccurrence{Trigger: protocol.TriggerFix, Due: due}, true
}

// forget drops the records of tasks no longer in the policy, except runs
// still pending (they are reported at the next start).
func (s *taskSched) forget(tasks []protocol.Task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, r := range s.recs {
		if r.Pending == nil && !slices.ContainsFunc(tasks, func(t protocol.Task) bool { return t.Name == n }) {
			delete(s.recs, n)
		}
	}
	s.saveLocked()
}

func (s *taskSched) saveLocked() { saveRecords(s.path, s.recs, s.log, "the task schedule") }

func tasksPath(dir string) string { return filepath.Join(dir, TasksFile) }
