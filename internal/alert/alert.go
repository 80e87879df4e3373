// Package alert is the server's alerting core. It turns stored check results
// into per-check alert states (ok, warning, soft failure, failure) and
// outages, detects devices whose agent went quiet, decides who hears of it
// (recipients per level, office hours, language), renders the messages in
// English or German and delivers them through a persistent outbox with
// retries.
//
// Decisions:
//   - Failures notify; warnings and check errors are shown, not notified.
//   - A check alerts after alert_after consecutive failures (default 1);
//     fewer leave it in the soft state without an outage.
//   - Every change that opens or closes an outage is stored together with
//     its messages in one transaction (core.AlertChange). The outbox worker
//     marks a message delivered right after the SMTP server accepted it (or
//     the webhook answered 2xx). A crash in between resends it once; the
//     stable Message-ID / Idempotency-Key lets receivers drop that copy.
//   - Flapping: more than FlapChanges outage openings and closings within
//     FlapWindow send one "flapping" message; further changes are recorded
//     but not notified until no change happened for FlapWindow.
//   - An open outage may be re-notified every RemindAfter (off by default)
//     until acknowledged; an acknowledged outage gets no further messages
//     except its recovery; a cleared check gets none at all until the
//     clear ends.
//   - Maintenance windows hold every message back; an outage that opened
//     inside one and is still open when it ends is notified then, once.
package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// SettingKey is the settings-table key of the JSON-encoded Settings.
const SettingKey = "alert_settings"

// SettingServerURL is where links in messages point (set by the server).
const SettingServerURL = "server_url"

// Seconds is a duration in whole seconds in JSON.
type Seconds int

// D converts to time.Duration.
func (s Seconds) D() time.Duration { return time.Duration(s) * time.Second }

// OfficeHours are the local times inside which "office" recipients are
// notified (and outside which "after" recipients are).
type OfficeHours struct {
	Days     []int  `json:"days"`     // time.Weekday numbers, 0 = Sunday
	Start    string `json:"start"`    // "08:00"
	End      string `json:"end"`      // "17:00"
	TimeZone string `json:"timezone"` // IANA name, default Europe/Berlin
}

// Settings are the administrator's alerting settings.
type Settings struct {
	SMTP        smtp.Config `json:"smtp"`
	OfficeHours OfficeHours `json:"office_hours"`
	// OfflineAfterServer and OfflineAfterWorkstation: a device not heard
	// from for this long is offline (defaults 90 s and 10 min; notebooks
	// count as workstations).
	OfflineAfterServer      Seconds `json:"offline_after_server"`
	OfflineAfterWorkstation Seconds `json:"offline_after_workstation"`
	// OfflineAlertDelay is the further wait before an offline device
	// raises an alert (default 5 min).
	OfflineAlertDelay Seconds `json:"offline_alert_delay"`
	// GoodbyeGrace is how long a device that announced a shutdown or
	// reboot may stay away before it raises an alert (default 30 min).
	GoodbyeGrace Seconds `json:"goodbye_grace"`
	// FlapChanges and FlapWindow define flapping (defaults 4 and 30 min).
	FlapChanges int     `json:"flap_changes"`
	FlapWindow  Seconds `json:"flap_window"`
	// RemindAfter repeats the message of an open outage that nobody
	// acknowledged, every so often (0, the default: never).
	RemindAfter Seconds `json:"remind_after,omitempty"`
}

// Defaults.
const (
	DefaultOfflineAfterServer      = 90 * time.Second
	DefaultOfflineAfterWorkstation = 10 * time.Minute
	DefaultOfflineAlertDelay       = 5 * time.Minute
	DefaultGoodbyeGrace            = 30 * time.Minute
	DefaultFlapChanges             = 4
	DefaultFlapWindow              = 30 * time.Minute
)

