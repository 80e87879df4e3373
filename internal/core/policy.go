package core

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
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
	// SecretsSet names the secret parameters (SecretParams,
	// SecretListParams) stored for this entry, in answers to users, whose
	// Params leave them out: secrets are write-only. Ignored on input.
	SecretsSet []string `json:"secrets_set,omitempty"`
	// MAC is the server's authentication of a script check's entry
	// (internal/scriptmac), kept by the store; never sent or shown.
	MAC []byte `json:"-"`
}

// Task schedule kinds. TaskFixOnly runs a task only as the automatic fix of
// its FixCheck.
const (
	TaskInterval = "interval" // every EveryMinutes minutes (hours are multiples of 60)
	TaskDaily    = "daily"    // at At, device local time
	TaskWeekly   = "weekly"   // on Weekdays at At
	TaskMonthly  = "monthly"  // on day Day at At (the month's last day if shorter)
	TaskAtStart  = "start"    // once each time the agent starts
	TaskFixOnly  = "fix"      // only as the automatic fix of FixCheck
)

// TaskSchedule says when the agent runs an automated task. A run missed
// while the device was off or the agent stopped runs at the next start,
// as a missed daily check does.
type TaskSchedule struct {
	Kind         string `json:"kind"`
	EveryMinutes int    `json:"every_minutes,omitempty"` // interval: 5..10080
	At           string `json:"at,omitempty"`            // daily, weekly, monthly: "HH:MM"
	Weekdays     []int  `json:"weekdays,omitempty"`      // weekly: 0 = Sunday … 6 = Saturday
	Day          int    `json:"day,omitempty"`           // monthly: 1..31
}

// PolicyTask is one automated task of a policy: a script of the library run
// on a schedule and/or as the automatic fix of a check. Name is unique
// within the policy's tasks; an entry with Exclude removes an inherited
// task of that name. ScriptVersion 0 runs the script's current version.
// Params are the plain parameters, Secrets the secret ones. FixCheck
// names a check of the device's effective policy: when its result is a failure (or error), the agent runs
// this task at once, at most MaxPerDay times a day (default 3), and reports
// the outcome with the check's outage.
type PolicyTask struct {
	Name          string            `json:"name"`
	ScriptID      int64             `json:"script_id,omitempty"`
	ScriptVersion int               `json:"script_version,omitempty"`
	Params        map[string]string `json:"params,omitempty"`
	Schedule      TaskSchedule      `json:"schedule"`
	FixCheck      string            `json:"fix_check,omitempty"`
	MaxPerDay     int               `json:"max_per_day,omitempty"`
	// RunAgain lets an interrupted run (agent killed mid-run) run again
	// at the next occasion; otherwise it is reported interrupted.
	RunAgain bool `json:"run_again,omitempty"`
	Exclude  bool `json:"exclude,omitempty"`
	// Secrets are the values of the script's secret parameters, apart
	// from Params: the store seals them at rest, and the API never
	// returns them (a save without one keeps the stored value).
	Secrets map[string]string `json:"-"`
	// MAC is the server's authentication of the entry with its policy
	// (internal/scriptmac), kept by the store; never sent or shown.
	MAC []byte `json:"-"`
}

// DefaultFixesPerDay bounds a task's automatic fixes a day when its
// MaxPerDay is 0.
const DefaultFixesPerDay = 3

// SecretParams are the check parameter names that are secrets in any check
// type (SNMP community and v3 passphrases, website basic-auth password).
// They are never stored in clear: network devices keep them apart, sealed
// (internal/netdev); in policies the store seals their values.
var SecretParams = []string{"community", "auth_passphrase", "priv_passphrase", "password"}

// SecretListParams are parameters whose whole value (a JSON list) is
// secret: an snmptrap entry's accepted communities and v3 users with
// their passphrases.
var SecretListParams = []string{"communities", "users"}

// IsSecretParam reports whether a check parameter name is a secret
// (SecretParams or SecretListParams).
func IsSecretParam(name string) bool {
	return slices.Contains(SecretParams, name) || slices.Contains(SecretListParams, name)
}

// Policy is a named set of checks (a monitoring template). Built-in
// policies ("server", "workstation") are seeded at start and read-only.
type Policy struct {
	ID          int64         `json:"id"`
	Name        string        `json:"name"`
	Description Text          `json:"description"`
	Builtin     string        `json:"builtin,omitempty"`
	Checks      []PolicyCheck `json:"checks"`
	// Tasks are the policy's automated tasks (issue 16), inherited and
	// overridden by name as checks are.
	Tasks []PolicyTask `json:"tasks,omitempty"`
	// Software is the policy's desired software state (issue 17),
	// inherited and overridden by package as checks are by name.
	Software []PolicySoftware `json:"software,omitempty"`
	// Patch is the policy's patch settings (issue 19); nil leaves them to
	// a less specific policy.
	Patch     *PatchPolicy `json:"patch,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Desired software states.
const (
	SoftwarePresent = "present"
	SoftwareAbsent  = "absent"
)

// PolicySoftware is one desired software state of a policy: package
// PackageID must be installed (in at least MinVersion, if set, else the
// package's detection rule decides) or absent. The agent enforces it on a
// schedule with retries and reports it as a check result, named by
// SoftwareCheckName. An entry with Exclude removes an inherited entry of
// the same package.
type PolicySoftware struct {
	PackageID  int64  `json:"package"`
	State      string `json:"state"`
	MinVersion string `json:"min_version,omitempty"`
	Exclude    bool   `json:"exclude,omitempty"`
	// MAC is the server's authentication of the entry with its policy
	// (internal/scriptmac), kept by the store; never sent or shown.
	MAC []byte `json:"-"`
}

// SoftwareCheckName is the check name a desired software state's results
// carry: "software-<package id>".
func SoftwareCheckName(packageID int64) string { return "software-" + strconv.FormatInt(packageID, 10) }

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
	// UpdatePolicy replaces name, description, checks, tasks, software and
	// patch settings; ErrNotFound,
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
	// UpdatePolicy, CreatePolicy and the script store write the server's
	// MAC beside each task, script check and script version
	// (internal/scriptmac); ScriptAuth checks it on what they read.
	ScriptAuth
	// LatestFix returns the newest automatic fix of a device's check that
	// started in [from, to], or nil.
	LatestFix(ctx context.Context, deviceID int64, check string, from, to time.Time) (*Fix, error)
}

// ScriptAuth tells whether what makes agents run code was written by the
// server: a row written into the database by anyone else (who does not
// hold <data>/secret.key) fails.
type ScriptAuth interface {
	ScriptVersionAuthentic(sc Script) bool
	PolicyTaskAuthentic(policyID int64, t PolicyTask) bool
	PolicyCheckAuthentic(policyID int64, c PolicyCheck) bool
	PolicySoftwareAuthentic(policyID int64, s PolicySoftware) bool
	PackageAuthentic(p Package) bool
}
