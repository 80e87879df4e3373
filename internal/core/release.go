package core

import (
	"context"
	"time"
)

// Agent releases (issue 21): signed agent builds and installers uploaded
// to the server, rollouts that update the fleet's agents ring by ring, and
// each device's update outcome.

// AgentFile is one uploaded release file (release.Manifest fields) with its
// signed manifest (release.Signed as JSON) and the blob it is stored as
// (SHA256 in the server's blob store).
type AgentFile struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"` // release.Kind…
	Version    string    `json:"version"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	Name       string    `json:"name"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	KeyID      string    `json:"key_id"`
	Signed     []byte    `json:"-"` // release.Signed, JSON
	UploadedAt time.Time `json:"uploaded_at"`
	UploadedBy string    `json:"uploaded_by"`
}

// Rollout states.
const (
	RolloutRunning   = "running"
	RolloutPaused    = "paused"
	RolloutDone      = "done"      // every device in scope reached the version or failed
	RolloutCancelled = "cancelled" // stopped by a user; devices already updated stay so
)

// Rollout stages: the pilot ring first, then everyone.
const (
	StagePilot = "pilot"
	StageAll   = "all"
)

// Rollout updates the agents to Version: first the pilot ring (devices of
// PilotClients, and PilotPercent percent of all others, chosen by a stable
// hash of the device ID), then, once promoted, every device. At most one
// rollout is running or paused at a time. It pauses itself (Paused with
// PauseReason) once MaxFailures devices failed or rolled back.
// AllowDowngrade lets it take devices to an older version (a rollback of
// the fleet); without it a device with a newer agent is skipped.
type Rollout struct {
	ID              int64      `json:"id"`
	Version         string     `json:"version"`
	State           string     `json:"state"`
	Stage           string     `json:"stage"`
	PilotClients    []int64    `json:"pilot_clients"`
	PilotPercent    int        `json:"pilot_percent"` // 0–100
	AutoPromote     bool       `json:"auto_promote"`  // go to StageAll once the pilot ring finished without failures
	AllowDowngrade  bool       `json:"allow_downgrade"`
	MaxFailures     int        `json:"max_failures"`     // ≥ 1
	WatchdogSeconds int        `json:"watchdog_seconds"` // the agent rolls back if the new build has not connected by then
	Concurrency     int        `json:"concurrency"`      // devices updating at once
	PauseReason     Text       `json:"pause_reason,omitzero"`
	CreatedBy       string     `json:"created_by"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	FinishedAt      *time.Time `json:"finished_at,omitempty"`
}

// States of one device's update.
const (
	UpdateSent       = "sent"        // the agent accepted the action and restarts
	UpdateDone       = "updated"     // the new build connected
	UpdateRolledBack = "rolled_back" // the watchdog restored the old build
	UpdateFailed     = "failed"      // refused or failed before replacing (bad signature, downgrade, disk full…)
)

// AgentUpdate is one device's update by a rollout.
type AgentUpdate struct {
	RolloutID   int64      `json:"rollout_id"`
	DeviceID    int64      `json:"device_id"`
	Hostname    string     `json:"hostname"`  // filled by reads
	ClientID    int64      `json:"client_id"` // filled by reads
	FromVersion string     `json:"from_version"`
	ToVersion   string     `json:"to_version"`
	State       string     `json:"state"`
	Code        string     `json:"code,omitempty"`
	Error       Text       `json:"error,omitzero"`
	Attempts    int        `json:"attempts"`
	SentAt      time.Time  `json:"sent_at"`
	FinishedAt  *time.Time `json:"finished_at,omitempty"`
}

// VersionCount counts the active devices running one agent version on one
// OS and architecture.
type VersionCount struct {
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Devices int    `json:"devices"`
}

// ReleaseStore keeps release files, rollouts and device updates.
type ReleaseStore interface {
	// CreateAgentFile stores f and sets ID and UploadedAt; ErrConflict for
	// a kind, OS, architecture and version another file has.
	CreateAgentFile(ctx context.Context, f *AgentFile) error
	GetAgentFile(ctx context.Context, id int64) (AgentFile, error)
	// FindAgentFile returns the file of a kind, version, OS and
	// architecture; ErrNotFound.
	FindAgentFile(ctx context.Context, kind, version, goos, arch string) (AgentFile, error)
	// ListAgentFiles returns every file, newest version first.
	ListAgentFiles(ctx context.Context) ([]AgentFile, error)
	// DeleteAgentFile removes a file's row (its blob goes with the next
	// sweep); ErrNotFound; ErrConflict while a running or paused rollout
	// uses its version.
	DeleteAgentFile(ctx context.Context, id int64) error
	// AgentFileBlobInUse reports whether a file row references the blob.
	AgentFileBlobInUse(ctx context.Context, sha256 string) (bool, error)

	// CreateRollout stores r (State running, Stage pilot unless no pilot
	// ring) and sets ID and times; ErrConflict while another rollout is
	// running or paused.
	CreateRollout(ctx context.Context, r *Rollout) error
	// UpdateRollout stores r's State, Stage, PauseReason, FinishedAt and
	// settings and sets UpdatedAt; ErrNotFound.
	UpdateRollout(ctx context.Context, r *Rollout) error
	GetRollout(ctx context.Context, id int64) (Rollout, error)
	// ActiveRollout returns the running or paused rollout; ErrNotFound.
	ActiveRollout(ctx context.Context) (Rollout, error)
	// ListRollouts returns the newest rollouts, at most limit.
	ListRollouts(ctx context.Context, limit int) ([]Rollout, error)

	// PutAgentUpdate inserts or replaces the update of (u.RolloutID,
	// u.DeviceID).
	PutAgentUpdate(ctx context.Context, u AgentUpdate) error
	// ListAgentUpdates returns a rollout's device updates with hostname
	// and client.
	ListAgentUpdates(ctx context.Context, rolloutID int64) ([]AgentUpdate, error)
	// AgentVersionCounts counts the active (not retired) devices per agent
	// version, OS and architecture.
	AgentVersionCounts(ctx context.Context) ([]VersionCount, error)
}
