package agent

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestNextOccurrence(t *testing.T) {
	loc := berlin(t)
	at := func(y int, mo time.Month, d, h, m int) time.Time { return time.Date(y, mo, d, h, m, 0, 0, loc) }
	daily := core.TaskSchedule{Kind: core.TaskDaily, At: "03:00"}
	for _, tc := range []struct {
		name  string
		s     core.TaskSchedule
		after time.Time
		want  time.Time
	}{
		{"interval", core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 90}, at(2026, 5, 4, 23, 0), at(2026, 5, 5, 0, 30)},
		{"daily later today", daily, at(2026, 5, 4, 2, 59), at(2026, 5, 4, 3, 0)},
		{"daily at the time itself", daily, at(2026, 5, 4, 3, 0), at(2026, 5, 5, 3, 0)},
		{"daily tomorrow", daily, at(2026, 5, 4, 10, 0), at(2026, 5, 5, 3, 0)},
		{"daily across the year", daily, at(2026, 12, 31, 4, 0), at(2027, 1, 1, 3, 0)},
		// 29 March 2026: Berlin skips 02:00–03:00; 02:30 is normalized.
		{"daily in the skipped hour", core.TaskSchedule{Kind: core.TaskDaily, At: "02:30"}, at(2026, 3, 28, 3, 0), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{"after the skipped hour's run", core.TaskSchedule{Kind: core.TaskDaily, At: "02:30"}, time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), at(2026, 3, 30, 2, 30)},
		// 25 October 2026: 02:00–03:00 happens twice; the task runs once.
		{"daily on the repeated hour", core.TaskSchedule{Kind: core.TaskDaily, At: "02:30"}, at(2026, 10, 24, 12, 0), at(2026, 10, 25, 2, 30)},
		{"after the first 02:30", core.TaskSchedule{Kind: core.TaskDaily, At: "02:30"}, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), at(2026, 10, 26, 2, 30)},
		{"after the second 02:30", core.TaskSchedule{Kind: core.TaskDaily, At: "02:30"}, time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), at(2026, 10, 26, 2, 30)},
		{"interval across DST counts real time", core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60}, time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
		// 4 May 2026 is a Monday.
		{"weekly same day later", core.TaskSchedule{Kind: core.TaskWeekly, At: "18:00", Weekdays: []int{1, 5}}, at(2026, 5, 4, 9, 0), at(2026, 5, 4, 18, 0)},
		{"weekly next listed day", core.TaskSchedule{Kind: core.TaskWeekly, At: "18:00", Weekdays: []int{1, 5}}, at(2026, 5, 4, 18, 0), at(2026, 5, 8, 18, 0)},
		{"weekly over the weekend", core.TaskSchedule{Kind: core.TaskWeekly, At: "18:00", Weekdays: []int{1, 5}}, at(2026, 5, 8, 19, 0), at(2026, 5, 11, 18, 0)},
		{"weekly on Sunday", core.TaskSchedule{Kind: core.TaskWeekly, At: "08:00", Weekdays: []int{0}}, at(2026, 5, 4, 9, 0), at(2026, 5, 10, 8, 0)},
		{"weekly without days", core.TaskSchedule{Kind: core.TaskWeekly, At: "08:00"}, at(2026, 5, 4, 9, 0), time.Time{}},
		{"monthly this month", core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 15}, at(2026, 5, 4, 9, 0), at(2026, 5, 15, 1, 0)},
		{"monthly next month", core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 15}, at(2026, 5, 15, 1, 0), at(2026, 6, 15, 1, 0)},
		{"monthly 31 in April", core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 31}, at(2026, 4, 1, 0, 0), at(2026, 4, 30, 1, 0)},
		{"monthly 31 after April's", core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 31}, at(2026, 4, 30, 1, 0), at(2026, 5, 31, 1, 0)},
		{"monthly 30 in February", core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 30}, at(2026, 2, 1, 0, 0), at(2026, 2, 28, 1, 0)},
		{"monthly 29 in a leap year", core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 29}, at(2028, 2, 1, 0, 0), at(2028, 2, 29, 1, 0)},
		{"monthly 31 across the year", core.TaskSchedule{Kind: core.TaskMonthly, At: "23:59", Day: 31}, at(2026, 12, 31, 23, 59), at(2027, 1, 31, 23, 59)},
		{"start is not on the clock", core.TaskSchedule{Kind: core.TaskAtStart}, at(2026, 5, 4, 9, 0), time.Time{}},
		{"fix is not on the clock", core.TaskSchedule{Kind: core.TaskFixOnly}, at(2026, 5, 4, 9, 0), time.Time{}},
	} {
		got := nextOccurrence(tc.s, tc.after, loc)
		if !got.Equal(tc.want) {
			t.Errorf("%s: next after %s = %s, want %s", tc.name, tc.after, got, tc.want)
		}
	}
}

