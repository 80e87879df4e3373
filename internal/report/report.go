// Package report builds the daily report of a customer's last 24 hours —
// critical events from the event-log checks, failed checks, outages opened
// and closed, devices offline — and the technicians' digest across their
// customers, renders both as HTML and plain text in German or English, and
// queues them at the configured hour through the alert outbox. Critical
// events are read from the results' structured data (protocol.Events),
// never from message text.
//
// Load reads a client's data from the store; Build turns it into a Report
// without touching the store (pure, so tests and the dashboard preview see
// exactly what is mailed); Render and RenderDigest write the mails; the
// Scheduler queues each day's reports exactly once (the report_runs row
// and the outbox row are written in one transaction, and the job runs
// under the cluster singleton).
package report

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// EventCheck is the check name whose results are read as critical events
// (the built-in templates' entry; a policy entry's name is its results'
// check name).
const EventCheck = "eventlog"

// MaxEventsPerDevice caps the events listed per device; the rest are
// counted ("and 12 more").
const MaxEventsPerDevice = 10

// Window is the length of a report's period.
const Window = 24 * time.Hour

// Data is what a report is built from: one client's devices and what
// happened to them in [Since, Until), as Load reads it.
type Data struct {
	Client   core.Client
	Devices  []core.Device               // not retired
	States   map[int64][]core.CheckState // current states of the devices with failures
	Failures []core.CheckFailures        // per check instance with failures in the window
	Events   []core.DeviceResult         // event-log results in the window, newest first
	Outages  []core.Outage               // open at some time in the window
	Since    time.Time
	Until    time.Time
	Location *time.Location // times are shown in this zone
	// OfflineServer and OfflineWorkstation: a device not heard from for
	// this long is offline (the alert settings').
	OfflineServer, OfflineWorkstation time.Duration
	ServerURL                         string
	// Patches are the devices' patch statuses (issue 19), of those that
	// have one.
	Patches []core.DevicePatchStatus
	// PatchApproved counts each device's approved missing updates.
	PatchApproved map[int64]int
}

// Report is one client's report in one language.
type Report struct {
	Lang     string    `json:"lang"`
	ClientID int64     `json:"client_id"`
	Client   string    `json:"client"`
	Since    time.Time `json:"since"`
	Until    time.Time `json:"until"`
	TimeZone string    `json:"time_zone"`
	Link     string    `json:"link,omitempty"` // the report in the dashboard
	Summary  Summary   `json:"summary"`
	// FailingNow are the host names of online devices with a failing
	// check now.
	FailingNow []string        `json:"failing_now"`
	Events     []DeviceEvents  `json:"events"`
	EventCount int             `json:"event_count"`
	Failed     []FailedCheck   `json:"failed_checks"`
	Outages    []OutageItem    `json:"outages"`
	Offline    []OfflineDevice `json:"offline"`
	// Patches is the patch compliance part, nil when no device of the
	// client has a patch status (patches.go).
	Patches *PatchCompliance `json:"patches,omitempty"`
	// Quiet: no events, failures, outages or offline devices.
	Quiet bool `json:"quiet"`

	loc *time.Location
}

// Summary counts the devices now: every device is offline, failing or OK.
type Summary struct {
	Devices int `json:"devices"`
	OK      int `json:"ok"`
	Failing int `json:"failing"`
	Offline int `json:"offline"`
}

// DeviceEvents are one device's critical events, newest first; identical
// events (source, ID, text) are one line with a count.
type DeviceEvents struct {
	DeviceID int64   `json:"device_id"`
	Hostname string  `json:"hostname"`
	Total    int     `json:"total"`
	Events   []Event `json:"events"`
	More     int     `json:"more"` // events not listed
}

// Event is one kind of event with its latest time and how often it came.
// An event-log result without structured events (from an agent older than
// protocol.Events) is one Event with FromMessage set: its message on one
// line, standing for all the events it counted.
type Event struct {
	At          time.Time `json:"at"`
	Log         string    `json:"log,omitempty"`
	Source      string    `json:"source"`
	ID          string    `json:"id,omitempty"`
	Level       string    `json:"level,omitempty"`
	Text        string    `json:"text"`
	Count       int       `json:"count"`
	FromMessage bool      `json:"from_message,omitempty"`

	covers int // events a FromMessage line stands for
}

// FailedCheck is a check that failed in the window.
type FailedCheck struct {
	DeviceID int64    `json:"device_id"`
	Hostname string   `json:"hostname"`
	Check    string   `json:"check"`
	Key      string   `json:"key,omitempty"`
	Message  string   `json:"message"`
	Value    *float64 `json:"value,omitempty"`
	Unit     string   `json:"unit,omitempty"`
	// Since is when it started failing (before the window if it already
	// failed then); StillFailing whether it fails now.
	Since        time.Time `json:"since"`
	LastAt       time.Time `json:"last_at"`
	Failures     int       `json:"failures"` // failing results in the window
	StillFailing bool      `json:"still_failing"`
}

