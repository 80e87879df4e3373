package agent

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without zoneinfo

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func plannedCheck(name string, s core.Schedule) planned {
	return planned{NamedCheck: NamedCheck{Name: name}, Schedule: s, Hash: hashOf(core.PolicyCheck{Type: name, Schedule: s})}
}

func names(ps []planned) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func berlin(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestScheduler24x7(t *testing.T) {
	s := newScheduler("", time.UTC, 0, nil)
	cpu := plannedCheck("cpu", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5})
	mem := plannedCheck("memory", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 15})
	plan := []planned{cpu, mem}
	t0 := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)

	due, _ := s.due(plan, t0)
	if len(due) != 2 {
		t.Fatalf("at first start due = %v, want both", names(due))
	}
	s.ran(due, t0)
	due, next := s.due(plan, t0.Add(4*time.Minute))
	if len(due) != 0 || !next.Equal(t0.Add(5*time.Minute)) {
		t.Errorf("after 4 min: due %v next %v, want none and %v", names(due), next, t0.Add(5*time.Minute))
	}
	due, next = s.due(plan, t0.Add(5*time.Minute))
	if len(due) != 1 || due[0].Name != "cpu" || !next.Equal(t0.Add(15*time.Minute)) {
		t.Errorf("after 5 min: due %v next %v", names(due), next)
	}
	s.ran(due, t0.Add(5*time.Minute))
	due, _ = s.due(plan, t0.Add(15*time.Minute))
	if len(due) != 2 {
		t.Errorf("after 15 min: due %v, want cpu (overdue since 10) and memory", names(due))
	}

	// A changed configuration runs at once.
	changed := plannedCheck("cpu", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 6})
	changed.Hash = "other"
	due, _ = s.due([]planned{changed}, t0.Add(6*time.Minute))
	if len(due) != 1 {
		t.Errorf("changed check not due at once")
	}
	// The clock going back does not stall a check for long.
	due, next = s.due([]planned{cpu}, t0.Add(-time.Hour))
	if len(due) != 0 || !next.Equal(t0.Add(-time.Hour+5*time.Minute)) {
		t.Errorf("clock went back: due %v next %v", names(due), next)
	}
}

func TestSchedulerIntervalOverride(t *testing.T) {
	s := newScheduler("", time.UTC, 2*time.Second, nil)
	cpu := plannedCheck("cpu", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 60})
	daily := plannedCheck("disk", core.Schedule{Class: core.ScheduleDaily, At: "06:00"})
	t0 := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	s.ran([]planned{cpu, daily}, t0)
	due, next := s.due([]planned{cpu, daily}, t0.Add(time.Second))
	if len(due) != 0 || !next.Equal(t0.Add(2*time.Second)) {
		t.Errorf("due %v next %v, want the 24x7 check at +2s", names(due), next)
	}
	due, _ = s.due([]planned{cpu, daily}, t0.Add(2*time.Second))
	if len(due) != 1 || due[0].Name != "cpu" {
		t.Errorf("--interval must not make daily checks run: due %v", names(due))
	}
}