func TestLatestDueCatchesUpOnce(t *testing.T) {
	loc := berlin(t)
	last := time.Date(2026, 5, 4, 3, 0, 0, 0, loc)
	now := time.Date(2026, 5, 9, 12, 0, 0, 0, loc) // off for five days
	due, ok := latestDue(core.TaskSchedule{Kind: core.TaskDaily, At: "03:00"}, last, now, loc)
	if !ok || !due.Equal(time.Date(2026, 5, 9, 3, 0, 0, 0, loc)) {
		t.Errorf("daily catch-up: %s %v, want the latest missed occurrence", due, ok)
	}
	due, ok = latestDue(core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60}, last, now, loc)
	if !ok || !due.Equal(time.Date(2026, 5, 9, 12, 0, 0, 0, loc)) {
		t.Errorf("interval catch-up: %s %v", due, ok)
	}
	// 4 May 2026 is a Monday; the latest Friday before the 9th is the 8th.
	due, ok = latestDue(core.TaskSchedule{Kind: core.TaskWeekly, At: "18:00", Weekdays: []int{5}}, last, now, loc)
	if !ok || !due.Equal(time.Date(2026, 5, 8, 18, 0, 0, 0, loc)) {
		t.Errorf("weekly catch-up: %s %v", due, ok)
	}
	due, ok = latestDue(core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 31}, time.Date(2026, 1, 15, 0, 0, 0, 0, loc), now, loc)
	if !ok || !due.Equal(time.Date(2026, 4, 30, 1, 0, 0, 0, loc)) {
		t.Errorf("monthly catch-up: %s %v, want April's last day", due, ok)
	}
	if _, ok := latestDue(core.TaskSchedule{Kind: core.TaskMonthly, At: "01:00", Day: 31}, time.Date(2026, 4, 30, 1, 0, 0, 0, loc), now, loc); ok {
		t.Error("monthly due again in the same month")
	}
	// The repeated hour when DST ends: run at the first 02:30, not due at
	// the second.
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)
	if _, ok := latestDue(core.TaskSchedule{Kind: core.TaskDaily, At: "02:30"}, first, first.Add(time.Hour), loc); ok {
		t.Error("daily due twice in the repeated hour")
	}
	if _, ok := latestDue(core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60}, last, last.Add(59*time.Minute), loc); ok {
		t.Error("interval due before its time")
	}
	if _, ok := latestDue(core.TaskSchedule{Kind: core.TaskDaily, At: "03:00"}, last, last.Add(23*time.Hour), loc); ok {
		t.Error("daily due twice a day")
	}
}

func task(name string, s core.TaskSchedule) protocol.Task {
	return protocol.Task{Name: name, Schedule: s, Script: protocol.ScriptArgs{Language: "sh", Body: "true"}}
}

