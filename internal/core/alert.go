package core

import (
	"context"
	"time"
)

// Alert states of a check, as the alert engine sees it (see internal/alert).
const (
	AlertOK      = "ok"      // passing
	AlertWarning = "warning" // warning: shown, not notified
	AlertSoft    = "soft"    // failing, but fewer times in a row than alert_after
	AlertFailure = "failure" // failing alert_after times in a row: an outage
)

// Outage kinds.
const (
	OutageCheck   = "check"   // a check failed
	OutageOffline = "offline" // the device's agent was not heard from
)

// AlertState is the alert engine's memory of one check instance.
type AlertState struct {
	CheckID  int64  `json:"check_id"`
	DeviceID int64  `json:"device_id"`
	Name     string `json:"name"`
	Key      string `json:"key"`
	// Known is false for a check the engine has not evaluated yet.
	Known       bool   `json:"-"`
	State       string `json:"state"` // Alert*
	Consecutive int    `json:"consecutive"`
	OutageRef   string `json:"outage_ref,omitempty"`
	// ClearedUntil and ClearUntilPass suppress notifications, set by a
	// technician who cleared the check.
	ClearedUntil   *time.Time  `json:"cleared_until,omitempty"`
	ClearUntilPass bool        `json:"clear_until_pass,omitempty"`
	Changes        []time.Time `json:"-"` // recent state changes, oldest first
	Flapping       bool        `json:"flapping"`
	LastAt         time.Time   `json:"last_at"` // newest result evaluated
}

// Outage is a period in which a check failed or a device was away.
type Outage struct {
	ID        int64      `json:"id"`
	Ref       string     `json:"ref"`
	DeviceID  int64      `json:"device_id"`
	CheckID   int64      `json:"check_id,omitempty"` // 0 for offline outages
	Kind      string     `json:"kind"`               // Outage*
	CheckName string     `json:"check,omitempty"`
	CheckKey  string     `json:"key,omitempty"`
	Severity  string     `json:"severity"` // AlertFailure, or "offline"
	Value     *float64   `json:"value,omitempty"`
	Unit      string     `json:"unit,omitempty"`
	Message   Text       `json:"message"`
	OpenedAt  time.Time  `json:"opened_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	Notified  bool       `json:"notified"` // its opening message was queued for someone
	// NotNotified says why its opening message reached nobody (NotNotified*).
	NotNotified string     `json:"not_notified,omitempty"`
	Held        bool       `json:"held,omitempty"` // opening message held back by maintenance: sent at its end if still open
	AckedAt     *time.Time `json:"acked_at,omitempty"`
	AckedBy     string     `json:"acked_by,omitempty"`
	AckComment  string     `json:"ack_comment,omitempty"`
	// Filled by listings.
	Hostname string `json:"hostname,omitempty"`
	// Fix is the newest automatic fix of the check around the outage
	// (issue 16), filled by the service's listings.
	Fix        *Fix   `json:"fix,omitempty"`
	SiteName   string `json:"site_name,omitempty"`
	ClientID   int64  `json:"client_id,omitempty"`
	ClientName string `json:"client_name,omitempty"`
}

// Presence is what the offline sweeper needs of one active device.
type Presence struct {
	DeviceID      int64      `json:"device_id"`
	Role          string     `json:"role"`
	LastSeen      time.Time  `json:"last_seen"`
	GoodbyeReason string     `json:"goodbye_reason,omitempty"` // shutdown, reboot, service-stop
	GoodbyeAt     *time.Time `json:"goodbye_at,omitempty"`
	OutageRef     string     `json:"outage_ref,omitempty"` // open offline outage
}

// Recipient channels, hours and webhook formats.
const (
	ChannelEmail   = "email"
	ChannelWebhook = "webhook"

	HoursAlways = "always"
	HoursOffice = "office" // only inside office hours
	HoursAfter  = "after"  // only outside office hours

	WebhookJSON = "json" // Wacht's JSON, HMAC-signed
	WebhookChat = "chat" // {"text": …}: Slack, Teams and Mattermost incoming webhooks
)

// Recipient receives notifications for the devices of its level's target
// (Level* with TargetID; 0 for the default level).
type Recipient struct {
	ID        int64     `json:"id"`
	Level     string    `json:"level"`
	TargetID  int64     `json:"target_id"`
	Channel   string    `json:"channel"`
	Target    string    `json:"target"` // e-mail address or webhook URL
	Lang      string    `json:"lang"`   // de, en
	Hours     string    `json:"hours"`  // Hours*
	Format    string    `json:"format,omitempty"`
	Secret    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// OutboxItem is one message to one recipient waiting for delivery.
type OutboxItem struct {
	ID            int64      `json:"id"`
	DedupeKey     string     `json:"dedupe_key"`
	Channel       string     `json:"channel"`
	Target        string     `json:"target"`
	Payload       []byte     `json:"payload"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	// GivenUpAt is when the sender stopped retrying (nil: it still does).
	GivenUpAt *time.Time `json:"given_up_at,omitempty"`
	// RetriedAt is when an administrator last queued it again after it
	// was given up; the give-up limit counts from it.
	RetriedAt *time.Time `json:"retried_at,omitempty"`
}

