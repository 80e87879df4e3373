package core

import (
	"context"
	"time"
)

// DefaultReportHour is when daily reports and technicians' digests go out,
// in the office hours' time zone, unless a client's settings say otherwise.
const DefaultReportHour = "07:00"

// ReportSettings are a client's daily report settings. A client without
// stored settings gets Enabled, no Recipients (its contact e-mail) and
// DefaultReportHour.
type ReportSettings struct {
	ClientID   int64    `json:"client_id"`
	Enabled    bool     `json:"enabled"`
	Recipients []string `json:"recipients"` // empty: the client's contact e-mail
	Hour       string   `json:"hour"`       // "HH:MM"
	// Since is when the schedule last began: switching the report on or
	// moving its hour sets it to the time of that change (given to
	// SetReportSettings here); otherwise the store keeps it. Zero: with
	// the client. A slot before it is never caught up.
	Since time.Time `json:"-"`
}

// Report run kinds.
const (
	ReportClient = "client" // a client's daily report; target: the client
	ReportDigest = "digest" // a technician's digest; target: the user
)

// ReportRun records that a day's report was queued.
type ReportRun struct {
	Kind     string    `json:"kind"`
	TargetID int64     `json:"target_id"`
	Day      string    `json:"day"` // YYYY-MM-DD in the report's time zone
	QueuedAt time.Time `json:"queued_at"`
}

// DeviceResult is a stored result with its device.
type DeviceResult struct {
	DeviceID int64 `json:"device_id"`
	Result
}

// CheckFailures sums up one check instance's failures in a window: how
// many, the first and the last, and the last one's value and message.
type CheckFailures struct {
	DeviceID int64     `json:"device_id"`
	Check    string    `json:"check"`
	Key      string    `json:"key"`
	Count    int       `json:"count"`
	First    time.Time `json:"first"`
	Last     Result    `json:"last"`
}

// ResultQuery selects a client's results in [Since, Until) of the checks
// named Names.
type ResultQuery struct {
	ClientID     int64
	Since, Until time.Time
	Names        []string
	Limit        int // ≤ 0: all
}

// ReportStore keeps report settings, digest choices and report runs, and
// reads what a report is made of.
type ReportStore interface {
	// ListReportSettings returns the settings of every client that is not
	// deleted (defaults for those without stored ones), by client ID.
	ListReportSettings(ctx context.Context) (map[int64]ReportSettings, error)
	// GetReportSettings returns one client's settings; ErrNotFound for an
	// unknown or deleted client.
	GetReportSettings(ctx context.Context, clientID int64) (ReportSettings, error)
	SetReportSettings(ctx context.Context, s ReportSettings) error
	// DigestOff returns the users who turned their digest off.
	DigestOff(ctx context.Context) (map[int64]bool, error)
	SetDigest(ctx context.Context, userID int64, on bool) error
	// ListReportRuns returns the runs recorded for day.
	ListReportRuns(ctx context.Context, day string) ([]ReportRun, error)
	// QueueReport records run and inserts its messages into the outbox in
	// one transaction. If run was recorded before it queues nothing and
	// returns false. A nil run (a report sent by hand) only queues.
	QueueReport(ctx context.Context, run *ReportRun, msgs []OutboxItem) (bool, error)
	// ListClientResults returns the results q selects, newest first.
	ListClientResults(ctx context.Context, q ResultQuery) ([]DeviceResult, error)
	// ListClientFailures sums up the failures of each of the client's
	// check instances in [since, until), by device, check and key.
	ListClientFailures(ctx context.Context, clientID int64, since, until time.Time) ([]CheckFailures, error)
	// ListClientOutages returns the client's outages that were open at any
	// time in [since, until), oldest first.
	ListClientOutages(ctx context.Context, clientID int64, since, until time.Time) ([]Outage, error)
}
