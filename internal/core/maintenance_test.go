package core

import (
	"testing"
	"time"
)

func TestMaintenanceActiveAt(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	since := utc("2026-01-01T00:00:00Z")
	weekly := func(from, to string, days ...int) Maintenance {
		return Maintenance{Start: since, Repeat: RepeatWeekly, Weekdays: days, From: from, To: to}
	}
	monthly := func(day int, from, to string) Maintenance {
		return Maintenance{Start: since, Repeat: RepeatMonthly, MonthDay: day, From: from, To: to}
	}
	end := utc("2026-03-16T11:00:00Z")
	until := utc("2026-04-01T00:00:00Z")
	for _, tc := range []struct {
		name string
		m    Maintenance
		at   string
		want bool
	}{
		{"once: start", Maintenance{Start: utc("2026-03-16T10:00:00Z"), End: &end}, "2026-03-16T10:00:00Z", true},
		{"once: end excluded", Maintenance{Start: utc("2026-03-16T10:00:00Z"), End: &end}, "2026-03-16T11:00:00Z", false},
		{"once: before", Maintenance{Start: utc("2026-03-16T10:00:00Z"), End: &end}, "2026-03-16T09:59:59Z", false},

		// Sunday 01:00–05:00 Berlin on the night clocks go forward
		// (29 March 2026, 02:00 CET → 03:00 CEST): three hours.
		{"DST spring: 01:30 CET", weekly("01:00", "05:00", 0), "2026-03-29T00:30:00Z", true},
		{"DST spring: 04:30 CEST", weekly("01:00", "05:00", 0), "2026-03-29T02:30:00Z", true},
		{"DST spring: 05:00 CEST ends", weekly("01:00", "05:00", 0), "2026-03-29T03:00:00Z", false},
		{"DST spring: 00:59 CET before", weekly("01:00", "05:00", 0), "2026-03-28T23:59:00Z", false},
		{"week before: 04:30 CET", weekly("01:00", "05:00", 0), "2026-03-22T03:30:00Z", true},
		{"week before: 05:00 CET ends", weekly("01:00", "05:00", 0), "2026-03-22T04:00:00Z", false},
		// On 25 October 2026 clocks go back: the same window lasts five hours.
		{"DST autumn: 01:00 CEST", weekly("01:00", "05:00", 0), "2026-10-24T23:00:00Z", true},
		{"DST autumn: 04:30 CET", weekly("01:00", "05:00", 0), "2026-10-25T03:30:00Z", true},
		{"DST autumn: 05:00 CET ends", weekly("01:00", "05:00", 0), "2026-10-25T04:00:00Z", false},
		// Monday 08:00–09:00 follows the wall clock across the change.
		{"Monday 08:30 CET", weekly("08:00", "09:00", 1), "2026-03-23T07:30:00Z", true},
		{"Monday 09:30 CEST", weekly("08:00", "09:00", 1), "2026-03-30T07:30:00Z", false},
		{"Monday 08:30 CEST", weekly("08:00", "09:00", 1), "2026-03-30T06:30:00Z", true},
		{"Tuesday 08:30", weekly("08:00", "09:00", 1), "2026-03-31T06:30:00Z", false},

		// Overnight 22:00–02:00.
		{"daily overnight 22:30", Maintenance{Start: since, Repeat: RepeatDaily, From: "22:00", To: "02:00"}, "2026-03-16T21:30:00Z", true},
		{"daily overnight 01:30", Maintenance{Start: since, Repeat: RepeatDaily, From: "22:00", To: "02:00"}, "2026-03-17T00:30:00Z", true},
		{"daily overnight 02:30", Maintenance{Start: since, Repeat: RepeatDaily, From: "22:00", To: "02:00"}, "2026-03-17T01:30:00Z", false},
		{"daily overnight 21:30", Maintenance{Start: since, Repeat: RepeatDaily, From: "22:00", To: "02:00"}, "2026-03-16T20:30:00Z", false},
		{"Friday overnight: Saturday 01:30", weekly("22:00", "02:00", 5), "2026-03-21T00:30:00Z", true},
		{"Friday overnight: Friday 01:30", weekly("22:00", "02:00", 5), "2026-03-20T00:30:00Z", false},
		{"Friday overnight: Saturday 22:30", weekly("22:00", "02:00", 5), "2026-03-21T21:30:00Z", false},
		{"equal times: the whole day", weekly("00:00", "00:00", 1), "2026-03-16T22:59:00Z", true},

		// Monthly on day 31 falls on the last day of shorter months.
		{"day 31 in April: 30th", monthly(31, "02:00", "04:00"), "2026-04-30T01:00:00Z", true},
		{"day 31 in April: 29th", monthly(31, "02:00", "04:00"), "2026-04-29T01:00:00Z", false},
		{"day 31 in May: 31st", monthly(31, "02:00", "04:00"), "2026-05-31T01:00:00Z", true},
		{"day 31 in May: 30th", monthly(31, "02:00", "04:00"), "2026-05-30T01:00:00Z", false},
		{"day 30 in February: 28th", monthly(30, "02:00", "04:00"), "2026-02-28T02:00:00Z", true},
		{"day 31 overnight into May 1st", monthly(31, "23:00", "01:00"), "2026-04-30T22:30:00Z", true},
		{"day 15", monthly(15, "02:00", "04:00"), "2026-04-15T01:00:00Z", true},

		// The recurrence's bounds and time zone.
		{"before start", weekly("08:00", "09:00", 1), "2025-12-29T07:30:00Z", false},
		{"until", Maintenance{Start: since, Until: &until, Repeat: RepeatDaily, From: "08:00", To: "09:00"}, "2026-04-01T06:30:00Z", false},
		{"before until", Maintenance{Start: since, Until: &until, Repeat: RepeatDaily, From: "08:00", To: "09:00"}, "2026-03-31T06:30:00Z", true},
		{"UTC zone", Maintenance{Start: since, Repeat: RepeatDaily, From: "08:00", To: "09:00", TimeZone: "UTC"}, "2026-03-31T08:30:00Z", true},
		{"UTC zone outside", Maintenance{Start: since, Repeat: RepeatDaily, From: "08:00", To: "09:00", TimeZone: "UTC"}, "2026-03-31T06:30:00Z", false},
		{"bad zone never", Maintenance{Start: since, Repeat: RepeatDaily, From: "00:00", To: "00:00", TimeZone: "Mars/Base"}, "2026-03-31T06:30:00Z", false},
	} {
		if got := tc.m.ActiveAt(utc(tc.at)); got != tc.want {
			t.Errorf("%s: ActiveAt(%s) = %v, want %v", tc.name, tc.at, got, tc.want)
		}
	}
}

