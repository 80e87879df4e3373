package protocol

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Structured result data. A result may carry, beside its human message, a
// JSON object in core.Result.Data whose "kind" names its schema and "v" its
// version, for the server to read instead of message text (the daily
// report's critical events). The rules that keep old and new agents and
// servers working together:
//
//   - Data is optional: a result without it (an older agent) is stored and
//     shown by its message; a server that does not know the field (an
//     older server) ignores it.
//   - Readers use only the kinds and versions they know and fall back to
//     the message otherwise; the server stores any kind unchanged.
//   - Adding a field keeps the version; renaming, removing or changing the
//     meaning of one is a new version, which the agent sends only once the
//     servers read it.
//   - The producer bounds what it sends (MaxItems entries, MaxText runes of
//     text, MaxDataBytes in all) and says what it left out; readers bound
//     again rather than trust it.
const (
	KindEvents = "events" // Events, from the eventlog check
	KindLogins = "logins" // Logins, from the logins check
	// KindTaskRun marks a result that reports an automated task's run
	// (TaskRun), not a check's state: Check is the task's name, Key
	// TaskResultKey. The server stores it as a script run and, for a fix,
	// with the check's outage; it never opens an outage of its own.
	KindTaskRun = "task_run"

	EventsVersion  = 1
	LoginsVersion  = 1
	TaskRunVersion = 1

	// TaskResultKey is the key of a task run's result.
	TaskResultKey = "task"
	// MaxTaskOutput bounds each of a task run's stdout and stderr in its
	// result (the data's whole size is MaxDataBytes).
	MaxTaskOutput = 24 << 10

	// MaxDataBytes bounds one result's data; a larger one makes the
	// batch malformed.
	MaxDataBytes = 64 << 10
	// MaxItems is the most entries one payload lists.
	MaxItems = 50
	// MaxText is the most runes of an event's text, MaxName of a name
	// (source, log, account, address, event ID).
	MaxText = 500
	MaxName = 128
)

// Triggers of a task run.
const (
	TriggerSchedule = "schedule" // due by its schedule (also caught up at start)
	TriggerStart    = "start"    // the agent started
	TriggerFix      = "fix"      // the automatic fix of FixCheck, which failed
)

// TaskRun reports one run of an automated task. ExitCode is nil when the
// script did not run or did not exit by itself (ErrorCode says why:
// a protocol Code* such as CodeScriptSigner, CodeInterrupted, or
// "timeout"). Stdout and Stderr are cut to MaxTaskOutput bytes each
// (Truncated); secrets are masked in them. FixCheck and FixStatus are set
// for a fix: the check that failed and its status when the agent ran it
// again after the fix ("" if it could not).
type TaskRun struct {
	DataHead
	RunID         string      `json:"run_id"`
	ScriptID      int64       `json:"script_id"`
	ScriptVersion int         `json:"script_version"`
	Trigger       string      `json:"trigger"`
	Due           time.Time   `json:"due"`
	StartedAt     time.Time   `json:"started_at"`
	DurationMS    int64       `json:"duration_ms"`
	ExitCode      *int        `json:"exit_code"`
	Stdout        string      `json:"stdout"`
	Stderr        string      `json:"stderr"`
	Truncated     bool        `json:"truncated,omitempty"`
	TimedOut      bool        `json:"timed_out,omitempty"`
	ErrorCode     string      `json:"error_code,omitempty"`
	FixCheck      string      `json:"fix_check,omitempty"`
	FixStatus     core.Status `json:"fix_status,omitempty"`
}

// DataHead is the part every payload starts with.
type DataHead struct {
	Kind string `json:"kind"`
	V    int    `json:"v"`
}

// Events lists critical events, oldest first. Total is how many the check
// counted; Truncated says it is more than are listed.
type Events struct {
	DataHead
	Total     int     `json:"total"`
	Truncated bool    `json:"truncated,omitempty"`
	Events    []Event `json:"events"`
}

// Event is one log event. Time carries the agent's zone offset (RFC 3339).
type Event struct {
	Time   time.Time `json:"time"`
	Log    string    `json:"log,omitempty"` // Windows channel, "journal", a log file's path, "unified"
	Source string    `json:"source"`        // provider, unit or program
	ID     string    `json:"id,omitempty"`  // Windows event ID
	Level  string    `json:"level,omitempty"`
	Text   string    `json:"text"`
	// TextTruncated says Text was cut to MaxText runes (ending in "…").
	TextTruncated bool `json:"text_truncated,omitempty"`
}

// Event levels, the syslog severities' names (Windows critical and error
// and the macOS fault and error map onto them); "" when the log has none.
var levels = []string{"emergency", "alert", "critical", "error", "warning", "notice", "info", "debug"}

// Level names syslog priority p (0–7); "" for anything else.
func Level(p int) string {
	if p < 0 || p >= len(levels) {
		return ""
	}
	return levels[p]
}

// Logins lists failed log-ins per account and source address within the
// check's window (the same failures are listed again by the next result
// while they stay in the window), most failures first. Total is the
// failures counted (lock-outs not included).
type Logins struct {
	DataHead
	WindowSeconds int     `json:"window_seconds"`
	Total         int     `json:"total"`
	Truncated     bool    `json:"truncated,omitempty"`
	Logins        []Login `json:"logins"`
}

// Login is the failures of one account from one address; LockedOut marks
// the account's lock-outs instead (Windows event 4740, no address).
type Login struct {
	Account   string    `json:"account"`
	Address   string    `json:"address,omitempty"`
	Count     int       `json:"count"`
	First     time.Time `json:"first"`
	Last      time.Time `json:"last"`
	LockedOut bool      `json:"locked_out,omitempty"`
}

