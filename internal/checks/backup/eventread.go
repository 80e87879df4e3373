package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

// errChannelNotFound is wrapped by an eventSource when the channel does
// not exist on this machine.
var errChannelNotFound = errors.New("event log channel not found")

// eventSource is the event log access the event-based products need:
// the XML of a channel's events matching an XPath query. Tests of the
// parsing use captured XML instead.
type eventSource interface {
	Read(ctx context.Context, channel, xpath string, max int) ([]string, error)
}

// maxEvents bounds one read; results come oldest first, so a read that
// hits the bound is repeated over a shorter window to keep the newest.
const maxEvents = 2000

// eventQuery is one channel and the XPath condition on System that selects
// a product's job events.
type eventQuery struct {
	channel  string
	cond     string
	optional bool // the channel may not exist (Veeam Agent has no own channel)
}

// readEvents reads the product's job events of the last 31 days (7 or 2
// when there are too many) and classifies them.
func readEvents(events eventSource, classify func(event) (job, bool), queries ...eventQuery) reader {
	return func(ctx context.Context, _ ProductConfig, _ time.Time) ([]job, error) {
		var all []job
		for _, q := range queries {
			var xmls []string
			var err error
			for _, d := range []int{31, 7, 2} {
				xpath := fmt.Sprintf("*[System[(%s) and TimeCreated[timediff(@SystemTime) <= %d]]]", q.cond, int64(d)*24*3600*1000)
				xmls, err = events.Read(ctx, q.channel, xpath, maxEvents)
				if err != nil || len(xmls) < maxEvents {
					break
				}
			}
			if errors.Is(err, errChannelNotFound) && q.optional {
				continue
			}
			if errors.Is(err, errChannelNotFound) {
				return nil, &msg.OSError{Err: err, Text: core.Text{
					EN: fmt.Sprintf("event log channel %s not found (is the product installed?)", q.channel),
					DE: fmt.Sprintf("Ereignisprotokoll-Kanal %s nicht gefunden (ist das Produkt installiert?)", q.channel),
				}}
			}
			if err != nil {
				return nil, msg.Wrap("reading event log channel "+q.channel, "Lesen des Ereignisprotokoll-Kanals "+q.channel, logsrc.WinCallError(err))
			}
			bs := make([][]byte, len(xmls))
			for i, x := range xmls {
				bs[i] = []byte(x)
			}
			jobs, err := jobsFromEvents(bs, classify)
			if err != nil {
				return nil, err
			}
			all = append(all, jobs...)
		}
		return all, nil
	}
}

// The queries of the event-based products. Windows Server Backup's
// failures are errors or warnings, and a long "EventID=… or …" list would
// exceed the event log's XPath limits, so levels select them.
var (
	wsbQuery = eventQuery{channel: "Microsoft-Windows-Backup", cond: "EventID=4 or Level=1 or Level=2 or Level=3"}
	// Veeam Backup & Replication writes to its own channel, Veeam Agent for
	// Windows to the Application log.
	veeamQueries = []eventQuery{
		{channel: "Veeam Backup", cond: "EventID=190", optional: true},
		{channel: "Application", cond: "Provider[@Name='Veeam Agent'] and EventID=190"},
	}
)
