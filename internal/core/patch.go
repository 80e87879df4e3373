package core

import (
	"context"
	"strings"
	"time"
)

// Patch management (issue 19). The agent scans its update sources for
// missing updates (Update), installs the approved ones in its policy's
// window and records each attempt (PatchAttempt); protocol.PatchReport
// carries the lot to the server, which keeps the fleet's view: one Patch
// row per distinct update, what each device misses, approvals per client.

// Update sources (Update.Source).
const (
	SourceWindowsUpdate = "windows-update" // Windows Update Agent: Microsoft Update or the customer's WSUS
	SourceWinget        = "winget"
	SourceChoco         = "choco"
	SourceApt           = "apt"
	SourceDnf           = "dnf"
	SourceZypper        = "zypper"
	SourceSoftwareUpd   = "softwareupdate" // macOS
	SourceBrew          = "brew"
	// SourceEOL is end-of-life software found in the inventory: it gets no
	// updates any more; the only fix is to remove it. The server derives
	// these; agents never report them.
	SourceEOL = "eol"
)

// Update classifications (Update.Classification), normalized over the
// sources: Windows Update's categories map one to one; package managers
// give security (the security pocket, dnf's and zypper's security
// advisories) or update.
const (
	ClassCritical    = "critical"     // WU "Critical Updates"
	ClassSecurity    = "security"     // WU "Security Updates"; security pocket or advisory
	ClassDefinition  = "definition"   // WU "Definition Updates"
	ClassRollup      = "rollup"       // WU "Update Rollups"
	ClassServicePack = "service-pack" // WU "Service Packs"
	ClassFeature     = "feature"      // WU "Feature Packs" and "Upgrades"; macOS major upgrades
	ClassDriver      = "driver"       // WU "Drivers"
	ClassTool        = "tool"         // WU "Tools"
	ClassApplication = "application"  // a third-party application (winget, choco, brew)
	ClassUpdate      = "update"       // anything else: WU "Updates", an ordinary package upgrade
	ClassEOL         = "end-of-life"  // SourceEOL
)

// Classifications lists every classification, most urgent first.
var Classifications = []string{ClassCritical, ClassSecurity, ClassEOL, ClassDefinition, ClassRollup,
	ClassServicePack, ClassUpdate, ClassApplication, ClassDriver, ClassTool, ClassFeature}

// Severities (Update.Severity): MSRC's ratings, which the other sources'
// ratings map to; "" is unrated.
const (
	SeverityCritical  = "critical"
	SeverityImportant = "important"
	SeverityModerate  = "moderate"
	SeverityLow       = "low"
)

// ParseSeverity maps a source's rating ("Critical", "important", "Low";
// MSRC's names, which Windows Update, dnf and zypper all use) to a
// Severity… constant, "" for anything else (unspecified, none).
func ParseSeverity(s string) string {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case SeverityCritical, SeverityImportant, SeverityModerate, SeverityLow:
		return v
	}
	return ""
}

// SeverityRank orders severities: critical 4 … low 1, unrated 0.
func SeverityRank(s string) int {
	switch s {
	case SeverityCritical:
		return 4
	case SeverityImportant:
		return 3
	case SeverityModerate:
		return 2
	case SeverityLow:
		return 1
	}
	return 0
}

// Reboot behaviour of an update (Update.Reboot).
const (
	RebootNever  = "never"
	RebootMay    = "may"
	RebootAlways = "always"
)

// Update is one missing update as a source reports it. Key names it
// across the fleet: UpdateKey(Source, ID, Version).
type Update struct {
	Key    string `json:"key"`
	Source string `json:"source"`
	// ID is the source's own name: WU's UpdateID, a package name, a winget
	// or Chocolatey ID, a softwareupdate label, an EOL product key.
	ID string `json:"id"`
	// Version is what it installs (WU: the revision number); Installed
	// the version installed now, if any.
	Version        string    `json:"version,omitempty"`
	Installed      string    `json:"installed,omitempty"`
	Title          string    `json:"title"`
	KB             string    `json:"kb,omitempty"` // "KB5034441"
	Classification string    `json:"classification"`
	Severity       string    `json:"severity,omitempty"`
	CVEs           []string  `json:"cves,omitempty"`
	SizeBytes      int64     `json:"size_bytes,omitempty"`
	Reboot         string    `json:"reboot,omitempty"`
	ReleasedAt     time.Time `json:"released_at,omitzero"`
	URL            string    `json:"url,omitempty"` // the vendor's article or advisory
	// Product is the curated catalogue's product key for third-party
	// software (internal/patch), "" otherwise.
	Product string `json:"product,omitempty"`
}

