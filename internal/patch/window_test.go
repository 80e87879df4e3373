package patch

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatalf("loading Europe/Berlin: %v", err)
	}
	return loc
}

func at(loc *time.Location, y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, loc)
}

func TestOpenWindow(t *testing.T) {
	loc := berlin(t)
	daily := core.PatchSchedule{At: "03:00", WindowMinutes: 180, MaxLatenessHours: 48}
	// 2026-03-29 is the spring-forward Sunday in Berlin (02:00 CET → 03:00
	// CEST), 2026-10-25 the fall-back Sunday (03:00 CEST → 02:00 CET).
	tests := []struct {
		name    string
		s       core.PatchSchedule
		extra   []protocol.TimeWindow
		lastRun time.Time
		now     time.Time
		ok      bool
		start   time.Time
		end     time.Time
	}{
		{name: "inside", s: daily, now: at(loc, 2026, 6, 10, 4, 0), ok: true,
			start: at(loc, 2026, 6, 10, 3, 0), end: at(loc, 2026, 6, 10, 6, 0)},
		{name: "inside, already run: still open (retries within the window)", s: daily, lastRun: at(loc, 2026, 6, 10, 3, 5),
			now: at(loc, 2026, 6, 10, 4, 0), ok: true, start: at(loc, 2026, 6, 10, 3, 0), end: at(loc, 2026, 6, 10, 6, 0)},
		{name: "at the start", s: daily, now: at(loc, 2026, 6, 10, 3, 0), ok: true,
			start: at(loc, 2026, 6, 10, 3, 0), end: at(loc, 2026, 6, 10, 6, 0)},
		{name: "end is exclusive, run since", s: daily, lastRun: at(loc, 2026, 6, 10, 3, 0), now: at(loc, 2026, 6, 10, 6, 0)},
		{name: "late: off at 03:00, starts at 08:00", s: daily, lastRun: at(loc, 2026, 6, 9, 3, 10),
			now: at(loc, 2026, 6, 10, 8, 0), ok: true, start: at(loc, 2026, 6, 10, 3, 0), end: at(loc, 2026, 6, 10, 11, 0)},
		{name: "late, never run", s: daily, now: at(loc, 2026, 6, 10, 8, 0), ok: true,
			start: at(loc, 2026, 6, 10, 3, 0), end: at(loc, 2026, 6, 10, 11, 0)},
		{name: "not late: run since the window", s: daily, lastRun: at(loc, 2026, 6, 10, 3, 1), now: at(loc, 2026, 6, 10, 8, 0)},
		{name: "weekly, late by 47 h", s: core.PatchSchedule{Weekdays: []int{0}, At: "03:00", WindowMinutes: 60, MaxLatenessHours: 48},
			lastRun: at(loc, 2026, 6, 1, 0, 0), now: at(loc, 2026, 6, 9, 2, 0), ok: true, // Sunday 7 June 03:00 + 47 h
			start: at(loc, 2026, 6, 7, 3, 0), end: at(loc, 2026, 6, 9, 3, 0)},
		{name: "weekly, late by 49 h: too late", s: core.PatchSchedule{Weekdays: []int{0}, At: "03:00", WindowMinutes: 60, MaxLatenessHours: 48},
			lastRun: at(loc, 2026, 6, 1, 0, 0), now: at(loc, 2026, 6, 9, 4, 0)},
		{name: "weekly, wrong day", s: core.PatchSchedule{Weekdays: []int{1, 3}, At: "03:00", WindowMinutes: 60, MaxLatenessHours: 1},
			now: at(loc, 2026, 6, 9, 3, 30)}, // a Tuesday
		{name: "weekly, right day (Wednesday)", s: core.PatchSchedule{Weekdays: []int{1, 3}, At: "03:00", WindowMinutes: 60, MaxLatenessHours: 1},
			now: at(loc, 2026, 6, 10, 3, 30), ok: true, start: at(loc, 2026, 6, 10, 3, 0), end: at(loc, 2026, 6, 10, 4, 0)},
		{name: "window across midnight", s: core.PatchSchedule{At: "23:00", WindowMinutes: 120, MaxLatenessHours: 1},
			lastRun: at(loc, 2026, 6, 9, 23, 30), now: at(loc, 2026, 6, 10, 0, 30), ok: true,
			start: at(loc, 2026, 6, 9, 23, 0), end: at(loc, 2026, 6, 10, 1, 0)},
		{name: "latest late window wins", s: daily, now: at(loc, 2026, 6, 10, 8, 0), lastRun: at(loc, 2026, 6, 7, 0, 0), ok: true,
			start: at(loc, 2026, 6, 10, 3, 0), end: at(loc, 2026, 6, 10, 11, 0)},
		{name: "spring forward: 02:30 does not exist, the window starts 03:30 CEST", s: core.PatchSchedule{At: "02:30", WindowMinutes: 60, MaxLatenessHours: 1},
			lastRun: at(loc, 2026, 3, 29, 0, 0), now: time.Date(2026, 3, 29, 1, 45, 0, 0, time.UTC), ok: true, // 03:45 CEST
			start: time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC), end: time.Date(2026, 3, 29, 2, 30, 0, 0, time.UTC)},
		{name: "spring forward: 03:00 lasts 180 real minutes", s: daily, lastRun: at(loc, 2026, 3, 29, 0, 0),
			now: time.Date(2026, 3, 29, 3, 30, 0, 0, time.UTC), ok: true, // 05:30 CEST
			start: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), end: time.Date(2026, 3, 29, 4, 0, 0, 0, time.UTC)},
		{name: "spring forward: before the window", s: daily, lastRun: at(loc, 2026, 3, 28, 3, 0),
			now: time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC)}, // 01:59 CET
		{name: "fall back: 02:30 exists twice, the window opens once (second)", s: core.PatchSchedule{At: "02:30", WindowMinutes: 30, MaxLatenessHours: 1},
			lastRun: at(loc, 2026, 10, 24, 3, 0), now: time.Date(2026, 10, 25, 0, 40, 0, 0, time.UTC)}, // 02:40 CEST, first 02:30
		{name: "fall back: second 02:30 CET", s: core.PatchSchedule{At: "02:30", WindowMinutes: 30, MaxLatenessHours: 1},
			lastRun: at(loc, 2026, 10, 24, 3, 0), now: time.Date(2026, 10, 25, 1, 40, 0, 0, time.UTC), ok: true, // 02:40 CET
			start: time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), end: time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)},
		{name: "fall back: 01:00 lasts 180 real minutes (until 03:00 CET)", s: core.PatchSchedule{At: "01:00", WindowMinutes: 180, MaxLatenessHours: 1},
			lastRun: at(loc, 2026, 10, 24, 3, 0), now: time.Date(2026, 10, 25, 1, 59, 0, 0, time.UTC), ok: true, // 02:59 CET
			start: time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC), end: time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)},
		{name: "maintenance window only", s: core.PatchSchedule{Maintenance: true, MaxLatenessHours: 1},
			extra: []protocol.TimeWindow{{Start: at(loc, 2026, 6, 10, 20, 0), End: at(loc, 2026, 6, 10, 22, 0)}},
			now:   at(loc, 2026, 6, 10, 21, 0), ok: true, start: at(loc, 2026, 6, 10, 20, 0), end: at(loc, 2026, 6, 10, 22, 0)},
		{name: "maintenance window only, outside", s: core.PatchSchedule{Maintenance: true, MaxLatenessHours: 1},
			extra:   []protocol.TimeWindow{{Start: at(loc, 2026, 6, 10, 20, 0), End: at(loc, 2026, 6, 10, 22, 0)}},
			lastRun: at(loc, 2026, 6, 10, 21, 0), now: at(loc, 2026, 6, 10, 22, 30)},
		{name: "maintenance window, late", s: core.PatchSchedule{Maintenance: true, MaxLatenessHours: 12},
			extra:   []protocol.TimeWindow{{Start: at(loc, 2026, 6, 10, 20, 0), End: at(loc, 2026, 6, 10, 22, 0)}},
			lastRun: at(loc, 2026, 6, 9, 21, 0), now: at(loc, 2026, 6, 11, 7, 0), ok: true,
			start: at(loc, 2026, 6, 10, 20, 0), end: at(loc, 2026, 6, 11, 9, 0)},
		{name: "an empty extra window is ignored", s: core.PatchSchedule{Maintenance: true},
			extra: []protocol.TimeWindow{{Start: at(loc, 2026, 6, 10, 20, 0), End: at(loc, 2026, 6, 10, 20, 0)}},
			now:   at(loc, 2026, 6, 10, 20, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, ok := OpenWindow(tt.s, tt.extra, tt.lastRun, tt.now, loc)
			if ok != tt.ok {
				t.Fatalf("OpenWindow = %v, %v; want ok %v", w, ok, tt.ok)
			}
			if ok && (!w.Start.Equal(tt.start) || !w.End.Equal(tt.end)) {
				t.Errorf("OpenWindow = [%v, %v); want [%v, %v)", w.Start, w.End, tt.start, tt.end)
			}
		})
	}
}

