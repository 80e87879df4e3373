package core

import (
	"context"
	"time"
)

// The customer-facing side of Wacht (issue 20): each client's branding of
// the tray app, and the support requests its users send from the tray.

// Branding is how the tray app presents the MSP to one client's users. The
// zero Branding (no row) shows the tray with Wacht's own name and icon.
type Branding struct {
	ClientID int64 `json:"client_id"`
	// Show is whether the tray app shows at all on the client's devices.
	Show        bool   `json:"show"`
	ProductName string `json:"product_name"` // e.g. "Müller IT Rundum-Sorglos"; "" → "Wacht"
	Phone       string `json:"phone"`
	Email       string `json:"email"`
	URL         string `json:"url"` // https:// or http:// only
	// Hours is the opening-hours text in both languages (free text).
	Hours Text `json:"hours"`
	// RemoteSupport names the remote-maintenance tool the tray's "Start
	// remote support" launches when it is installed (RemoteSupport*; ""
	// hides the item). A fixed list: the tray looks the program up in the
	// tool's known install locations, so no setting names a program.
	RemoteSupport string `json:"remote_support"`
	// The icon: PNG bytes (an uploaded ICO is converted to PNG), its
	// SHA-256 in hex; empty without an icon. Lists leave Icon nil.
	Icon       []byte    `json:"-"`
	IconSHA256 string    `json:"icon_sha256,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
	UpdatedBy  string    `json:"updated_by,omitempty"`
}

// Remote-maintenance tools the tray can start.
const (
	RemoteSupportTeamViewer = "teamviewer"
	RemoteSupportAnyDesk    = "anydesk"
	RemoteSupportRustDesk   = "rustdesk"
)

// Branding bounds (checked by the service and again by protocol.Tray).
const (
	MaxBrandingText  = 200       // product name, phone, e-mail, URL
	MaxBrandingHours = 500       // each language
	MaxIconBytes     = 256 << 10 // the stored PNG and an upload
	MinIconSide      = 16
	MaxIconSide      = 256 // pixels; the icon is square
)

// DefaultProductName is the tray's name when the client set none.
const DefaultProductName = "Wacht"

// Support request states.
const (
	SupportNew        = "new"
	SupportInProgress = "in_progress"
	SupportDone       = "done"
)

// ValidSupportState reports whether s is a support request state.
func ValidSupportState(s string) bool {
	return s == SupportNew || s == SupportInProgress || s == SupportDone
}

// Support request bounds.
const (
	MaxSupportMessage    = 8 << 10 // bytes of the user's message
	MaxSupportReply      = 8 << 10
	MaxSupportScreenshot = 2 << 20 // PNG bytes
	MaxSupportContact    = 200     // each contact field
)

// SupportContact is who asks: prefilled by the tray from the OS account,
// editable by the user.
type SupportContact struct {
	Name  string `json:"name"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// SupportRequest is one user's request for help, with the device it came
// from. Ref is the agent's ID for it (unique per device: the agent resends
// until acknowledged, the store keeps it once).
type SupportRequest struct {
	ID         int64          `json:"id"`
	DeviceID   int64          `json:"device_id"`
	Hostname   string         `json:"hostname,omitempty"`
	ClientID   int64          `json:"client_id"`
	ClientName string         `json:"client_name,omitempty"`
	SiteName   string         `json:"site_name,omitempty"`
	Ref        string         `json:"ref"`
	OSUser     string         `json:"os_user"` // the account the tray runs as, e.g. "MUELLER\\anna"
	Contact    SupportContact `json:"contact"`
	Message    string         `json:"message"`
	Lang       string         `json:"lang"` // the user's language: "de" or "en"
	// HasScreenshot: a screenshot the user agreed to send is stored (read
	// it with SupportScreenshot; lists never carry the bytes).
	HasScreenshot bool           `json:"has_screenshot"`
	State         string         `json:"state"`
	CreatedAt     time.Time      `json:"created_at"` // when the user sent it (agent's clock)
	ReceivedAt    time.Time      `json:"received_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
	Replies       []SupportReply `json:"replies,omitempty"` // oldest first; GetSupportRequest fills them
}

// SupportReply is a technician's answer, shown to the user in the tray.
type SupportReply struct {
	ID        int64     `json:"id"`
	Author    string    `json:"author"` // the technician's name as the user sees it
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// SupportFilter selects support requests; zero fields select everything.
type SupportFilter struct {
	ClientID int64
	DeviceID int64
	State    string
	Since    time.Time // received at or after
	Scope    Scope
	Limit    int     // ≤ 0: all
	After    PageKey // continue after this request (received at, ID); the total ignores it
}

// SupportUpdate changes a request: State (if not "") and a reply (if
// Reply.Body is not ""; the store sets its ID and CreatedAt = At).
type SupportUpdate struct {
	State string
	Reply SupportReply
	At    time.Time
}

// SupportStore keeps the branding and the support requests.
type SupportStore interface {
	// GetBranding returns the client's branding with its icon;
	// ErrNotFound if it was never set.
	GetBranding(ctx context.Context, clientID int64) (Branding, error)
	// SetBranding stores b, icon included (an empty Icon removes it).
	SetBranding(ctx context.Context, b Branding) error
	// SaveSupportRequest stores r (State SupportNew) once per (DeviceID,
	// Ref) and sets ID, ReceivedAt and UpdatedAt; for a Ref already stored it
	// changes nothing, fills r from the stored row and returns false.
	// screenshot may be nil.
	SaveSupportRequest(ctx context.Context, r *SupportRequest, screenshot []byte, outbox []OutboxItem) (bool, error)
	// GetSupportRequest returns one request with its replies; ErrNotFound.
	GetSupportRequest(ctx context.Context, id int64) (SupportRequest, error)
	SupportScreenshot(ctx context.Context, id int64) ([]byte, error) // ErrNotFound without one
	// ListSupportRequests lists newest first, without replies, with the
	// total count before Limit.
	ListSupportRequests(ctx context.Context, f SupportFilter) ([]SupportRequest, int, error)
	// UpdateSupportRequest applies u and returns the request as it is now,
	// with its replies; ErrNotFound.
	UpdateSupportRequest(ctx context.Context, id int64, u SupportUpdate) (SupportRequest, error)
	// DeviceSupportRequests lists a device's requests received at or after
	// since, with replies, newest first, at most limit: what its agent shows.
	DeviceSupportRequests(ctx context.Context, deviceID int64, since time.Time, limit int) ([]SupportRequest, error)
}