// WithDefaults fills zero values.
func (s Settings) WithDefaults() Settings {
	def := func(v *Seconds, d time.Duration) {
		if *v <= 0 {
			*v = Seconds(d / time.Second)
		}
	}
	def(&s.OfflineAfterServer, DefaultOfflineAfterServer)
	def(&s.OfflineAfterWorkstation, DefaultOfflineAfterWorkstation)
	def(&s.OfflineAlertDelay, DefaultOfflineAlertDelay)
	def(&s.GoodbyeGrace, DefaultGoodbyeGrace)
	def(&s.FlapWindow, DefaultFlapWindow)
	if s.FlapChanges <= 0 {
		s.FlapChanges = DefaultFlapChanges
	}
	if len(s.OfficeHours.Days) == 0 {
		s.OfficeHours.Days = []int{1, 2, 3, 4, 5}
	}
	if s.OfficeHours.Start == "" {
		s.OfficeHours.Start = "08:00"
	}
	if s.OfficeHours.End == "" {
		s.OfficeHours.End = "17:00"
	}
	if s.OfficeHours.TimeZone == "" {
		s.OfficeHours.TimeZone = "Europe/Berlin"
	}
	return s
}

// MailReady reports whether a usable mail server is configured; without
// one no e-mail is queued (see Engine.messages and the report scheduler).
func (s Settings) MailReady() bool { return s.SMTP.Validate() == nil }

// Validate checks settings before they are saved. The error is a
// *policy.ValidationError naming each refused field (smtp.host, smtp.from,
// smtp.tls, smtp.port, office_hours.timezone, .start, .end, .days).
func (s Settings) Validate() error { return s.validate(false) }

// ValidateMail is Validate for sending mail now: the SMTP server and sender
// must be set.
func (s Settings) ValidateMail() error { return s.validate(true) }

func (s Settings) validate(mail bool) error {
	var ve policy.ValidationError
	bad := func(field string, err error, de string) {
		ve.Fields = append(ve.Fields, policy.FieldError{Field: field, Message: core.Text{EN: err.Error(), DE: de}})
	}
	if mail || s.SMTP.Host != "" || s.SMTP.From != "" {
		err := s.SMTP.Validate()
		switch {
		case err == nil:
		case errors.Is(err, smtp.ErrNotConfigured) && s.SMTP.Host == "":
			bad("smtp.host", err, "Kein SMTP-Server angegeben")
		case errors.Is(err, smtp.ErrNotConfigured):
			bad("smtp.from", err, "Keine Absenderadresse angegeben")
		case errors.Is(err, smtp.ErrTLSMode):
			bad("smtp.tls", err, "Ohne Verschlüsselung nur für einen Server auf dieser Maschine (loopback)")
		default:
			bad("smtp.port", err, "Port muss zwischen 0 und 65535 liegen")
		}
	}
	if _, err := time.LoadLocation(s.WithDefaults().OfficeHours.TimeZone); err != nil {
		bad("office_hours.timezone", fmt.Errorf("time zone: %v", err), "Unbekannte Zeitzone")
	}
	for field, hm := range map[string]string{"office_hours.start": s.OfficeHours.Start, "office_hours.end": s.OfficeHours.End} {
		if _, err := parseHM(hm); hm != "" && err != nil {
			bad(field, fmt.Errorf("office hours: %v", err), "Uhrzeit als HH:MM angeben")
		}
	}
	for _, d := range s.OfficeHours.Days {
		if d < 0 || d > 6 {
			bad("office_hours.days", fmt.Errorf("office day %d is not 0 (Sunday) … 6", d), "Wochentag muss 0 (Sonntag) … 6 sein")
			break
		}
	}
	if len(ve.Fields) > 0 {
		sort.Slice(ve.Fields, func(i, j int) bool { return ve.Fields[i].Field < ve.Fields[j].Field })
		return &ve
	}
	return nil
}

// LoadSettings reads the settings (defaults filled in).
func LoadSettings(ctx context.Context, st core.SettingStore) (Settings, error) {
	var s Settings
	raw, err := st.GetSetting(ctx, SettingKey)
	switch {
	case errors.Is(err, core.ErrNotFound):
	case err != nil:
		return s, fmt.Errorf("reading alert settings: %w", err)
	default:
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			return s, fmt.Errorf("decoding alert settings: %w", err)
		}
	}
	return s.WithDefaults(), nil
}

// SaveSettings validates and stores the settings.
func SaveSettings(ctx context.Context, st core.SettingStore, s Settings) error {
	if err := s.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encoding alert settings: %w", err)
	}
	return st.SetSetting(ctx, SettingKey, string(b))
}

// Store is what the alert engine needs from the database.
type Store interface {
	core.AlertStore
	core.SettingStore
	GetDevice(ctx context.Context, id int64) (core.Device, error)
	ListMaintenance(ctx context.Context, f core.MaintenanceFilter) ([]core.Maintenance, error)
}
