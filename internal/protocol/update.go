package protocol

import (
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/release"
)

// Agent self-update (issue 21). The server sends ActionAgentUpdate through
// the signed action path; the agent verifies the build's release
// signature (release.Signed against the release keys it pinned), its
// version (no downgrade unless AllowDowngrade) and platform, downloads it
// from the blob route with Ticket, replaces itself keeping the previous
// binary, and restarts through its service manager. A watchdog run from the
// previous binary restores it if the new build has not connected within
// WatchdogSeconds. The outcome reaches the server in the next Auth
// (Auth.Update) of whichever build runs then.

// ActionAgentUpdate: AgentUpdateArgs → AgentUpdateResult.
const ActionAgentUpdate = "agent-update"

// LockSelfUpdate disables agent updates on a device (wacht-agent install
// --disable self-update): it is then updated by reinstalling only.
const LockSelfUpdate = "self-update"

// Reply codes of a refused update, besides CodeBadSignature (the release
// signature does not verify), CodeHashMismatch (the download does not match
// the signed manifest: tampered or truncated), CodeDiskFull (no room for the
// new binary beside the old one) and CodeBusy (an update is pending).
const (
	CodeDowngrade     = "downgrade"      // older than the running agent, and no AllowDowngrade
	CodeWrongPlatform = "wrong_platform" // manifest or executable for another OS or architecture
	CodeNoReleaseKey  = "no_release_key" // the agent trusts no release key
)

// Update watchdog bounds.
const (
	DefaultWatchdog = 5 * time.Minute
	MinWatchdog     = 15 * time.Second
	MaxWatchdog     = time.Hour
)

// AgentUpdateArgs asks the agent to update itself to Build (a signed
// release.KindBinary manifest), fetched from the blob route
// (/api/agent/blobs/<sha256>) with Ticket.
type AgentUpdateArgs struct {
	RolloutID       int64          `json:"rollout_id"`
	Build           release.Signed `json:"build"`
	Ticket          string         `json:"ticket"`
	AllowDowngrade  bool           `json:"allow_downgrade,omitempty"`
	WatchdogSeconds int            `json:"watchdog_seconds,omitempty"` // 0: DefaultWatchdog
}

// Update states of AgentUpdateResult.
const (
	UpdateRestarting = "restarting" // replaced; the agent restarts now
	UpdateCurrent    = "current"    // already runs that build: nothing to do
)

// AgentUpdateResult is the OK reply: the agent restarts into To right
// after it (State UpdateRestarting), or already runs it.
type AgentUpdateResult struct {
	State string `json:"state"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// UpdateReport is an update's outcome as the agent reports it at its next
// connection (Auth.Update) until welcomed: State is core.UpdateDone,
// core.UpdateRolledBack or core.UpdateFailed, with Code and Message why.
type UpdateReport struct {
	RolloutID int64     `json:"rollout_id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	State     string    `json:"state"`
	Code      string    `json:"code,omitempty"`
	Message   core.Text `json:"message,omitzero"`
	At        time.Time `json:"at"`
}
