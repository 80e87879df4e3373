package eventlog

import (
	"regexp"
	"strings"
	"time"
)

// Event is one critical event as listed in a result's message.
type Event struct {
	Time   time.Time
	Source string // provider, unit or program
	ID     string // event ID; "" where the log has none
	Text   string
}

// eventLineRE reads one listed event of the English message, as result
// and eventLine write it: "2006-01-02 15:04:05 source (ID 7000): text".
var eventLineRE = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) (.*?)(?: \(ID ([^)]*)\))?: (.*)$`)

// Events returns the events a result's English message lists, for the
// server's reports. The agent writes their times in its local time
// without a zone; they are read in loc, the customer's zone. Lines that
// are not events (the count line) are skipped.
func Events(messageEN string, loc *time.Location) []Event {
	var out []Event
	for _, line := range strings.Split(messageEN, "\n") {
		m := eventLineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05", m[1], loc)
		if err != nil {
			continue
		}
		out = append(out, Event{Time: t, Source: m[2], ID: m[3], Text: m[4]})
	}
	return out
}
