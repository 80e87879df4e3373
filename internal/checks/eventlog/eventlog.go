// Package eventlog is the "eventlog" check: critical and error events from
// the system logs since the last run — the Windows System and Application
// channels (levels critical and error), the systemd journal (priorities
// 0–3) or, without a journal, classic syslog files, and the macOS unified
// log (faults). Include and exclude rules select events by source or unit,
// event ID and text. A bookmark per source, kept in the check state
// directory, makes every event count once across agent restarts.
//
// The value is the number of matching events since the last run; the
// result lists the newest of them (time, source, ID, message), capped, in
// its message and as structured data (protocol.Events) for the server.
package eventlog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Name is the check's registered name.
const Name = "eventlog"

func init() {
	check.Register(checkspec.EventLog, func(raw json.RawMessage) (check.Check, error) {
		return newCheck(raw, osSources)
	})
}

type params struct {
	// Source forces a Linux log source: "journal" or "files"; empty picks
	// the journal when journald runs, else the syslog files.
	Source string `json:"source,omitempty"`
	// Files are syslog files to read (default /var/log/syslog,
	// /var/log/messages). Syslog files carry no priority, so a line counts
	// when its text names a severity (error, critical, failed, …) or
	// matches an include rule.
	Files []string `json:"files,omitempty"`
	// Channels are the Windows event log channels (default System and
	// Application).
	Channels []string `json:"channels,omitempty"`
	// Predicate is the macOS `log show` predicate (default faults only;
	// errors are thousands an hour on a normal Mac).
	Predicate string `json:"predicate,omitempty"`
	// Lookback bounds the first run, without a bookmark (default 24h).
	Lookback logsrc.Duration `json:"lookback,omitempty"`
	// MaxEvents caps the events listed in the message (default 20).
	MaxEvents int `json:"max_events,omitempty"`
	// Warn and Fail are event counts; Warn 0 means no warning level.
	Warn float64 `json:"warn,omitempty"`
	Fail float64 `json:"fail,omitempty"`
	logsrc.Filter
}

const (
	defaultPredicate = `messageType == fault`
	stateFile        = "eventlog.json"
	clipMessage      = 140 // runes per listed event, so 20 fit the 4000-byte message
)

var (
	defaultFiles = []string{"/var/log/syslog", "/var/log/messages"}
	// severityWords marks syslog file lines worth counting when the file
	// says nothing about priority.
	severityWords = regexp.MustCompile(`(?i)\b(emerg|emergency|alert|crit|critical|err|error|errors|fatal|panic|fail|failed|failure)\b`)
)

// sourcesFunc builds the OS's log sources for the parameters.
type sourcesFunc func(p params) ([]logsrc.Source, error)

type eventCheck struct {
	p       params
	sources sourcesFunc
	now     func() time.Time
}

func newCheck(raw json.RawMessage, sources sourcesFunc) (*eventCheck, error) {
	c := &eventCheck{sources: sources, now: time.Now}
	if err := checkspec.EventLog.Decode(raw, &c.p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	if c.p.Lookback == 0 {
		c.p.Lookback = logsrc.Duration(24 * time.Hour)
	}
	if c.p.MaxEvents == 0 {
		c.p.MaxEvents = 20
	}
	if c.p.Fail == 0 {
		c.p.Fail = 1
	}
	if len(c.p.Channels) == 0 {
		c.p.Channels = []string{"System", "Application"}
	}
	if c.p.Predicate == "" {
		c.p.Predicate = defaultPredicate
	}
	return c, nil
}

func (c *eventCheck) Init() error {
	switch c.p.Source {
	case "", "journal", "files":
	default:
		return fmt.Errorf("source %q: want journal or files", c.p.Source)
	}
	if c.p.Lookback < 0 || c.p.MaxEvents < 0 || c.p.Warn < 0 || c.p.Fail < 1 {
		return errors.New("lookback, max_events and warn must not be negative, fail must be at least 1")
	}
	if c.p.Warn > c.p.Fail {
		return fmt.Errorf("warning threshold %v is above failure threshold %v", c.p.Warn, c.p.Fail)
	}
	return c.p.Filter.Compile()
}

type state struct {
	Bookmarks logsrc.Bookmarks `json:"bookmarks"`
}

func (c *eventCheck) Run(ctx context.Context, r check.Reporter) error {
	srcs, err := c.sources(c.p)
	if nse := (*logsrc.NoSourceError)(nil); errors.As(err, &nse) {
		r.Report(check.Result{Status: core.StatusUnsupported, Message: core.Text{
			EN: "Critical events cannot be read here: " + nse.EN(),
			DE: "Kritische Ereignisse können hier nicht gelesen werden: " + nse.DE(),
		}})
		return nil
	}
	if err != nil {
		return err
	}
	dir, err := check.StateDir()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, stateFile)
	var st state
	if err := logsrc.LoadState(path, &st); err != nil {
		return err
	}
	now := c.now()
	entries, bms, err := logsrc.ReadAll(ctx, srcs, st.Bookmarks, now.Add(-time.Duration(c.p.Lookback)))
	if err != nil {
		return err
	}
	var hits []logsrc.Entry
	for _, e := range entries {
		if c.critical(e) && c.p.Filter.Pass(e) {
			hits = append(hits, e)
		}
	}
	r.Report(c.result(hits))
	// Saved only now that the result exists: a crash before this point
	// reads the same events again rather than losing them.
	for name, b := range st.Bookmarks {
		if _, ok := bms[name]; !ok {
			bms[name] = b // a source that was skipped this time keeps its place
		}
	}
	return logsrc.SaveState(path, state{Bookmarks: bms})
}

