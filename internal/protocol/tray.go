package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Tray is the client's branding as its agents receive it in the signed
// policy (Policy.Tray, issue 20); the agent hands it to the tray apps of
// the logged-on users. Nil: the client never set a branding (the tray
// shows with Wacht's defaults).
type Tray struct {
	Show          bool      `json:"show"`
	ProductName   string    `json:"product_name"`
	Phone         string    `json:"phone,omitempty"`
	Email         string    `json:"email,omitempty"`
	URL           string    `json:"url,omitempty"`
	Hours         core.Text `json:"hours,omitzero"`
	RemoteSupport string    `json:"remote_support,omitempty"`
	Icon          []byte    `json:"icon,omitempty"` // PNG, ≤ core.MaxIconBytes
	IconSHA256    string    `json:"icon_sha256,omitempty"`
}

// TrayFromBranding is the part of b the agents receive.
func TrayFromBranding(b core.Branding) *Tray {
	return &Tray{Show: b.Show, ProductName: b.ProductName, Phone: b.Phone, Email: b.Email, URL: b.URL,
		Hours: b.Hours, RemoteSupport: b.RemoteSupport, Icon: b.Icon, IconSHA256: b.IconSHA256}
}

// Validate checks the bounds the agent relies on; the icon's hash must
// match its bytes (the picture itself is checked where it is decoded).
func (t *Tray) Validate() error {
	if t == nil {
		return nil
	}
	for _, s := range []string{t.ProductName, t.Phone, t.Email, t.URL, t.RemoteSupport} {
		if len(s) > core.MaxBrandingText || !utf8.ValidString(s) {
			return fmt.Errorf("%w: tray text longer than %d bytes or not UTF-8", ErrMalformed, core.MaxBrandingText)
		}
	}
	if len(t.Hours.EN) > core.MaxBrandingHours || len(t.Hours.DE) > core.MaxBrandingHours {
		return fmt.Errorf("%w: opening hours longer than %d bytes", ErrMalformed, core.MaxBrandingHours)
	}
	if len(t.Icon) > core.MaxIconBytes {
		return fmt.Errorf("%w: tray icon of %d bytes (max %d)", ErrMalformed, len(t.Icon), core.MaxIconBytes)
	}
	if len(t.Icon) > 0 {
		sum := sha256.Sum256(t.Icon)
		if hex.EncodeToString(sum[:]) != t.IconSHA256 {
			return fmt.Errorf("%w: tray icon does not match its hash", ErrMalformed)
		}
	}
	return nil
}

// Support requests (issue 20) on the agent's websocket. The agent sends
// each request a user made in the tray as a TypeSupportRequest (a
// SupportRequest, id = its Ref) and keeps it on disk until the server
// answers with a TypeSupportAck of the same id (SupportAck), exactly like
// a patch report. The server sends TypeSupportState (a SupportState: the
// device's requests of the last SupportStateDays, with state and
// replies) right after welcome and again after every change to one of
// them, so a tray shows a technician's reply within seconds when the
// device is online, and after its next connect when it was not.
const (
	TypeSupportRequest = "support_request" // agent → server, id = Ref
	TypeSupportAck     = "support_ack"     // server → agent, id = the request's Ref
	TypeSupportState   = "support_state"   // server → agent
)

// SupportStateDays is how far back TypeSupportState reaches; at most
// MaxSupportState requests, newest first.
const (
	SupportStateDays = 30
	MaxSupportState  = 50
)

// SupportRequest is one request as the agent sends it. OSUser is the
// account of the tray that sent it, as the agent's IPC peer check
// established it (never what the tray claimed).
type SupportRequest struct {
	Ref        string              `json:"ref"`
	OSUser     string              `json:"os_user"`
	Contact    core.SupportContact `json:"contact"`
	Message    string              `json:"message"`
	Lang       string              `json:"lang"`
	Screenshot []byte              `json:"screenshot,omitempty"` // PNG, only with the user's consent
	CreatedAt  time.Time           `json:"created_at"`
}

var supportRef = regexp.MustCompile(`^[A-Za-z0-9-]{8,64}$`)

// Validate checks the bounds; the screenshot must be a PNG.
func (r SupportRequest) Validate() error {
	switch {
	case !supportRef.MatchString(r.Ref):
		return fmt.Errorf("%w: support request ref %q", ErrMalformed, r.Ref)
	case r.OSUser == "" || len(r.OSUser) > core.MaxSupportContact:
		return fmt.Errorf("%w: support request without its user", ErrMalformed)
	case len(r.Message) > core.MaxSupportMessage || !utf8.ValidString(r.Message):
		return fmt.Errorf("%w: support message longer than %d bytes or not UTF-8", ErrMalformed, core.MaxSupportMessage)
	case len(r.Contact.Name) > core.MaxSupportContact || len(r.Contact.Email) > core.MaxSupportContact || len(r.Contact.Phone) > core.MaxSupportContact:
		return fmt.Errorf("%w: support contact longer than %d bytes", ErrMalformed, core.MaxSupportContact)
	case r.Lang != "de" && r.Lang != "en":
		return fmt.Errorf("%w: support request language %q", ErrMalformed, r.Lang)
	case len(r.Screenshot) > core.MaxSupportScreenshot:
		return fmt.Errorf("%w: screenshot of %d bytes (max %d)", ErrMalformed, len(r.Screenshot), core.MaxSupportScreenshot)
	case len(r.Screenshot) > 0 && !IsPNG(r.Screenshot):
		return fmt.Errorf("%w: screenshot is not a PNG", ErrMalformed)
	case r.CreatedAt.IsZero():
		return fmt.Errorf("%w: support request without time", ErrMalformed)
	}
	if strings.TrimSpace(r.Message) == "" {
		return fmt.Errorf("%w: empty support message", ErrMalformed)
	}
	return nil
}

// IsPNG reports whether b starts with the PNG signature.
func IsPNG(b []byte) bool {
	return len(b) >= 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n"
}

// SupportAck answers a SupportRequest, like PatchAck: SupportStored once
// it is committed, SupportRejected (with Reason) for a malformed one,
// which the agent drops.
type SupportAck struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

const (
	SupportStored   = "stored"
	SupportRejected = "rejected"
)

// SupportState is the device's recent requests as the tray shows them.
type SupportState struct {
	Requests []SupportStatus `json:"requests"`
}

// SupportStatus is one request's state and replies.
type SupportStatus struct {
	Ref       string              `json:"ref"`
	OSUser    string              `json:"os_user"`
	State     string              `json:"state"`
	UpdatedAt time.Time           `json:"updated_at"`
	Replies   []core.SupportReply `json:"replies,omitempty"`
}