// OutageItem is a check outage open at some time in the window.
type OutageItem struct {
	DeviceID int64         `json:"device_id"`
	Hostname string        `json:"hostname"`
	Check    string        `json:"check"`
	Key      string        `json:"key,omitempty"`
	Message  string        `json:"message"`
	Opened   time.Time     `json:"opened_at"`
	Closed   *time.Time    `json:"closed_at,omitempty"`
	Duration alert.Seconds `json:"duration_seconds"` // until closed, or until the report's end
}

// OfflineDevice is a device offline now or during the window.
type OfflineDevice struct {
	DeviceID int64     `json:"device_id"`
	Hostname string    `json:"hostname"`
	Site     string    `json:"site"`
	LastSeen time.Time `json:"last_seen"`
	Now      bool      `json:"now"`
	Periods  []Period  `json:"periods"` // offline outages in the window
}

// Period is one offline outage.
type Period struct {
	From     time.Time     `json:"from"`
	To       *time.Time    `json:"to,omitempty"`
	Duration alert.Seconds `json:"duration_seconds"`
}

// Location returns the zone the report's times are shown in.
func (r Report) Location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}

// Build turns d into the report in lang ("de" or "en"). It reads nothing
// but d.
func Build(d Data, lang string) Report {
	if lang != "de" {
		lang = "en"
	}
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	r := Report{Lang: lang, ClientID: d.Client.ID, Client: d.Client.Name, Since: d.Since, Until: d.Until,
		TimeZone: loc.String(), Link: link(d.ServerURL, "/clients/"+strconv.FormatInt(d.Client.ID, 10)+"/report"),
		FailingNow: []string{}, Events: []DeviceEvents{}, Failed: []FailedCheck{}, Outages: []OutageItem{},
		Offline: []OfflineDevice{}, loc: loc}
	host := map[int64]core.Device{}
	offline := map[int64]*OfflineDevice{}
	for _, dev := range d.Devices {
		host[dev.ID] = dev
		r.Summary.Devices++
		switch {
		case d.offlineNow(dev):
			r.Summary.Offline++
			offline[dev.ID] = &OfflineDevice{DeviceID: dev.ID, Hostname: dev.Hostname, Site: dev.SiteName, LastSeen: dev.LastSeen, Now: true}
		case dev.Worst == core.StatusFailure:
			r.Summary.Failing++
			r.FailingNow = append(r.FailingNow, dev.Hostname)
		default:
			r.Summary.OK++
		}
	}
	slices.Sort(r.FailingNow)
	r.Events, r.EventCount = buildEvents(d, host, lang)
	r.Failed = buildFailed(d, host, lang)
	for _, o := range d.Outages {
		dev, ok := host[o.DeviceID]
		if !ok {
			continue
		}
		end := d.Until
		if o.ClosedAt != nil && o.ClosedAt.Before(end) {
			end = *o.ClosedAt
		}
		var closed *time.Time
		if o.ClosedAt != nil && o.ClosedAt.Before(d.Until) {
			closed = o.ClosedAt
		}
		if o.Kind == core.OutageOffline {
			od := offline[o.DeviceID]
			if od == nil {
				od = &OfflineDevice{DeviceID: dev.ID, Hostname: dev.Hostname, Site: dev.SiteName, LastSeen: dev.LastSeen}
				offline[o.DeviceID] = od
			}
			od.Periods = append(od.Periods, Period{From: o.OpenedAt, To: closed, Duration: seconds(end.Sub(o.OpenedAt))})
			continue
		}
		r.Outages = append(r.Outages, OutageItem{DeviceID: dev.ID, Hostname: dev.Hostname, Check: o.CheckName, Key: o.CheckKey,
			Message: o.Message.In(lang), Opened: o.OpenedAt, Closed: closed, Duration: seconds(end.Sub(o.OpenedAt))})
	}
	for _, od := range offline {
		if od.Periods == nil {
			od.Periods = []Period{}
		}
		r.Offline = append(r.Offline, *od)
	}
	slices.SortFunc(r.Offline, func(a, b OfflineDevice) int { return strings.Compare(a.Hostname, b.Hostname) })
	r.Patches = BuildPatchCompliance(d.Patches, d.PatchApproved, host, lang)
	r.Quiet = r.EventCount == 0 && len(r.Failed) == 0 && len(r.Outages) == 0 && len(r.Offline) == 0
	return r
}