func TestTaskSchedDue(t *testing.T) {
	loc := berlin(t)
	path := filepath.Join(t.TempDir(), TasksFile)
	s := newTaskSched(path, loc, nil)
	t0 := time.Date(2026, 5, 4, 10, 0, 0, 0, loc)
	hourly := task("hourly", core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60})
	nightly := task("nightly", core.TaskSchedule{Kind: core.TaskDaily, At: "03:00"})
	start := task("start", core.TaskSchedule{Kind: core.TaskAtStart})
	fix := task("fix", core.TaskSchedule{Kind: core.TaskFixOnly})
	tasks := []protocol.Task{hourly, nightly, start, fix}

	// A new interval task is due at once; a new daily task waits for its
	// time; start and fix tasks are not on the clock.
	due, which, next := s.due(tasks, t0)
	if len(due) != 1 || which[0].Name != "hourly" || !due[0].Due.Equal(t0) || due[0].Trigger != protocol.TriggerSchedule {
		t.Fatalf("first due: %+v %v", due, which)
	}
	if !next.Equal(time.Date(2026, 5, 5, 3, 0, 0, 0, loc)) {
		t.Errorf("next = %s, want tomorrow 03:00", next)
	}
	if !s.begin("hourly", due[0]) || s.begin("hourly", due[0]) {
		t.Fatal("begin: want true, then false while it runs")
	}
	// Running: not due again, even when its time comes.
	if due, _, _ := s.due(tasks, t0.Add(2*time.Hour)); len(due) != 0 {
		t.Errorf("a running task is due again: %+v", due)
	}
	s.end("hourly", true)

	// A restart (a new scheduler on the same file) keeps the anchors: the
	// daily task missed while the agent was stopped runs once, for the
	// latest occurrence; the hourly one once, not for each hour.
	s = newTaskSched(path, loc, nil)
	later := time.Date(2026, 5, 7, 12, 30, 0, 0, loc)
	due, which, _ = s.due(tasks, later)
	if len(due) != 2 || which[0].Name != "hourly" || !due[0].Due.Equal(time.Date(2026, 5, 7, 12, 0, 0, 0, loc)) ||
		which[1].Name != "nightly" || !due[1].Due.Equal(time.Date(2026, 5, 7, 3, 0, 0, 0, loc)) {
		t.Fatalf("after downtime: %+v %v", due, which)
	}
	for i := range due {
		s.begin(which[i].Name, due[i])
	}
	// Killed mid-run: the runs are pending after a restart.
	s = newTaskSched(path, loc, nil)
	if p := s.pending(); len(p) != 2 || p["nightly"].runID("nightly") != protocol.TaskRunID("nightly", "schedule", time.Date(2026, 5, 7, 3, 0, 0, 0, loc)) {
		t.Errorf("pending after restart: %+v", p)
	}
	if due, _, _ := s.due(tasks, later); len(due) != 0 {
		t.Errorf("a started occurrence is due again: %+v", due)
	}
	s.begin("nightly", s.pending()["nightly"])
	s.end("nightly", true)
	s.begin("hourly", s.pending()["hourly"])
	s.end("hourly", false) // stopped again: stays pending
	if p := newTaskSched(path, loc, nil).pending(); len(p) != 1 || p["hourly"].Due.IsZero() {
		t.Errorf("pending: %+v", p)
	}

	// A changed daily time is anchored anew: 04:00 tomorrow, not at once.
	s.end("hourly", true)
	nightly.Schedule.At = "04:00"
	due, _, next = s.due([]protocol.Task{nightly}, later)
	if len(due) != 0 || !next.Equal(time.Date(2026, 5, 8, 4, 0, 0, 0, loc)) {
		t.Errorf("changed daily: due %+v next %s", due, next)
	}
	// A changed interval counts from the last run.
	hourly.Schedule.EveryMinutes = 120
	due, _, next = s.due([]protocol.Task{hourly}, later)
	if len(due) != 0 || !next.Equal(time.Date(2026, 5, 7, 14, 0, 0, 0, loc)) {
		t.Errorf("changed interval: due %+v next %s", due, next)
	}
	// Removed tasks are forgotten.
	s.forget([]protocol.Task{hourly})
	if s.recs["nightly"] != nil || s.recs["hourly"] == nil {
		t.Errorf("forget kept %v", s.recs)
	}
}