func TestSchedulerDailyLocalTime(t *testing.T) {
	loc := berlin(t)
	s := newScheduler("", loc, 0, nil)
	disk := plannedCheck("disk", core.Schedule{Class: core.ScheduleDaily, At: "10:00"})
	plan := []planned{disk}
	// Ran Saturday 28 March 2026 at 10:00 in Berlin (CET, UTC+1). Summer
	// time starts on Sunday 29 March: the next run is 10:00 CEST (UTC+2),
	// 23 hours later.
	ranAt := time.Date(2026, 3, 28, 10, 0, 5, 0, loc)
	s.ran(plan, ranAt)
	want := time.Date(2026, 3, 29, 8, 0, 0, 0, time.UTC)
	due, next := s.due(plan, ranAt.Add(time.Hour))
	if len(due) != 0 || !next.Equal(want) {
		t.Errorf("next = %v, want %v", next.UTC(), want)
	}
	if due, _ := s.due(plan, want.Add(-time.Second)); len(due) != 0 {
		t.Error("due a second early")
	}
	if due, _ := s.due(plan, want); len(due) != 1 {
		t.Error("not due at 10:00 local")
	}
	// The same wall clock in another zone is another instant.
	other := newScheduler("", time.UTC, 0, nil)
	other.ran(plan, ranAt)
	// 10:00:05 in Berlin is 09:00:05 UTC: the next 10:00 UTC is the same day.
	if _, next := other.due(plan, ranAt.Add(30*time.Minute)); !next.Equal(time.Date(2026, 3, 28, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("UTC next = %v", next)
	}
}

func TestSchedulerMissedDailyRunsAtStart(t *testing.T) {
	loc := berlin(t)
	path := filepath.Join(t.TempDir(), ScheduleFile)
	disk := plannedCheck("disk", core.Schedule{Class: core.ScheduleDaily, At: "06:00"})
	cpu := plannedCheck("cpu", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 30})
	plan := []planned{disk, cpu}

	s := newScheduler(path, loc, 0, nil)
	mon := time.Date(2026, 5, 4, 6, 0, 1, 0, loc)
	s.ran(plan, mon)

	// Restart the same afternoon: nothing is due, the daily check waits
	// for Tuesday 06:00 and the 24x7 check for its interval.
	s = newScheduler(path, loc, 0, nil)
	due, next := s.due(plan, time.Date(2026, 5, 4, 6, 10, 0, 0, loc))
	if len(due) != 0 || !next.Equal(mon.Add(30*time.Minute)) {
		t.Errorf("restart Monday: due %v next %v", names(due), next)
	}
	// The machine was off all Tuesday and starts Wednesday 05:00: Tuesday's
	// run was missed and runs now, before Wednesday's 06:00.
	s = newScheduler(path, loc, 0, nil)
	due, _ = s.due(plan, time.Date(2026, 5, 6, 5, 0, 0, 0, loc))
	if len(names(due)) != 2 {
		t.Errorf("start after a missed day: due %v, want disk and cpu", names(due))
	}
}

func TestSchedulerPersistence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ScheduleFile)
	cpu := plannedCheck("cpu", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5})
	old := plannedCheck("gone", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5})
	t0 := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	s := newScheduler(path, time.UTC, 0, nil)
	s.ran([]planned{cpu, old}, t0)
	s.forget([]planned{cpu})
	s.ran(nil, t0) // persists the forgetting

	s2 := newScheduler(path, time.UTC, 0, nil)
	if due, _ := s2.due([]planned{cpu}, t0.Add(time.Minute)); len(due) != 0 {
		t.Error("a restart re-ran a 24x7 check within its interval")
	}
	if _, ok := s2.last["gone"]; ok {
		t.Error("a check no longer planned is still recorded")
	}
	// A damaged file means: run everything now, no crash.
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3 := newScheduler(path, time.UTC, 0, nil)
	if due, _ := s3.due([]planned{cpu}, t0.Add(time.Minute)); len(due) != 1 {
		t.Error("a damaged schedule file did not make the check due")
	}
}

func TestPolicyPlanAndStorage(t *testing.T) {
	dir := t.TempDir()
	p := protocol.Policy{Revision: "r1", Checks: []core.PolicyCheck{
		{Name: "disk-root", Type: "disk", Params: []byte(`{"warn":10,"fail":20}`), Schedule: core.Schedule{Class: core.ScheduleDaily, At: "06:00"}},
		{Name: "future", Type: "nosuchcheck", Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5}},
	}}
	if err := savePolicy(dir, storedPolicy{Policy: p}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := loadPolicy(dir)
	if err != nil || !ok || got.Revision != "r1" || len(got.Checks) != 2 {
		t.Fatalf("loadPolicy = %+v, %v, %v", got, ok, err)
	}
	plan := planFromPolicy(got.Policy, nil)
	if len(plan) != 2 || plan[0].Name != "disk-root" {
		t.Fatalf("plan %v", names(plan))
	}
	// A check this agent lacks stays in the plan and reports why.
	rs := (&Runner{}).Run(t.Context(), []NamedCheck{plan[1].NamedCheck})
	if len(rs) != 1 || rs[0].Check != "future" || rs[0].Status != core.StatusError {
		t.Errorf("unbuildable check results: %+v", rs)
	}
	if _, ok, err := loadPolicy(t.TempDir()); ok || err != nil {
		t.Errorf("no policy file: ok %v err %v", ok, err)
	}
	os.WriteFile(filepath.Join(dir, PolicyFile), []byte(`{"revision":"","checks":[]}`), 0o600)
	if _, ok, err := loadPolicy(dir); ok || err == nil {
		t.Error("an invalid stored policy was accepted")
	}
}