// offlineNow: not heard from for longer than the device's role allows.
// Network devices count by their probe's last contact; one that the
// server checks itself (no probe, never seen) is not offline.
func (d Data) offlineNow(dev core.Device) bool {
	if dev.LastSeen.IsZero() {
		return dev.Role != "network"
	}
	after := d.OfflineWorkstation
	if dev.Role == core.DeviceRoleServer || dev.Role == "network" {
		after = d.OfflineServer
	}
	return d.Until.Sub(dev.LastSeen) > after
}

type eventKey struct{ source, id, text string }

// buildEvents groups the listed events per device. A result that counted
// more events than it listed adds the difference to More. Events are read
// from the results' structured data only; a result without it (an older
// agent) is listed as its message on one line.
func buildEvents(d Data, host map[int64]core.Device, lang string) ([]DeviceEvents, int) {
	type acc struct {
		total  int
		events map[eventKey]*Event
		lines  []Event // results without structure
	}
	byDev := map[int64]*acc{}
	total := 0
	for _, res := range d.Events {
		if _, ok := host[res.DeviceID]; !ok {
			continue
		}
		data, structured := protocol.ReadEvents(res.Data)
		n := data.Total
		if res.Value != nil && int(*res.Value) > n {
			n = int(*res.Value)
		}
		if n == 0 {
			continue
		}
		a := byDev[res.DeviceID]
		if a == nil {
			a = &acc{events: map[eventKey]*Event{}}
			byDev[res.DeviceID] = a
		}
		a.total += n
		total += n
		if !structured {
			a.lines = append(a.lines, Event{At: res.At, Text: oneLine(res.Message.In(lang)), Count: 1, FromMessage: true, covers: n})
			continue
		}
		for _, e := range data.Events {
			k := eventKey{e.Source, e.ID, e.Text}
			if ev := a.events[k]; ev != nil {
				ev.Count++
				if e.Time.After(ev.At) {
					ev.At, ev.Log, ev.Level = e.Time, e.Log, e.Level
				}
			} else {
				a.events[k] = &Event{At: e.Time, Log: e.Log, Source: e.Source, ID: e.ID, Level: e.Level, Text: e.Text, Count: 1, covers: 1}
			}
		}
	}
	out := []DeviceEvents{}
	for id, a := range byDev {
		de := DeviceEvents{DeviceID: id, Hostname: host[id].Hostname, Total: a.total, Events: append([]Event{}, a.lines...)}
		for _, e := range a.events {
			e.covers = e.Count
			de.Events = append(de.Events, *e)
		}
		slices.SortFunc(de.Events, func(x, y Event) int {
			return cmp.Or(y.At.Compare(x.At), strings.Compare(x.Source, y.Source), strings.Compare(x.Text, y.Text))
		})
		if len(de.Events) > MaxEventsPerDevice {
			de.Events = de.Events[:MaxEventsPerDevice]
		}
		shown := 0
		for _, e := range de.Events {
			shown += e.covers
		}
		de.More = max(de.Total-shown, 0)
		out = append(out, de)
	}
	slices.SortFunc(out, func(a, b DeviceEvents) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out, total
}

// oneLine is a message's lines joined by spaces, cut to protocol.MaxText
// runes.
func oneLine(m string) string {
	m = strings.Join(strings.Fields(m), " ")
	if r := []rune(m); len(r) > protocol.MaxText {
		m = string(r[:protocol.MaxText-1]) + "…"
	}
	return m
}

// buildFailed lists each check instance with failures in the window, with
// the newest failure's message; the current state tells whether it still
// fails and since when. Event-log failures are listed as events instead.
func buildFailed(d Data, host map[int64]core.Device, lang string) []FailedCheck {
	out := []FailedCheck{}
	for _, cf := range d.Failures {
		dev, ok := host[cf.DeviceID]
		if !ok || cf.Check == EventCheck {
			continue
		}
		f := FailedCheck{DeviceID: dev.ID, Hostname: dev.Hostname, Check: cf.Check, Key: cf.Key,
			Message: cf.Last.Message.In(lang), Value: cf.Last.Value, Unit: cf.Last.Unit, Since: cf.First,
			LastAt: cf.Last.At, Failures: cf.Count}
		for _, st := range d.States[cf.DeviceID] {
			if st.Name == cf.Check && st.Key == cf.Key && st.Status == core.StatusFailure {
				f.StillFailing = true
				if st.ChangedAt.Before(f.Since) {
					f.Since = st.ChangedAt
				}
			}
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b FailedCheck) int {
		return cmp.Or(strings.Compare(a.Hostname, b.Hostname), strings.Compare(a.Check, b.Check), strings.Compare(a.Key, b.Key))
	})
	return out
}

func seconds(d time.Duration) alert.Seconds { return alert.Seconds(d / time.Second) }

func link(serverURL, path string) string {
	if serverURL == "" {
		return ""
	}
	return strings.TrimRight(serverURL, "/") + path
}