func TestTaskSchedFixCap(t *testing.T) {
	loc := berlin(t)
	path := filepath.Join(t.TempDir(), TasksFile)
	s := newTaskSched(path, loc, nil)
	day := time.Date(2026, 5, 4, 23, 0, 0, 0, loc)
	var ids []string
	for i := range 2 {
		o, ok := s.takeFix("restart", 2, day)
		if !ok || o.Trigger != protocol.TriggerFix {
			t.Fatalf("fix %d refused", i+1)
		}
		ids = append(ids, o.runID("restart"))
	}
	if ids[0] == ids[1] {
		t.Errorf("two fixes in one second share the run ID %s", ids[0])
	}
	if _, ok := s.takeFix("restart", 2, day.Add(30*time.Minute)); ok {
		t.Error("third fix of the day taken")
	}
	// The count survives a restart; the next local day starts anew.
	s = newTaskSched(path, loc, nil)
	if _, ok := s.takeFix("restart", 2, day.Add(59*time.Minute)); ok {
		t.Error("cap forgotten by a restart")
	}
	if _, ok := s.takeFix("restart", 2, day.Add(61*time.Minute)); !ok {
		t.Error("no fix on the next day")
	}
	// 0 takes the default; a running task takes no fix.
	for range core.DefaultFixesPerDay {
		if _, ok := s.takeFix("other", 0, day); !ok {
			t.Fatal("default cap too small")
		}
	}
	if _, ok := s.takeFix("other", 0, day); ok {
		t.Error("default cap not applied")
	}
	s.begin("third", taskOccurrence{Trigger: protocol.TriggerSchedule, Due: day})
	if _, ok := s.takeFix("third", 5, day); ok {
		t.Error("a fix while the task runs")
	}
}

// TestTaskSchedStartRunIDs: an agent restarted within the second of its
// last start gets a new start run ID (the journal would otherwise answer
// the old run); a pending start run recovered keeps its own.
func TestTaskSchedStartRunIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), TasksFile)
	s := newTaskSched(path, time.UTC, nil)
	started := time.Date(2026, 5, 4, 10, 0, 0, 300, time.UTC)
	first := s.startOccurrence("boot", started)
	if !s.begin("boot", first) {
		t.Fatal("start run refused")
	}
	s.end("boot", true)
	s = newTaskSched(path, time.UTC, nil)
	second := s.startOccurrence("boot", started.Add(400*time.Millisecond))
	if second.runID("boot") == first.runID("boot") {
		t.Fatalf("a start within the same second reuses the run ID %s", first.runID("boot"))
	}
	s.begin("boot", second) // the agent stops during the run
	s = newTaskSched(path, time.UTC, nil)
	if o := s.pending()["boot"]; o.runID("boot") != second.runID("boot") {
		t.Errorf("pending start run %v, want %v", o, second)
	}
	if third := s.startOccurrence("boot", started); !third.Due.After(second.Due) {
		t.Errorf("third start due %v, not after %v", third.Due, second.Due)
	}
}

// BenchmarkTaskSchedDue: one pass of the tasks' loop over a policy's
// maximum of tasks, each missed for a year (the worst catch-up).
func BenchmarkTaskSchedDue(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	s := newTaskSched("", loc, nil)
	now := time.Date(2026, 5, 4, 10, 0, 0, 0, loc)
	kinds := []core.TaskSchedule{
		{Kind: core.TaskInterval, EveryMinutes: 5},
		{Kind: core.TaskDaily, At: "03:00"},
		{Kind: core.TaskWeekly, At: "03:00", Weekdays: []int{1, 3, 5}},
		{Kind: core.TaskMonthly, At: "03:00", Day: 31},
	}
	var tasks []protocol.Task
	for i := range protocol.MaxPolicyTasks {
		t := task(fmt.Sprintf("t%d", i), kinds[i%len(kinds)])
		tasks = append(tasks, t)
		s.recs[t.Name] = &taskRecord{Hash: taskHash(t.Schedule), Last: now.AddDate(-1, 0, 0)}
	}
	for b.Loop() {
		if due, _, _ := s.due(tasks, now); len(due) != len(tasks) {
			b.Fatalf("%d due", len(due))
		}
	}
}
