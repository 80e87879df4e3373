package alert

import (
	"fmt"
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Recipients returns who is notified about device d at now: the recipients
// of the most specific level that has any (device, else site, else client,
// else default) — a lower level replaces the ones above rather than adding
// to them — filtered by office hours.
func Recipients(all []core.Recipient, d core.Device, oh OfficeHours, now time.Time) []core.Recipient {
	office := InOfficeHours(oh, now)
	for _, lvl := range []struct {
		level string
		id    int64
	}{{core.LevelDevice, d.ID}, {core.LevelSite, d.SiteID}, {core.LevelClient, d.ClientID}, {core.LevelDefault, 0}} {
		var level, out []core.Recipient
		for _, r := range all {
			if r.Level == lvl.level && r.TargetID == lvl.id {
				level = append(level, r)
			}
		}
		if len(level) == 0 {
			continue
		}
		for _, r := range level {
			switch r.Hours {
			case core.HoursOffice:
				if !office {
					continue
				}
			case core.HoursAfter:
				if office {
					continue
				}
			}
			out = append(out, r)
		}
		return out
	}
	return nil
}

// InOfficeHours reports whether now is inside the office hours, in their
// time zone (an unknown zone counts as UTC).
func InOfficeHours(oh OfficeHours, now time.Time) bool {
	loc, err := core.LoadZone(oh.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	t := now.In(loc)
	if !slices.Contains(oh.Days, int(t.Weekday())) {
		return false
	}
	start, err1 := parseHM(oh.Start)
	end, err2 := parseHM(oh.End)
	if err1 != nil || err2 != nil {
		return false
	}
	m := t.Hour()*60 + t.Minute()
	return m >= start && m < end
}

// parseHM parses "HH:MM" into minutes after midnight.
func parseHM(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}