func TestNextWindow(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name  string
		s     core.PatchSchedule
		extra []protocol.TimeWindow
		after time.Time
		start time.Time
	}{
		{"daily, later today", core.PatchSchedule{At: "03:00"}, nil, at(loc, 2026, 6, 10, 1, 0), at(loc, 2026, 6, 10, 3, 0)},
		{"daily, tomorrow", core.PatchSchedule{At: "03:00"}, nil, at(loc, 2026, 6, 10, 3, 0), at(loc, 2026, 6, 11, 3, 0)},
		{"weekly Sunday from a Tuesday", core.PatchSchedule{At: "03:00", Weekdays: []int{0}}, nil, at(loc, 2026, 6, 9, 12, 0), at(loc, 2026, 6, 14, 3, 0)},
		{"weekly Sunday from Sunday after the start", core.PatchSchedule{At: "03:00", Weekdays: []int{0}}, nil, at(loc, 2026, 6, 14, 3, 1), at(loc, 2026, 6, 21, 3, 0)},
		{"across spring forward, offset changes", core.PatchSchedule{At: "03:00"}, nil, at(loc, 2026, 3, 28, 4, 0), time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{"the gap time moves to 03:30 CEST", core.PatchSchedule{At: "02:30"}, nil, at(loc, 2026, 3, 28, 4, 0), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{"across fall back", core.PatchSchedule{At: "03:00"}, nil, at(loc, 2026, 10, 24, 4, 0), time.Date(2026, 10, 25, 2, 0, 0, 0, time.UTC)},
		{"an earlier maintenance window", core.PatchSchedule{At: "03:00"}, []protocol.TimeWindow{{Start: at(loc, 2026, 6, 10, 22, 0), End: at(loc, 2026, 6, 10, 23, 0)}},
			at(loc, 2026, 6, 10, 12, 0), at(loc, 2026, 6, 10, 22, 0)},
		{"maintenance only", core.PatchSchedule{Maintenance: true}, []protocol.TimeWindow{{Start: at(loc, 2026, 6, 1, 22, 0), End: at(loc, 2026, 6, 1, 23, 0)}, {Start: at(loc, 2026, 6, 20, 22, 0), End: at(loc, 2026, 6, 20, 23, 0)}},
			at(loc, 2026, 6, 10, 12, 0), at(loc, 2026, 6, 20, 22, 0)},
		{"nothing", core.PatchSchedule{Maintenance: true}, nil, at(loc, 2026, 6, 10, 12, 0), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NextWindow(tt.s, tt.extra, tt.after, loc)
			if !w.Start.Equal(tt.start) {
				t.Errorf("NextWindow start = %v; want %v", w.Start, tt.start)
			}
			if !tt.start.IsZero() && !w.End.After(w.Start) {
				t.Errorf("NextWindow end %v not after start %v", w.End, w.Start)
			}
		})
	}
}

// Every day of a year in Berlin has exactly one daily window, and it
// lasts its minutes of real time.
func TestScheduleWindowsOneADay(t *testing.T) {
	loc := berlin(t)
	for _, hhmm := range []string{"00:00", "01:59", "02:00", "02:30", "03:00", "23:59"} {
		s := core.PatchSchedule{At: hhmm, WindowMinutes: 90}
		ws := scheduleWindows(s, at(loc, 2026, 1, 1, 0, 0), at(loc, 2026, 12, 31, 23, 0), loc)
		if len(ws) != 365 {
			t.Fatalf("%s: %d windows in 2026, want 365", hhmm, len(ws))
		}
		for i, w := range ws {
			if w.End.Sub(w.Start) != 90*time.Minute {
				t.Errorf("%s: window %v lasts %v", hhmm, w.Start, w.End.Sub(w.Start))
			}
			if i > 0 && !w.Start.After(ws[i-1].Start) {
				t.Errorf("%s: window %v not after %v", hhmm, w.Start, ws[i-1].Start)
			}
		}
	}
}