// OutboxStart is when the give-up limit of m began: its creation or its
// last retry by an administrator.
func (m OutboxItem) OutboxStart() time.Time {
	if m.RetriedAt != nil {
		return *m.RetriedAt
	}
	return m.CreatedAt
}

// AlertChange is what one evaluation decided; the store applies it in one
// transaction, so an outage change and the messages reporting it are stored
// together or not at all.
type AlertChange struct {
	States   []AlertState // upserted by CheckID
	Open     []Outage     // inserted (Ref set by the engine)
	Close    []OutageClose
	Notified []string // refs of outages whose opening was notified
	// Unnotified: refs of outages whose opening message reached nobody, with
	// the reason (NotNotified*).
	Unnotified map[string]string
	Held       []string     // refs of open outages whose opening message a maintenance window held back
	Presence   *Presence    // upserted (goodbye and outage ref)
	Outbox     []OutboxItem // inserted; a DedupeKey already present is skipped
}

// Reasons an outage's opening message reached nobody (Outage.NotNotified).
const (
	NotNotifiedNoRecipient  = "no_recipient"   // nobody at the device's level
	NotNotifiedNoMailServer = "no_mail_server" // only e-mail recipients, no SMTP server configured
)

// OutageClose closes the open outage Ref at At.
type OutageClose struct {
	Ref string
	At  time.Time
}

// Outage listing states (OutageFilter.State).
const (
	OutagesOpen   = "open"   // not closed and not acknowledged
	OutagesAcked  = "acked"  // not closed, acknowledged
	OutagesClosed = "closed" // closed
)

// OutageFilter selects outages for ListOutages and CountOutages; zero
// fields select everything.
type OutageFilter struct {
	OpenOnly    bool
	DeviceID    int64
	State       string    // Outages*
	ClosedSince time.Time // closed at or after
	ClientID    int64
	Severity    string  // AlertFailure or OutageOffline
	Scope       Scope   // the clients the reader may see
	Limit       int     // ≤ 0: all
	After       PageKey // continue after this outage (opened at, ID)
}

// AlertStore keeps alert state, outages, presence, recipients and the
// outbox.
type AlertStore interface {
	// AlertStates returns every check of the device with its alert state
	// (Known false for checks not evaluated yet).
	AlertStates(ctx context.Context, deviceID int64) ([]AlertState, error)
	ApplyAlertChange(ctx context.Context, c AlertChange) error
	// PendingCheckStates returns current check states newer than the
	// newest result the engine evaluated for them: results stored but not
	// evaluated, e.g. because the server stopped in between.
	PendingCheckStates(ctx context.Context) ([]CheckState, error)

	ListOutages(ctx context.Context, f OutageFilter) ([]Outage, error)
	CountOutages(ctx context.Context, f OutageFilter) (int, error)
	GetOutage(ctx context.Context, id int64) (Outage, error)
	// AckOutage records an acknowledgement; ErrNotFound.
	AckOutage(ctx context.Context, id int64, by, comment string, at time.Time) error
	// ClearCheck suppresses a check's notifications until a time and/or
	// until it passes; ErrNotFound if the device has no such check.
	ClearCheck(ctx context.Context, deviceID, checkID int64, until *time.Time, untilPass bool) error

	// SetGoodbye records a device's announced shutdown or reboot.
	SetGoodbye(ctx context.Context, deviceID int64, reason string, at time.Time) error
	// ListPresence returns every active device with its presence.
	ListPresence(ctx context.Context) ([]Presence, error)
	// GetPresence returns one device's presence; ErrNotFound if it is
	// not active or was never heard from.
	GetPresence(ctx context.Context, deviceID int64) (Presence, error)

	ListRecipients(ctx context.Context) ([]Recipient, error)
	CreateRecipient(ctx context.Context, r *Recipient) error // sets ID, CreatedAt
	DeleteRecipient(ctx context.Context, id int64) error

	// ClaimOutbox returns up to limit undelivered items due at now and
	// moves their next attempt to now+lease, so that another worker (or
	// replica) does not take them meanwhile.
	ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]OutboxItem, error)
	MarkDelivered(ctx context.Context, id int64, at time.Time) error
	// MarkDeliveredAll records the delivery of several items at once.
	MarkDeliveredAll(ctx context.Context, ids []int64, at time.Time) error
	// MarkFailed counts an attempt and schedules the next one.
	MarkFailed(ctx context.Context, id int64, errText string, next time.Time) error
	// MarkGivenUp counts a last failed attempt and stops retrying the
	// item; ErrNotFound if it was delivered or given up meanwhile.
	MarkGivenUp(ctx context.Context, id int64, errText string, at time.Time) error
	// RetryOutbox makes a given-up item due at now again; ErrNotFound
	// if there is no such given-up item.
	RetryOutbox(ctx context.Context, id int64, now time.Time) error
	ListOutbox(ctx context.Context, limit int) ([]OutboxItem, error) // newest first
	// ListOutboxPage is ListOutbox after a key (an item's ID; the zero key:
	// from the newest).
	ListOutboxPage(ctx context.Context, after PageKey, limit int) ([]OutboxItem, error)
	// OutboxBacklog counts the items still to be delivered: neither
	// delivered nor given up.
	OutboxBacklog(ctx context.Context) (int, error)
}