func TestMaintenanceCovers(t *testing.T) {
	d := Device{ID: 7, SiteID: 3, ClientID: 2}
	for _, tc := range []struct {
		m    Maintenance
		want bool
	}{
		{Maintenance{Scope: LevelDevice, TargetID: 7}, true},
		{Maintenance{Scope: LevelDevice, TargetID: 3}, false},
		{Maintenance{Scope: LevelSite, TargetID: 3}, true},
		{Maintenance{Scope: LevelSite, TargetID: 2}, false},
		{Maintenance{Scope: LevelClient, TargetID: 2}, true},
		{Maintenance{Scope: LevelClient, TargetID: 7}, false},
		{Maintenance{Scope: LevelDefault, TargetID: 0}, false},
	} {
		if got := tc.m.Covers(d); got != tc.want {
			t.Errorf("%s %d covers %+v = %v, want %v", tc.m.Scope, tc.m.TargetID, d, got, tc.want)
		}
	}
}

func TestParseHM(t *testing.T) {
	for in, want := range map[string]int{"00:00": 0, "07:05": 425, "23:59": 1439} {
		if got, err := ParseHM(in); err != nil || got != want {
			t.Errorf("ParseHM(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "7:00", "24:00", "12:60", "12-00", "+1:00", "12:0a", "12:000"} {
		if _, err := ParseHM(in); err == nil {
			t.Errorf("ParseHM(%q) accepted", in)
		}
	}
}
