package agent

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The rules the agent takes from internal/patch. Until p19-rules lands
// Defaults, OpenWindow, Verify and Enrich there, these stand-ins follow
// the contract of internal/patch/patch.go's comment; each is swapped for
// the package's function when it appears.

// patchDefaults fills p's zero fields.
func patchDefaults(p core.PatchPolicy) core.PatchPolicy {
	p.ScanAt = cmp.Or(p.ScanAt, "12:00")
	p.Schedule.At = cmp.Or(p.Schedule.At, "03:00")
	if p.Schedule.WindowMinutes <= 0 {
		p.Schedule.WindowMinutes = 120
	}
	if p.Schedule.MaxLatenessHours <= 0 {
		p.Schedule.MaxLatenessHours = 24
	}
	p.Reboot.Mode = cmp.Or(p.Reboot.Mode, core.RebootModeWindow)
	if p.Reboot.DeadlineHours <= 0 {
		p.Reboot.DeadlineHours = 24
	}
	if p.MaxFailures <= 0 {
		p.MaxFailures = 3
	}
	return p
}

// patchOpenWindow returns the install window open at now that has not run
// yet (lastRun before its start): the schedule's window holding now, or
// one that began at most MaxLatenessHours ago (a device that was off), or,
// with Maintenance, one of extra holding now.
func patchOpenWindow(s core.PatchSchedule, extra []protocol.TimeWindow, lastRun, now time.Time, loc *time.Location) (protocol.TimeWindow, bool) {
	h, m, err := policy.ParseAt(s.At)
	if err != nil {
		return protocol.TimeWindow{}, false
	}
	late := time.Duration(s.MaxLatenessHours) * time.Hour
	length := time.Duration(s.WindowMinutes) * time.Minute
	local := now.In(loc)
	var best protocol.TimeWindow
	found := false
	for d := -int(late/(24*time.Hour)) - 1; d <= 0; d++ {
		start := time.Date(local.Year(), local.Month(), local.Day()+d, h, m, 0, 0, loc)
		if len(s.Weekdays) > 0 && !slices.Contains(s.Weekdays, int(start.Weekday())) {
			continue
		}
		end := start.Add(length)
		if start.After(now) || !lastRun.Before(start) {
			continue
		}
		if now.Before(end) || now.Sub(start) <= late {
			best, found = protocol.TimeWindow{Start: start, End: end}, true
		}
	}
	if found {
		return best, true
	}
	if s.Maintenance {
		for _, w := range extra {
			if !now.Before(w.Start) && now.Before(w.End) && lastRun.Before(w.Start) {
				return w, true
			}
		}
	}
	return protocol.TimeWindow{}, false
}

// patchEnrich completes u from the curated catalogue.
func patchEnrich(u core.Update) core.Update { return u }

// patchVerify is the daily verification.
func patchVerify(p core.PatchPolicy, decisions map[string]bool, missing []core.MissingUpdate, reboot core.RebootState, sources []core.PatchSourceStatus, now time.Time) patch.Verification {
	var approved, critical, failed int
	for _, u := range missing {
		if !patch.Approved(patch.Approve(p, decisions, u.Update)) {
			continue
		}
		approved++
		if u.Classification == core.ClassCritical || u.Classification == core.ClassSecurity {
			critical++
		}
		if u.Failures > 0 {
			failed++
		}
	}
	v := patch.Verification{Status: core.StatusOK, Value: float64(approved),
		Message: core.Text{EN: "All approved updates are installed.", DE: "Alle freigegebenen Updates sind installiert."}}
	if approved > 0 {
		v.Status = core.StatusWarning
		v.Message = core.Text{EN: fmt.Sprintf("%d missing (%d critical), %d failed", approved, critical, failed),
			DE: fmt.Sprintf("%d fehlen (%d kritisch), %d fehlgeschlagen", approved, critical, failed)}
	}
	for _, s := range sources {
		if s.Status == core.ScanError {
			v.Status = core.Worst(v.Status, core.StatusWarning)
			v.Message.EN += "; " + s.Source + ": " + s.Message.EN
			v.Message.DE += "; " + s.Source + ": " + s.Message.DE
		}
	}
	return v
}
