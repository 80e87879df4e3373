// Package trayipc is the local protocol between the agent and the tray
// apps of the logged-on users (issue 20): a Unix socket on Linux and
// macOS, a named pipe on Windows, one JSON object per line each way.
//
// The agent listens; every tray connects as its user. The agent learns
// who is on the other end from the OS (the socket's peer credentials, the
// pipe client's token), never from the message, so one user cannot read or
// send in another's name. The tray can read status and send its user's
// requests; no operation makes the agent run a program.
package trayipc

import (
	"context"
	"encoding/json"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Version is the protocol version; OpStatus reports the agent's.
const Version = 1

// MaxLine bounds one request or response line (a support request with a
// screenshot is the largest).
const MaxLine = 4 << 20

// Request is one line from the tray. ID is the tray's, echoed in the
// Response.
type Request struct {
	ID   uint64          `json:"id"`
	Op   string          `json:"op"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Response answers one Request: Data on success, Error otherwise.
type Response struct {
	ID    uint64          `json:"id"`
	Data  json.RawMessage `json:"data,omitempty"`
	Error *Error          `json:"error,omitempty"`
}

// Error is a refusal or failure the tray shows its user as it is.
type Error struct {
	Code    string    `json:"code"` // Code*
	Message core.Text `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message.EN }

// Error codes.
const (
	CodeRefused     = "refused"     // the peer may not use the agent (a system account)
	CodeBadRequest  = "bad_request" // malformed or out of bounds
	CodeUnknownOp   = "unknown_op"
	CodeNotFound    = "not_found"
	CodeUnsupported = "unsupported" // not on this OS or not in this policy
	CodeBusy        = "busy"        // too many pending requests of this user
	CodeInternal    = "internal"
)

// Operations.
const (
	OpStatus   = "status"   // no data → Status
	OpIcon     = "icon"     // no data → Icon (the branding icon; NotFound without one)
	OpSupport  = "support"  // SupportArgs → SupportReply
	OpRequests = "requests" // no data → Requests (the peer's own)
	OpReboot   = "reboot"   // RebootArgs → RebootReply
)

// Peer is the other end of a connection as the OS reports it.
type Peer struct {
	// UID is the numeric user ID on Unix ("1000") and the user's SID on
	// Windows ("S-1-5-21-…-1001"): the key of the user's requests.
	UID string `json:"uid"`
	// User is the account name: "anna" on Unix, "MUELLER\anna" on
	// Windows; "uid 1001" when the OS knows no name.
	User string `json:"user"`
	PID  int    `json:"pid,omitempty"` // 0 where the OS does not say
}

// Overall states of Status.
const (
	OverallOK       = "ok"       // every check passed
	OverallProblems = "problems" // Problems checks fail; IT knows (the results were sent)
	OverallUnknown  = "unknown"  // nothing checked yet, or the results could not be sent
)

// Status is what the tray shows: the overall state in words, protection,
// branding and a pending restart.
type Status struct {
	Version      int    `json:"version"`
	AgentVersion string `json:"agent_version"`
	Hostname     string `json:"hostname"`
	// Connected: the agent has a session with the server right now.
	Connected   bool      `json:"connected"`
	LastContact time.Time `json:"last_contact,omitzero"`
	Overall     string    `json:"overall"` // Overall*
	// Problems is the number of failing checks, Warnings of checks in
	// warning; ProblemNames their display names (at most 10).
	Problems     int        `json:"problems"`
	Warnings     int        `json:"warnings"`
	ProblemNames []string   `json:"problem_names,omitempty"`
	Antivirus    *Component `json:"antivirus,omitempty"` // nil: not monitored
	Backup       *Component `json:"backup,omitempty"`    // nil: not monitored
	Branding     Branding   `json:"branding"`
	Reboot       *Reboot    `json:"reboot,omitempty"` // nil: no restart to ask about
}

// Component is one monitored protection: its check's last state
// (core.Status*: ok, warning, failure, error), message and time (for a
// backup, its last success where the check knows it).
type Component struct {
	State   string    `json:"state"`
	Message string    `json:"message,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// Branding is the client's branding without the icon's bytes (OpIcon).
// With no branding set, Show is true and ProductName core.DefaultProductName.
type Branding struct {
	Show          bool      `json:"show"`
	ProductName   string    `json:"product_name"`
	Phone         string    `json:"phone,omitempty"`
	Email         string    `json:"email,omitempty"`
	URL           string    `json:"url,omitempty"`
	Hours         core.Text `json:"hours,omitzero"`
	RemoteSupport string    `json:"remote_support,omitempty"`
	IconSHA256    string    `json:"icon_sha256,omitempty"`
}

// Reboot is a restart the patch policy asks the users about ("ask" mode):
// it happens at Deadline at the latest; the user may postpone it
// DeferralsLeft more times.
type Reboot struct {
	Deadline      time.Time `json:"deadline"`
	DeferralsLeft int       `json:"deferrals_left"`
}

// Icon is the branding icon (PNG).
type Icon struct {
	PNG    []byte `json:"png"`
	SHA256 string `json:"sha256"`
}

// SupportArgs is a request for help as the user wrote it. The agent adds
// the user from the peer check. Screenshot only with the user's consent.
type SupportArgs struct {
	Message    string              `json:"message"`
	Contact    core.SupportContact `json:"contact"`
	Lang       string              `json:"lang"` // "de" or "en"
	Screenshot []byte              `json:"screenshot,omitempty"`
}

// SupportReply names the stored request; it reaches IT as soon as the
// agent is connected.
type SupportReply struct {
	Ref string `json:"ref"`
}

// Requests are the peer's own support requests, newest first.
type Requests struct {
	Requests []UserRequest `json:"requests"`
}

// UserRequest is one request as its user sees it: Sent once the server
// has it, then its state and the technicians' replies.
type UserRequest struct {
	Ref       string              `json:"ref"`
	Message   string              `json:"message"`
	CreatedAt time.Time           `json:"created_at"`
	Sent      bool                `json:"sent"`
	State     string              `json:"state"` // core.Support*; "" until sent
	UpdatedAt time.Time           `json:"updated_at,omitzero"`
	Replies   []core.SupportReply `json:"replies,omitempty"`
}

// Reboot choices.
const (
	RebootNow   = "now"
	RebootLater = "later"
)

// RebootArgs is the user's answer to a Reboot prompt.
type RebootArgs struct {
	Choice string `json:"choice"`
}

// RebootReply: when the restart happens now (within a minute for "now"),
// and how many deferrals are left. "later" without deferrals left is
// refused (CodeRefused) with the deadline in the message.
type RebootReply struct {
	At            time.Time `json:"at"`
	DeferralsLeft int       `json:"deferrals_left"`
}

// Handler answers one request of peer p (already allowed by the peer
// check). An *Error it returns reaches the tray as it is; any other error
// becomes CodeInternal with a generic message (and is logged). It is
// called concurrently for different connections.
type Handler func(ctx context.Context, p Peer, op string, data json.RawMessage) (any, error)
