package gateway

import (
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func berlin(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMaintenanceWindows(t *testing.T) {
	d := core.Device{ID: 7, SiteID: 3, ClientID: 2}
	// Saturday 24 October 2026, 12:00; clocks go back on Sunday 25th at 03:00.
	from := berlin(t, "2026-10-24 12:00")
	to := from.Add(WindowHorizon)
	until := berlin(t, "2026-10-28 00:00")
	end := berlin(t, "2026-10-30 18:00")
	ms := []core.Maintenance{
		// Daily 01:00–05:00 at the site, until Wednesday: the night of the
		// switch lasts five hours.
		{Scope: core.LevelSite, TargetID: 3, Start: berlin(t, "2026-01-01 00:00"), Until: &until, Repeat: core.RepeatDaily, From: "01:00", To: "05:00"},
		// Weekly on Tuesday and Sunday 22:00–02:00 (overnight) for the client.
		{Scope: core.LevelClient, TargetID: 2, Start: berlin(t, "2026-01-01 00:00"), Repeat: core.RepeatWeekly, Weekdays: []int{0, 2}, From: "22:00", To: "02:00"},
		// A one-off window that began before from.
		{Scope: core.LevelDevice, TargetID: 7, Start: berlin(t, "2026-10-24 10:00"), End: &end},
		// Another device's and another client's windows do not count.
		{Scope: core.LevelDevice, TargetID: 8, Start: berlin(t, "2026-10-25 00:00"), End: &end},
		{Scope: core.LevelClient, TargetID: 9, Start: berlin(t, "2026-01-01 00:00"), Repeat: core.RepeatDaily, From: "00:00", To: "23:00"},
	}
	// The one-off window alone, whole: with its real start before from.
	got := MaintenanceWindows(ms[2:], d, from, to)
	if len(got) != 1 || !got[0].Start.Equal(berlin(t, "2026-10-24 10:00")) || !got[0].End.Equal(end) {
		t.Fatalf("one-off = %v", got)
	}
	// A moment later — from and to inside periods — the windows are the
	// same, so the policy's revision does not change with the clock.
	for _, at := range []time.Time{from, berlin(t, "2026-10-25 02:00")} {
		a := MaintenanceWindows(ms[:2], d, at, at.Add(WindowHorizon))
		b := MaintenanceWindows(ms[:2], d, at.Add(time.Millisecond), at.Add(WindowHorizon+time.Millisecond))
		if !slices.Equal(a, b) {
			t.Errorf("windows from %v change a millisecond later:\n%v\n%v", at, a, b)
		}
	}
	// The daily and weekly windows without the one-off.
	got = MaintenanceWindows([]core.Maintenance{ms[0], ms[1], ms[3], ms[4]}, d, from, to)
	want := []protocol.TimeWindow{
		{Start: berlin(t, "2026-10-25 01:00"), End: berlin(t, "2026-10-25 05:00")}, // 5 h: clocks went back
		{Start: berlin(t, "2026-10-25 22:00"), End: berlin(t, "2026-10-26 05:00")}, // Sunday 22–02 merged with Monday 01–05
		{Start: berlin(t, "2026-10-27 01:00"), End: berlin(t, "2026-10-27 05:00")},
		{Start: berlin(t, "2026-10-27 22:00"), End: berlin(t, "2026-10-28 02:00")}, // Tuesday; the daily one ended
		{Start: berlin(t, "2026-11-01 22:00"), End: berlin(t, "2026-11-02 02:00")},
		{Start: berlin(t, "2026-11-03 22:00"), End: berlin(t, "2026-11-04 02:00")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d windows, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if !got[i].Start.Equal(want[i].Start) || !got[i].End.Equal(want[i].End) {
			t.Errorf("window %d = %v – %v, want %v – %v", i, got[i].Start, got[i].End, want[i].Start, want[i].End)
		}
	}
	if h := got[0].End.Sub(got[0].Start); h != 5*time.Hour {
		t.Errorf("the night of the switch lasts %v, want 5h", h)
	}
	// Every period agrees with core.Maintenance.ActiveAt.
	for _, w := range got {
		for at := w.Start; at.Before(w.End); at = at.Add(15 * time.Minute) {
			if !ms[0].ActiveAt(at) && !ms[1].ActiveAt(at) {
				t.Errorf("%v is in a window but no maintenance is active then", at)
			}
		}
	}
	// Broken windows have no periods.
	if got := MaintenanceWindows([]core.Maintenance{{Scope: core.LevelDevice, TargetID: 7, Start: from, Repeat: core.RepeatDaily, From: "25:00", To: "02:00"}}, d, from, to); len(got) != 0 {
		t.Errorf("a window with a bad time = %v", got)
	}
}

func TestPatchRevision(t *testing.T) {
	// The revision changes with the decisions and not without them.
	p := &protocol.PatchPolicy{}
	if r := patchRevision("abc", p); r != "abc" {
		t.Errorf("revision without decisions = %q", r)
	}
	p.Decisions = map[string]bool{"apt:a@2": true}
	r1 := patchRevision("abc", p)
	p.Decisions["apt:a@2"] = false
	if r2 := patchRevision("abc", p); r1 == "abc" || r2 == r1 {
		t.Errorf("revisions %q, %q", r1, r2)
	}
}