// UpdateKey builds Update.Key: "source:id" or "source:id@version".
func UpdateKey(source, id, version string) string {
	k := source + ":" + id
	if version != "" {
		k += "@" + version
	}
	return k
}

// MissingUpdate is a missing update as the agent tracks it: when it first
// saw it missing, how often installing it failed, and whether it stopped
// retrying (Stuck: Failures reached the policy's MaxFailures).
type MissingUpdate struct {
	Update
	FirstSeen time.Time `json:"first_seen"`
	Failures  int       `json:"failures,omitempty"`
	Stuck     bool      `json:"stuck,omitempty"`
	LastError *Text     `json:"last_error,omitempty"`
}

// Results of an install attempt (PatchAttempt.Result).
const (
	PatchInstalled   = "installed"
	PatchFailed      = "failed"
	PatchInterrupted = "interrupted" // the agent stopped mid-install; it resumes or retries
	PatchSkipped     = "skipped"     // not tried: lock held, metered connection, disk full (Code says which)
)

// PatchAttempt is one install attempt of one update. StartedAt with Key
// names it: the agent resends its recent attempts with every report and
// the server stores each once. Code is the source's own code
// ("0x80070643", "apt-get exit 100"), Message its meaning in English and
// German.
type PatchAttempt struct {
	Key          string    `json:"key"`
	Source       string    `json:"source"`
	Title        string    `json:"title"`
	KB           string    `json:"kb,omitempty"`
	StartedAt    time.Time `json:"started_at"`
	FinishedAt   time.Time `json:"finished_at,omitzero"`
	Result       string    `json:"result"`
	Code         string    `json:"code,omitempty"`
	Message      Text      `json:"message,omitzero"`
	RebootNeeded bool      `json:"reboot_needed,omitempty"`
	// Trigger is why it ran: "schedule", "manual" (a technician's install
	// action) or "resume" (after an interrupted run).
	Trigger string `json:"trigger,omitempty"`
}

// Source scan states (PatchSourceStatus.Status).
const (
	ScanOK          = "ok"
	ScanError       = "error"       // the source exists but its scan failed: Message says why
	ScanUnsupported = "unsupported" // not on this OS or not installed here (no winget)
	ScanDisabled    = "disabled"    // the policy turned it off
)

// PatchSourceStatus is how one source's last scan went. Server is the
// update server it asked when it is not the vendor's (a WSUS URL, an apt
// mirror list is not reported).
type PatchSourceStatus struct {
	Source    string    `json:"source"`
	Status    string    `json:"status"`
	Message   Text      `json:"message,omitzero"`
	ScannedAt time.Time `json:"scanned_at,omitzero"`
	Server    string    `json:"server,omitempty"`
	Missing   int       `json:"missing"`
}