// EncodeEvents bounds d and encodes it as result data.
func EncodeEvents(d Events) (json.RawMessage, error) {
	d.bound()
	return encodeBounded(&d, &d.Events, &d.Truncated, false)
}

// EncodeLogins bounds d and encodes it as result data.
func EncodeLogins(d Logins) (json.RawMessage, error) {
	d.bound()
	return encodeBounded(&d, &d.Logins, &d.Truncated, true)
}

// ReadEvents returns the events in data; ok is false for no data, another
// kind or version, or malformed data. The result is bounded like
// EncodeEvents' input.
func ReadEvents(data json.RawMessage) (d Events, ok bool) {
	if !read(data, KindEvents, EventsVersion, &d) {
		return Events{}, false
	}
	d.bound()
	return d, true
}

// ReadLogins is ReadEvents for Logins.
func ReadLogins(data json.RawMessage) (d Logins, ok bool) {
	if !read(data, KindLogins, LoginsVersion, &d) {
		return Logins{}, false
	}
	d.bound()
	return d, true
}

// EncodeTaskRun bounds d's output and encodes it as result data.
func EncodeTaskRun(d TaskRun) (json.RawMessage, error) {
	d.Kind, d.V = KindTaskRun, TaskRunVersion
	limit := MaxTaskOutput
	for {
		d := d
		var cut1, cut2 bool
		d.Stdout, cut1 = clipBytes(d.Stdout, limit)
		d.Stderr, cut2 = clipBytes(d.Stderr, limit)
		d.Truncated = d.Truncated || cut1 || cut2
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encoding result data: %w", err)
		}
		// Escapes can make the JSON up to six times the text.
		if len(b) <= MaxDataBytes || limit == 0 {
			return b, nil
		}
		limit /= 2
	}
}

// ReadTaskRun returns the task run in data; ok is false for no data,
// another kind or version, or malformed data.
func ReadTaskRun(data json.RawMessage) (d TaskRun, ok bool) {
	if !read(data, KindTaskRun, TaskRunVersion, &d) {
		return TaskRun{}, false
	}
	return d, true
}

// clipBytes cuts s to at most n bytes of valid UTF-8; cut reports a cut.
func clipBytes(s string, n int) (string, bool) {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// ValidateData checks the head and size of a result's data; empty data is
// valid (an older agent, a check without structure).
func ValidateData(data json.RawMessage) error {
	if len(data) == 0 {
		return nil
	}
	if len(data) > MaxDataBytes {
		return fmt.Errorf("data of %d bytes (max %d)", len(data), MaxDataBytes)
	}
	var h DataHead
	if err := json.Unmarshal(data, &h); err != nil || h.Kind == "" || len(h.Kind) > 64 || h.V < 1 {
		return fmt.Errorf("data is not an object with kind and v")
	}
	return nil
}

// read decodes data into into (one pass: reports read thousands) and
// then checks that its head is kind and v.
func read(data json.RawMessage, kind string, v int, into interface{ head() DataHead }) bool {
	if len(data) == 0 || len(data) > MaxDataBytes || json.Unmarshal(data, into) != nil {
		return false
	}
	h := into.head()
	return h.Kind == kind && h.V == v
}

func (h DataHead) head() DataHead { return h }

func (d *Events) bound() {
	d.Kind, d.V = KindEvents, EventsVersion
	if len(d.Events) > MaxItems {
		d.Events = d.Events[len(d.Events)-MaxItems:] // the newest
	}
	for i := range d.Events {
		e := &d.Events[i]
		e.Log, e.Source, e.ID = clip(e.Log, MaxName), clip(e.Source, MaxName), clip(e.ID, MaxName)
		if !slices.Contains(levels, e.Level) {
			e.Level = ""
		}
		var cut bool
		if e.Text, cut = clipText(e.Text, MaxText); cut {
			e.TextTruncated = true
		}
	}
	d.Total = max(d.Total, len(d.Events))
	d.Truncated = d.Truncated || d.Total > len(d.Events)
}

func (d *Logins) bound() {
	d.Kind, d.V = KindLogins, LoginsVersion
	if len(d.Logins) > MaxItems {
		d.Logins = d.Logins[:MaxItems] // the most frequent
		d.Truncated = true
	}
	for i := range d.Logins {
		l := &d.Logins[i]
		l.Account, l.Address = clip(l.Account, MaxName), clip(l.Address, MaxName)
		l.Count = max(l.Count, 0)
	}
	d.Total, d.WindowSeconds = max(d.Total, 0), max(d.WindowSeconds, 0)
}

// encodeBounded marshals v and, while it exceeds MaxDataBytes, drops one
// entry of *items (the first, or with fromEnd the last) and sets
// *truncated.
func encodeBounded[T any](v any, items *[]T, truncated *bool, fromEnd bool) (json.RawMessage, error) {
	for {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding result data: %w", err)
		}
		if len(b) <= MaxDataBytes || len(*items) == 0 {
			return b, nil
		}
		if fromEnd {
			*items = (*items)[:len(*items)-1]
		} else {
			*items = (*items)[1:]
		}
		*truncated = true
	}
}

// clipText flattens control characters and runs of white space to single
// spaces and cuts s to n runes, ending in "…"; cut reports the cut.
func clipText(s string, n int) (string, bool) {
	s = strings.Join(strings.FieldsFunc(strings.ToValidUTF8(s, "\uFFFD"), func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == ' ' || r == '\u0085' || r == '\u2028' || r == '\u2029'
	}), " ")
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	r := []rune(s)
	return string(r[:n-1]) + "…", true
}

func clip(s string, n int) string {
	s, _ = clipText(s, n)
	return s
}
