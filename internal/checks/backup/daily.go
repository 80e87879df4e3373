package backup

import (
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// DailyPrefix starts the key of a product's daily verdict:
// "daily:<product key>".
const DailyPrefix = "daily:"

// latestOnly are the products whose readers know only the newest
// successful backup, not a history of runs: a day's verdict cannot be
// told from them.
var latestOnly = map[string]bool{Generic: true}

// parseVerdictAt reads "HH:MM" into the offset from midnight.
func parseVerdictAt(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, fmt.Errorf("daily_verdict_at %q: want HH:MM (24-hour clock)", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

// backupDay returns the last expected backup day that has ended at now.
// A backup day runs from its date at `at` to the next date at `at`, so a
// job at 23:00 and one at 02:00 after midnight both belong to the evening's
// day; the verdict on a day is final from the next day at `at` on.
func backupDay(now time.Time, at time.Duration, ru rule) (start, end time.Time) {
	h, m := int(at/time.Hour), int(at%time.Hour/time.Minute)
	y, mo, d := now.Date()
	end = time.Date(y, mo, d, h, m, 0, 0, now.Location())
	if end.After(now) {
		d--
	}
	// At most a week back: newRule guarantees one expected weekday.
	for i := 0; i < 7; i++ {
		start = time.Date(y, mo, d-1-i, h, m, 0, 0, now.Location())
		if ru.Expected[start.Weekday()] {
			return start, time.Date(y, mo, d-i, h, m, 0, 0, now.Location())
		}
	}
	return start, time.Date(y, mo, d, h, m, 0, 0, now.Location())
}

var weekdayDE = [7]string{"So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"}

// dailyVerdict says whether the backup of the last expected day that has
// ended succeeded (at least min_successes counted successes in the day),
// failed (a job ran and did not succeed) or is missing (no job at all).
func dailyVerdict(p ProductConfig, jobs []job, ru rule, now time.Time, at time.Duration) check.Result {
	start, end := backupDay(now, at, ru)
	var succ int
	var lastBad *job
	for i := range jobs {
		j := &jobs[i]
		if j.Time.Before(start) || !j.Time.Before(end) {
			continue
		}
		if j.Outcome == success || (j.Outcome == warning && ru.WarningsOK) {
			succ++
		} else if lastBad == nil || j.Time.After(lastBad.Time) {
			lastBad = j
		}
	}
	dayEN := start.Weekday().String()[:3] + " " + start.Format("2006-01-02")
	dayDE := weekdayDE[start.Weekday()] + " " + start.Format("02.01.2006")
	name := label(p)
	// No value: the dashboard shows a value with its unit in place of the
	// status, and a count of jobs would hide the verdict there.
	res := check.Result{Key: DailyPrefix + p.key()}
	var en, de string
	switch {
	case succ >= ru.MinSuccess:
		res.Status = core.StatusOK
		en = fmt.Sprintf("%s: backup of %s succeeded (successful jobs: %d)", name, dayEN, succ)
		de = fmt.Sprintf("%s: Backup vom %s erfolgreich (erfolgreiche Jobs: %d)", name, dayDE, succ)
	case lastBad != nil:
		res.Status = core.StatusFailure
		en = fmt.Sprintf("%s: backup of %s failed (successful jobs: %d of %d)", name, dayEN, succ, ru.MinSuccess)
		de = fmt.Sprintf("%s: Backup vom %s fehlgeschlagen (erfolgreiche Jobs: %d von %d)", name, dayDE, succ, ru.MinSuccess)
		if lastBad.Reason != "" {
			en += ": " + lastBad.Reason
			de += ": " + lastBad.Reason
		}
	case succ > 0:
		res.Status = core.StatusFailure
		en = fmt.Sprintf("%s: backup of %s incomplete (successful jobs: %d of %d)", name, dayEN, succ, ru.MinSuccess)
		de = fmt.Sprintf("%s: Backup vom %s unvollständig (erfolgreiche Jobs: %d von %d)", name, dayDE, succ, ru.MinSuccess)
	default:
		res.Status = core.StatusFailure
		en = fmt.Sprintf("%s: backup of %s missing (no job ran)", name, dayEN)
		de = fmt.Sprintf("%s: Backup vom %s fehlt (kein Job gelaufen)", name, dayDE)
	}
	res.Message = core.Text{EN: en, DE: de}
	return res
}
