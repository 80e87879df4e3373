package core

import (
	"context"
	"encoding/json"
	"time"
)

// Schedule classes of a policy check.
const (
	Schedule24x7  = "24x7"  // every EveryMinutes minutes
	ScheduleDaily = "daily" // once a day at At, device local time
)

// Schedule says when the agent runs a check. Zero values take the defaults
// when a policy is resolved for a device (24x7 every 5 minutes; daily at
// 06:00 on servers, 10:00 on workstations).
type Schedule struct {
	Class        string `json:"class"`                   // Schedule24x7 or ScheduleDaily
	EveryMinutes int    `json:"every_minutes,omitempty"` // 24x7: 1–120
	At           string `json:"at,omitempty"`            // daily: "HH:MM" local time
}

// PolicyCheck is one check entry of a policy. Name is unique within the
// policy and is the check name results carry; Type is the registered check.
// An entry with Exclude removes an inherited entry of the same name.
type PolicyCheck struct {
	Name     string          `json:"name"`
	Type     string          `json:"type,omitempty"`
	Params   json.RawMessage `json:"params,omitempty"`
	Schedule Schedule        `json:"schedule"`
	Exclude  bool            `json:"exclude,omitempty"`
}

// SecretParams are the check parameter names that are secrets in any check
// type (SNMP community and v3 passphrases, website basic-auth password).
// They are never stored in clear: network devices keep them apart, sealed
// (internal/netdev); in policies the store seals their values.
var SecretParams = []string{"community", "auth_passphrase", "priv_passphrase", "password"}

// SecretListParams are parameters whose whole value (a JSON list) is
// secret: an snmptrap entry's accepted communities and v3 users with
// their passphrases.
var SecretListParams = []string{"communities", "users"}

// Policy is a named set of checks (a monitoring template). Built-in
// policies ("server", "workstation") are seeded at start and read-only.
type Policy struct {
	ID          int64         `json:"id"`
	Name        string        `json:"name"`
	Description Text          `json:"description"`
	Builtin     string        `json:"builtin,omitempty"`
	Checks      []PolicyCheck `json:"checks"`
	CreatedAt   time.Time     `json:"created_at"`
	UpdatedAt   time.Time     `json:"updated_at"`
}

// Assignment levels, in inheritance order.
const (
	LevelDefault = "default"
	LevelClient  = "client"
	LevelSite    = "site"
	LevelDevice  = "device"
)

// PolicyAssignment attaches a policy to a level's target (TargetID 0 for
// the default level). Position orders several policies on one target.
type PolicyAssignment struct {
	Level      string `json:"level"`
	TargetID   int64  `json:"target_id"`
	PolicyID   int64  `json:"policy_id"`
	PolicyName string `json:"policy_name"`
	Position   int    `json:"position"`
}

// PolicyStore keeps policies and their assignments.
type PolicyStore interface {
	// CreatePolicy sets ID and times; ErrConflict for a taken name.
	CreatePolicy(ctx context.Context, p *Policy) error
	GetPolicy(ctx context.Context, id int64) (Policy, error)
	ListPolicies(ctx context.Context) ([]Policy, error) // by name
	// UpdatePolicy replaces name, description and checks; ErrNotFound,
	// ErrConflict for a taken name.
	UpdatePolicy(ctx context.Context, p *Policy) error
	// DeletePolicy removes the policy and its assignments.
	DeletePolicy(ctx context.Context, id int64) error
	// EnsureBuiltinPolicy creates or refreshes the built-in policy with
	// p.Builtin as its key and sets p.ID.
	EnsureBuiltinPolicy(ctx context.Context, p *Policy) error
	// ListAssignments returns the policies assigned to one target, by
	// position.
	ListAssignments(ctx context.Context, level string, targetID int64) ([]PolicyAssignment, error)
	// SetAssignments replaces the target's assignments with policyIDs in
	// that order (ErrNotFound if a policy does not exist).
	SetAssignments(ctx context.Context, level string, targetID int64, policyIDs []int64) error
}
