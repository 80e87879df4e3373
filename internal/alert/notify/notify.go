// Package notify defines the rendered notification that travels through
// the outbox to a channel (notify/smtp, notify/webhook), so that the
// channels do not depend on the alert engine.
package notify

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kinds of notification.
const (
	KindOutage   = "outage"   // a check started failing
	KindRecovery = "recovery" // a failing check passes again
	KindOffline  = "offline"  // a device was not heard from
	KindOnline   = "online"   // an offline device is back
	KindFlapping = "flapping" // a check changes state too often; quiet until stable
	KindStable   = "stable"   // a flapping check is stable again
	KindReminder = "reminder" // an outage nobody acknowledged is still open
	KindTest     = "test"     // a test message from the settings page
	KindReport   = "report"   // a customer's daily report (internal/report)
	KindDigest   = "digest"   // a technician's daily digest (internal/report)
	KindSupport  = "support"  // a user's request for help from the tray app (issue 20)
)

// Event is the structured content of a notification, for webhooks.
type Event struct {
	Kind     string    `json:"kind"`
	Client   string    `json:"client"`
	Site     string    `json:"site"`
	Device   string    `json:"device"`
	DeviceID int64     `json:"device_id"`
	Check    string    `json:"check,omitempty"`
	Key      string    `json:"key,omitempty"`
	Status   string    `json:"status,omitempty"`
	Value    *float64  `json:"value,omitempty"`
	Unit     string    `json:"unit,omitempty"`
	Message  string    `json:"message,omitempty"`
	OutageID string    `json:"outage,omitempty"` // the outage's ref
	At       time.Time `json:"at"`
	Link     string    `json:"link,omitempty"`
	// Fix is the outcome of the check's automatic fix, in the message's
	// language ("Fixed automatically at 03:12 (Restart spooler)").
	Fix string `json:"fix,omitempty"`
}

// Message is one rendered notification for one recipient, as stored in
// the outbox payload.
type Message struct {
	// ID is stable across retries (derived from the outbox dedupe key): the
	// e-mail Message-ID and the webhook idempotency key, so receivers can
	// drop the rare duplicate (see internal/alert).
	ID      string `json:"id"`
	Lang    string `json:"lang"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	// HTML, if set, is sent as the alternative to Text (e-mail only).
	HTML  string `json:"html,omitempty"`
	Event Event  `json:"event"`
	// Attachments go with an e-mail (webhooks leave them out), e.g. the
	// monthly report's PDF.
	Attachments []Attachment `json:"attachments,omitempty"`
	// Webhook only: WebhookJSON or WebhookChat, and the HMAC key.
	Format string `json:"format,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// Attachment is a file attached to an e-mail.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// StableID derives a message ID from a dedupe key.
func StableID(dedupeKey string) string {
	sum := sha256.Sum256([]byte(dedupeKey))
	return hex.EncodeToString(sum[:16])
}