// critical reports whether e is severe enough: priority 0–3, or, for
// syslog file lines without a priority, a severity word or an include rule.
func (c *eventCheck) critical(e logsrc.Entry) bool {
	if e.Priority >= 0 {
		return e.Priority <= 3
	}
	return len(c.p.Include) > 0 || severityWords.MatchString(e.Message)
}

func (c *eventCheck) result(hits []logsrc.Entry) check.Result {
	n := len(hits)
	st := core.StatusOK
	switch {
	case float64(n) >= c.p.Fail:
		st = core.StatusFailure
	case c.p.Warn > 0 && float64(n) >= c.p.Warn:
		st = core.StatusWarning
	}
	res := check.Result{Status: st, Value: check.Float(float64(n)), Unit: "events"}
	// The newest events are listed, oldest first.
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Time.Before(hits[j].Time) })
	shown := hits
	if len(shown) > c.p.MaxEvents {
		shown = shown[len(shown)-c.p.MaxEvents:]
	}
	res.Data = eventData(n, shown)
	if n == 0 {
		res.Message = core.Text{EN: "No critical events since the last check", DE: "Keine kritischen Ereignisse seit der letzten Prüfung"}
		return res
	}
	nen, nde := msg.Num(float64(n), 0)
	var en, de strings.Builder
	if n == 1 {
		en.WriteString("1 critical event since the last check:")
		de.WriteString("1 kritisches Ereignis seit der letzten Prüfung:")
	} else {
		fmt.Fprintf(&en, "%s critical events since the last check", nen)
		fmt.Fprintf(&de, "%s kritische Ereignisse seit der letzten Prüfung", nde)
		if len(shown) < n {
			fmt.Fprintf(&en, " (newest %d shown)", len(shown))
			fmt.Fprintf(&de, " (die neuesten %d angezeigt)", len(shown))
		}
		en.WriteString(":")
		de.WriteString(":")
	}
	for _, e := range shown {
		line := eventLine(e)
		t := e.Time.In(time.Local)
		fmt.Fprintf(&en, "\n%s %s", t.Format("2006-01-02 15:04:05"), line)
		fmt.Fprintf(&de, "\n%s %s", t.Format("02.01.2006 15:04:05"), line)
	}
	res.Message = core.Text{EN: en.String(), DE: de.String()}
	return res
}

// eventData is the listed events as the result's structured data
// (protocol.Events), which the server's reports read. It cannot fail to
// encode; should it, the result goes without (the message stays).
func eventData(total int, shown []logsrc.Entry) json.RawMessage {
	d := protocol.Events{Total: total, Events: make([]protocol.Event, 0, len(shown))}
	for _, e := range shown {
		d.Events = append(d.Events, protocol.Event{Time: e.Time.In(time.Local), Log: e.Log, Source: source(e), ID: e.ID,
			Level: protocol.Level(e.Priority), Text: plain(e.Message)})
	}
	b, err := protocol.EncodeEvents(d)
	if err != nil {
		return nil
	}
	return b
}

// eventLine is "source (ID 7000): message" with control characters
// (colour escapes, newlines) flattened.
func eventLine(e logsrc.Entry) string {
	src := source(e)
	if e.ID != "" {
		src += " (ID " + e.ID + ")"
	}
	return src + ": " + logsrc.Clip(plain(e.Message), clipMessage)
}

// source is the event's provider or program, else its systemd unit.
func source(e logsrc.Entry) string {
	if e.Source == "" {
		return e.Unit
	}
	return e.Source
}

// plain is m without colour escapes, on one line.
func plain(m string) string {
	m = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, ansi.ReplaceAllString(m, ""))
	return strings.Join(strings.Fields(m), " ")
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// fileSources reads the configured or default syslog files that exist.
func fileSources(p params) ([]logsrc.Source, error) {
	return logsrc.FileSources(p.Files, defaultFiles)
}

// linuxSources picks the journal when journald runs (or when asked to),
// else syslog files.
func linuxSources(p params, journald bool, run logsrc.Runner) ([]logsrc.Source, error) {
	return logsrc.LinuxSources(p.Source, p.Files, defaultFiles, journald, run, "-p", "0..3")
}