// RebootState says whether the OS waits for a restart, since when the
// agent knows, and why: "CBS", "WindowsUpdate", "PendingFileRenameOperations",
// "/var/run/reboot-required", "needs-restarting", "softwareupdate"… Error
// is set when the agent could not tell (never read as "no reboot").
type RebootState struct {
	Pending bool      `json:"pending"`
	Since   time.Time `json:"since,omitzero"`
	Reasons []string  `json:"reasons,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// Reboot policy modes (PatchReboot.Mode).
const (
	RebootModeNever  = "never"  // never restart; report the pending reboot
	RebootModeWindow = "window" // at the end of the install window, if needed
	RebootModeAsk    = "ask"    // ask the logged-on user; force at the deadline
	RebootModeForce  = "force"  // right after installing, if needed
)

// PatchRule approves updates automatically: those of Classification ("" any)
// with at least MinSeverity ("" any, unrated included).
type PatchRule struct {
	Classification string `json:"classification,omitempty"`
	MinSeverity    string `json:"min_severity,omitempty"`
}

// PatchExclusions are never installed, whatever approves them: KB IDs
// ("KB5034441"), package names or IDs (apt package, winget ID…), and
// title patterns (case-insensitive, * and ? wildcards).
type PatchExclusions struct {
	KBs      []string `json:"kbs,omitempty"`
	Packages []string `json:"packages,omitempty"`
	Titles   []string `json:"titles,omitempty"`
}

// PatchSchedule says when approved updates are installed: on Weekdays
// (0 = Sunday; empty: every day) at At ("HH:MM", device local time) for
// WindowMinutes; with Maintenance also inside the device's maintenance
// windows (core.Maintenance; the server sends the coming ones). A device
// that was off or offline at the window installs at its next start if the
// window began at most MaxLatenessHours ago.
type PatchSchedule struct {
	Weekdays         []int  `json:"weekdays,omitempty"`
	At               string `json:"at,omitempty"`
	WindowMinutes    int    `json:"window_minutes,omitempty"`
	Maintenance      bool   `json:"maintenance,omitempty"`
	MaxLatenessHours int    `json:"max_lateness_hours,omitempty"`
}

// PatchReboot is the reboot policy after installing: Mode; for ask, how
// often the user may postpone (Deferrals) and the hours until it is forced
// (DeadlineHours); ForceAfterDays forces a restart pending that long in
// any mode but never (0: not).
type PatchReboot struct {
	Mode           string `json:"mode,omitempty"`
	Deferrals      int    `json:"deferrals,omitempty"`
	DeadlineHours  int    `json:"deadline_hours,omitempty"`
	ForceAfterDays int    `json:"force_after_days,omitempty"`
}

// PatchThresholds turn the daily verification (the "patches" check) to
// failure: an approved critical or security update missing longer than
// CriticalDays, any approved update missing longer than MaxWaitDays, a
// restart pending longer than RebootDays (warning). 0 takes the default
// (internal/patch).
type PatchThresholds struct {
	CriticalDays int `json:"critical_days,omitempty"`
	MaxWaitDays  int `json:"max_wait_days,omitempty"`
	RebootDays   int `json:"reboot_days,omitempty"`
}

// PatchPolicy is a policy's patch settings. The most specific policy of a
// device that has patch settings decides them whole (no field-wise
// merge), as the dashboard shows with its source. Zero fields take the
// defaults of internal/patch.Defaults.
type PatchPolicy struct {
	// Enabled scans daily, reports missing updates and the "patches" check.
	Enabled bool `json:"enabled"`
	// Install installs approved updates in the schedule; without it the
	// device is only watched.
	Install bool `json:"install"`
	// ScanAt is the daily scan's time ("HH:MM", device local); a missed
	// scan runs at the next start.
	ScanAt string `json:"scan_at,omitempty"`
	// Sources turned off ("winget", "choco"…); the rest scan if present.
	DisabledSources []string        `json:"disabled_sources,omitempty"`
	AutoApprove     []PatchRule     `json:"auto_approve,omitempty"`
	Exclusions      PatchExclusions `json:"exclusions,omitzero"`
	Schedule        PatchSchedule   `json:"schedule,omitzero"`
	Reboot          PatchReboot     `json:"reboot,omitzero"`
	Thresholds      PatchThresholds `json:"thresholds,omitzero"`
	// MaxFailures: an update that failed this often is stuck — not
	// retried on schedule any more, reported as stuck (default 3).
	MaxFailures int `json:"max_failures,omitempty"`
}

// PatchCheckName is the check name of the daily verification results.
const PatchCheckName = "patches"

// Approval states of a device's missing update (DevicePatch.Approval), as
// internal/patch.Approve decides them.
const (
	ApprovalAuto     = "auto"     // a policy rule approves it
	ApprovalManual   = "manual"   // a technician approved it (for the client, or every client)
	ApprovalDeclined = "declined" // a technician declined it
	ApprovalExcluded = "excluded" // the policy's exclusions keep it back
	ApprovalNone     = "none"     // waits for a technician
)

// Patch is one distinct update across the fleet (by Update.Key), with how
// many devices miss it and the oldest first sighting among them.
type Patch struct {
	ID int64 `json:"id"`
	Update
	Devices       int       `json:"devices"`
	Failed        int       `json:"failed"`
	OldestMissing time.Time `json:"oldest_missing,omitzero"`
	FirstSeen     time.Time `json:"first_seen"`
}

// Device patch states (DevicePatch.State).
const (
	DevicePatchMissing = "missing"
	DevicePatchFailed  = "failed" // missing and its last attempt failed
	DevicePatchStuck   = "stuck"  // failed MaxFailures times; no more scheduled retries
)

// DevicePatch is one update a device misses, with its approval for that
// device.
type DevicePatch struct {
	PatchID int64 `json:"patch_id"`
	MissingUpdate
	State    string `json:"state"`
	Approval string `json:"approval"`
}

// DevicePatchStatus is a device's last report: when it scanned, each
// source's state, the restart it waits for, and counts of what it misses.
type DevicePatchStatus struct {
	DeviceID   int64               `json:"device_id"`
	ReportedAt time.Time           `json:"reported_at"`
	ScannedAt  time.Time           `json:"scanned_at,omitzero"`
	Sources    []PatchSourceStatus `json:"sources"`
	Reboot     RebootState         `json:"reboot"`
	Missing    int                 `json:"missing"`
	Critical   int                 `json:"critical"` // classification critical/security or severity critical/important
	Failed     int                 `json:"failed"`
	// OldestSecurity is the first sighting of the oldest missing critical
	// or security update, zero if none.
	OldestSecurity time.Time `json:"oldest_security,omitzero"`
}

// PatchApproval is a technician's decision on one patch for one client
// (ClientID 0: every client without a decision of its own).
type PatchApproval struct {
	PatchID   int64     `json:"patch_id"`
	ClientID  int64     `json:"client_id"`
	Approved  bool      `json:"approved"`
	By        string    `json:"by"`
	DecidedAt time.Time `json:"decided_at"`
}

// PatchFilter selects patches of the fleet view. Zero fields select all;
// MinSeverity keeps patches of at least that severity; DeviceIDs, if not
// nil, limits the fleet to those devices (tenant scope).
type PatchFilter struct {
	ClientID       int64
	SiteID         int64
	Source         string
	Classification string
	MinSeverity    string
	CVE            string
	Search         string // in title, KB, ID
	DeviceIDs      []int64
	Limit, Offset  int
}

// PatchReport is the core form of protocol.PatchReport that the store
// saves: the device's whole current state (missing replaces the previous
// list), plus attempts stored once each.
type PatchReport struct {
	ScannedAt time.Time
	Sources   []PatchSourceStatus
	Missing   []MissingUpdate
	Attempts  []PatchAttempt
	Reboot    RebootState
}

// PatchStore keeps the fleet's patch state.
type PatchStore interface {
	// SavePatchReport replaces a device's missing updates and status with
	// the report's, adds the attempts it does not hold yet and keeps the
	// Patch rows (by Update.Key) up to date. Idempotent.
	SavePatchReport(ctx context.Context, deviceID int64, r PatchReport, at time.Time) error
	// DevicePatchStatus returns ErrNotFound for a device that never reported.
	DevicePatchStatus(ctx context.Context, deviceID int64) (DevicePatchStatus, error)
	// DevicePatches lists what a device misses (State set, Approval
	// empty: the service decides it).
	DevicePatches(ctx context.Context, deviceID int64) ([]DevicePatch, error)
	// PatchAttempts lists a device's attempts, newest first.
	PatchAttempts(ctx context.Context, deviceID int64, limit int) ([]PatchAttempt, error)
	GetPatch(ctx context.Context, id int64) (Patch, error)
	// PatchesByKey maps keys to patch IDs (unknown keys left out).
	PatchesByKey(ctx context.Context, keys []string) (map[string]int64, error)
	// ListPatches is the fleet view: patches missing on at least one
	// selected device, most severe and most widespread first, with the
	// total count before Limit.
	ListPatches(ctx context.Context, f PatchFilter) ([]Patch, int, error)
	// ListDevicePatchStatus returns the status of the selected devices
	// (DeviceIDs nil: all) for compliance figures.
	ListDevicePatchStatus(ctx context.Context, deviceIDs []int64) ([]DevicePatchStatus, error)
	// SetPatchApproval stores or replaces a decision; DeletePatchApproval
	// removes one (back to the rules).
	SetPatchApproval(ctx context.Context, a PatchApproval) error
	DeletePatchApproval(ctx context.Context, patchID, clientID int64) error
	// PatchApprovals lists the decisions for a client and the fleet-wide
	// ones (ClientID 0).
	PatchApprovals(ctx context.Context, clientID int64) ([]PatchApproval, error)
}

// NormalizeKB returns "KB1234567" for "kb1234567", "1234567" or
// "KB1234567", "" for anything else.
func NormalizeKB(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 2 && strings.EqualFold(s[:2], "kb") {
		s = s[2:]
	}
	if s == "" || len(s) > 10 {
		return ""
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return "KB" + s
}
