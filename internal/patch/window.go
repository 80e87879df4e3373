package patch

import (
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// scheduleWindows returns the schedule's windows (device local time in
// loc) that start on the days from..to (inclusive, dates in loc). A time
// of day that does not exist on a day (it falls into the spring-forward
// gap) starts as late as the gap shifts it (02:30 → 03:30 CEST); one that
// exists twice (autumn) starts at its second occurrence, once. A window
// lasts WindowMinutes of real time.
func scheduleWindows(s core.PatchSchedule, from, to time.Time, loc *time.Location) []protocol.TimeWindow {
	h, m, err := ParseAt(s.At)
	if err != nil {
		return nil
	}
	length := time.Duration(orDefault(s.WindowMinutes, DefaultWindowMinutes)) * time.Minute
	var out []protocol.TimeWindow
	y, mo, d := from.In(loc).Date()
	ty, tm, td := to.In(loc).Date()
	last := time.Date(ty, tm, td, 12, 0, 0, 0, loc)
	for day := time.Date(y, mo, d, 12, 0, 0, 0, loc); !day.After(last); day = day.AddDate(0, 0, 1) {
		if len(s.Weekdays) > 0 && !slices.Contains(s.Weekdays, int(day.Weekday())) {
			continue
		}
		dy, dm, dd := day.Date()
		start := time.Date(dy, dm, dd, h, m, 0, 0, loc)
		out = append(out, protocol.TimeWindow{Start: start, End: start.Add(length)})
	}
	return out
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// OpenWindow reports the install window open at now: a window of the
// schedule (its weekdays, time and length in loc) or one of extra (the
// maintenance windows the server sent) that contains now. Failing that, a
// late window: one that began at most MaxLatenessHours before now, ended,
// and was not run since (lastRun before its start; a zero lastRun was
// never run) — so a device that was off at its window installs at its
// next start. A late window is returned with its own Start (set lastRun
// to a time at or after it once run) and an End of now plus its length:
// the time the late run has. The latest late window wins. Zero
// WindowMinutes and MaxLatenessHours take the defaults.
func OpenWindow(s core.PatchSchedule, extra []protocol.TimeWindow, lastRun, now time.Time, loc *time.Location) (protocol.TimeWindow, bool) {
	if loc == nil {
		loc = time.Local
	}
	lateness := time.Duration(orDefault(s.MaxLatenessHours, DefaultMaxLatenessHours)) * time.Hour
	length := time.Duration(orDefault(s.WindowMinutes, DefaultWindowMinutes)) * time.Minute
	// Windows that started from (now - lateness - length - a day) on.
	ws := scheduleWindows(s, now.Add(-lateness-length-24*time.Hour), now, loc)
	ws = append(ws, extra...)
	var open, late protocol.TimeWindow
	for _, w := range ws {
		if !w.End.After(w.Start) {
			continue
		}
		if !now.Before(w.Start) && now.Before(w.End) {
			if open.End.IsZero() || w.End.After(open.End) {
				open = w
			}
			continue
		}
		if !w.End.After(now) && !w.Start.Before(now.Add(-lateness)) && lastRun.Before(w.Start) && w.Start.After(late.Start) {
			late = w
		}
	}
	switch {
	case !open.End.IsZero():
		return open, true
	case !late.Start.IsZero():
		return protocol.TimeWindow{Start: late.Start, End: now.Add(late.End.Sub(late.Start))}, true
	}
	return protocol.TimeWindow{}, false
}

// NextWindow returns the first window (of the schedule or extra) that
// starts after after; the zero TimeWindow if there is none (no schedule
// time and no later extra window).
func NextWindow(s core.PatchSchedule, extra []protocol.TimeWindow, after time.Time, loc *time.Location) protocol.TimeWindow {
	if loc == nil {
		loc = time.Local
	}
	var next protocol.TimeWindow
	ws := scheduleWindows(s, after.Add(-24*time.Hour), after.Add(8*24*time.Hour), loc)
	for _, w := range append(ws, extra...) {
		if w.Start.After(after) && w.End.After(w.Start) && (next.Start.IsZero() || w.Start.Before(next.Start)) {
			next = w
		}
	}
	return next
}
