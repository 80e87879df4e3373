package protocol

import (
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Patch management (issue 19) on the agent's websocket. After every scan
// and every install the agent sends its whole patch state as a
// TypePatchReport (a PatchReport; a few dozen updates, no diff needed);
// the server answers with a TypePatchAck of the same ID once it is
// committed. The agent keeps the last report on disk and resends it after
// a reconnect until it is acknowledged.
const (
	TypePatchReport = "patch_report" // agent → server, id = report id
	TypePatchAck    = "patch_ack"    // server → agent, id = the report's id
)

// Patch actions, signed like every action. ActionUpdatesScan scans now
// (no args; the report follows as a TypePatchReport). ActionUpdatesInstall
// installs now, outside the schedule (UpdatesInstallArgs → UpdatesInstallReply
// at once; the attempts follow in reports). Both are refused with
// CodeDisabledLocally under LockPatches, and install with CodeBusy while
// another install runs.
const (
	ActionUpdatesScan    = "updates-scan"
	ActionUpdatesInstall = "updates-install"
)

// LockPatches is the local lock that stops the agent installing updates
// (scans still run: they change nothing).
const LockPatches = "patches"

// UpdatesInstallArgs: Keys are the updates to install (core.Update.Key; the
// agent installs only keys its own last scan found missing and that its
// policy does not exclude); with Approved and no Keys, every approved one.
// Reboot overrides the policy's reboot mode for this run ("" keeps it).
type UpdatesInstallArgs struct {
	Keys     []string `json:"keys,omitempty"`
	Approved bool     `json:"approved,omitempty"`
	Reboot   string   `json:"reboot,omitempty"`
}

// UpdatesInstallReply says what the agent started: the keys it will
// install, and the keys it refused with the reason (unknown, excluded).
type UpdatesInstallReply struct {
	Started []string             `json:"started"`
	Refused map[string]core.Text `json:"refused,omitempty"`
}

// Bounds of one patch report.
const (
	MaxPatchUpdates  = 2000
	MaxPatchAttempts = 500
	MaxPatchCVEs     = 200 // per update
	MaxPatchText     = 1024
)

// PatchReport is the device's whole patch state: every source's scan, the
// missing updates, the recent install attempts (the agent keeps 90 days,
// at most MaxPatchAttempts; the server stores each attempt once) and the
// restart the OS waits for.
type PatchReport struct {
	ScannedAt time.Time                `json:"scanned_at,omitzero"`
	Sources   []core.PatchSourceStatus `json:"sources"`
	Missing   []core.MissingUpdate     `json:"missing"`
	Attempts  []core.PatchAttempt      `json:"attempts,omitempty"`
	Reboot    core.RebootState         `json:"reboot"`
}

// PatchAck answers a PatchReport: PatchStored once it is committed, or
// PatchRejected for a report that is malformed (Reason says why): the
// agent drops a rejected report, since sending it again cannot help, and
// logs the reason. A report the server could not store is not answered;
// the server closes the session and the agent resends after reconnecting.
type PatchAck struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// PatchAck statuses.
const (
	PatchStored   = "stored"
	PatchRejected = "rejected"
)

// Validate checks what the server relies on before storing a report:
// bounds, a key and source per update and attempt, known results.
func (r PatchReport) Validate() error {
	switch {
	case len(r.Missing) > MaxPatchUpdates:
		return fmt.Errorf("%w: %d missing updates (max %d)", ErrMalformed, len(r.Missing), MaxPatchUpdates)
	case len(r.Attempts) > MaxPatchAttempts:
		return fmt.Errorf("%w: %d attempts (max %d)", ErrMalformed, len(r.Attempts), MaxPatchAttempts)
	case len(r.Sources) > 20:
		return fmt.Errorf("%w: %d sources", ErrMalformed, len(r.Sources))
	}
	seen := make(map[string]bool, len(r.Missing))
	for i, u := range r.Missing {
		switch {
		case u.Key == "" || len(u.Key) > MaxPatchText || u.Source == "" || len(u.Source) > 32:
			return fmt.Errorf("%w: missing update %d: no key or source", ErrMalformed, i)
		case seen[u.Key]:
			return fmt.Errorf("%w: missing update %q twice", ErrMalformed, u.Key)
		case len(u.CVEs) > MaxPatchCVEs:
			return fmt.Errorf("%w: update %q: %d CVEs (max %d)", ErrMalformed, u.Key, len(u.CVEs), MaxPatchCVEs)
		case len(u.Title) > MaxPatchText || len(u.ID) > MaxPatchText || len(u.URL) > MaxPatchText:
			return fmt.Errorf("%w: update %q: a field is longer than %d bytes", ErrMalformed, u.Key, MaxPatchText)
		}
		seen[u.Key] = true
	}
	for i, a := range r.Attempts {
		switch {
		case a.Key == "" || len(a.Key) > MaxPatchText || a.StartedAt.IsZero():
			return fmt.Errorf("%w: attempt %d: no key or start", ErrMalformed, i)
		case a.Result != core.PatchInstalled && a.Result != core.PatchFailed && a.Result != core.PatchInterrupted && a.Result != core.PatchSkipped:
			return fmt.Errorf("%w: attempt %d: unknown result %q", ErrMalformed, i, a.Result)
		}
	}
	return nil
}

// PatchPolicy is the patch part of a device's effective policy as the
// agent runs it: the settings, the technicians' decisions on updates the
// device reported missing (Key → approved or declined; the server sends
// only those), and, with Schedule.Maintenance, the device's maintenance
// windows in the coming 14 days.
type PatchPolicy struct {
	core.PatchPolicy
	Decisions map[string]bool `json:"decisions,omitempty"`
	Windows   []TimeWindow    `json:"windows,omitempty"`
}

// TimeWindow is a span of time [Start, End).
type TimeWindow struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}
