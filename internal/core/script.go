package core

import (
	"context"
	"encoding/json"
	"strconv"
	"time"
)

// Script parameter types.
const (
	ParamText   = "text"
	ParamNumber = "number"
	ParamBool   = "bool" // yes/no
	ParamChoice = "choice"
	ParamSecret = "secret" // sealed at rest, masked in output, views and the audit log
)

// Run-as choices of a script.
const (
	RunAsSystem = "system" // SYSTEM on Windows, root elsewhere
	RunAsUser   = "user"   // the user logged on at the console (protocol.RunAsUser)
)

// ScriptParam declares one parameter of a script. It reaches the script as
// the environment variable Name. Default is a JSON value of the type
// (none for secrets); Choices lists a choice's values.
type ScriptParam struct {
	Name     string          `json:"name"`
	Type     string          `json:"type"`
	Label    Text            `json:"label,omitzero"`
	Default  json.RawMessage `json:"default,omitempty"`
	Choices  []string        `json:"choices,omitempty"`
	Required bool            `json:"required,omitempty"`
}

// Script is one version of a script of the library. Editing a script
// stores a new version; runs record the version they ran. Builtin is the
// key of a built-in script ("" for the users' own), which are read-only.
// Signature is the base64 ed25519 signature of Language and Body for agents
// in lock mode (scriptsign).
type Script struct {
	ID             int64         `json:"id"`
	Name           string        `json:"name"`
	Builtin        string        `json:"builtin,omitempty"`
	Version        int           `json:"version"`
	Description    Text          `json:"description"`
	Language       string        `json:"language"`
	Body           string        `json:"body"`
	Params         []ScriptParam `json:"params"`
	TimeoutSeconds int           `json:"timeout_seconds"`
	RunAs          string        `json:"run_as"`
	OS             []string      `json:"os"` // linux, windows, darwin; empty: every OS
	Signature      string        `json:"signature,omitempty"`
	CreatedAt      time.Time     `json:"created_at"`
	UpdatedAt      time.Time     `json:"updated_at"` // when this version was stored
	UpdatedBy      string        `json:"updated_by,omitempty"`
	Deleted        bool          `json:"deleted,omitempty"`
	// MAC is the server's authentication of this version's executable
	// content (internal/scriptmac): nil for a version the server did not
	// write, which no policy then sends to an agent.
	MAC []byte `json:"-"`
}

// ScriptVersion lists one stored version of a script.
type ScriptVersion struct {
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// ScriptStore keeps the script library with every version.
type ScriptStore interface {
	// CreateScript stores s as version 1 and sets ID, Version and times;
	// ErrConflict for a name another script (not deleted) has.
	CreateScript(ctx context.Context, s *Script) error
	// UpdateScript stores s as a new version of script s.ID and sets
	// Version and UpdatedAt; ErrNotFound for an unknown or deleted script,
	// ErrConflict for a taken name.
	UpdateScript(ctx context.Context, s *Script) error
	// GetScript returns a script's current version; ErrNotFound if unknown
	// or deleted.
	GetScript(ctx context.Context, id int64) (Script, error)
	// GetScriptVersion returns one version, also of a deleted script.
	GetScriptVersion(ctx context.Context, id int64, version int) (Script, error)
	// ListScripts returns the current version of every script not deleted,
	// built-in ones first, then by name.
	ListScripts(ctx context.Context) ([]Script, error)
	// ListScriptVersions returns a script's versions, newest first.
	ListScriptVersions(ctx context.Context, id int64) ([]ScriptVersion, error)
	// DeleteScript marks a script deleted: it leaves the library, its
	// versions stay for the runs that name them.
	DeleteScript(ctx context.Context, id int64) error
	// EnsureBuiltinScript creates the built-in script s.Builtin or, when
	// its content changed, stores s as its new version; it sets s's ID and
	// Version.
	EnsureBuiltinScript(ctx context.Context, s *Script) error
}

// States of a script run. RunOfflineWaiting is shown, not stored: a queued
// run whose device is offline.
const (
	RunQueued         = "queued"
	RunRunning        = "running"
	RunDone           = "done"   // exit code 0
	RunFailed         = "failed" // another exit code, a timeout or the agent's refusal
	RunExpired        = "expired"
	RunInterrupted    = "interrupted" // the agent stopped mid-run; not run again
	RunCancelled      = "cancelled"   // cancelled while it waited: by a user, the script deleted, the device retired
	RunOfflineWaiting = "offline-waiting"
)

// JobScript is the Action of a job that runs a script version; a package
// job's Action is its agent action (protocol.ActionInstall or
// protocol.ActionUninstall).
const JobScript = "script"

// ScriptJob runs one action on devices: a script version (Action
// JobScript) or installing or removing a package. Params are a script's
// plain parameters; the secrets' values are in Sealed (seal.Box), their
// names in SecretNames. A package job names the package with its name and
// version as they were when it was queued (the package may be deleted
// since), binds its MAC then (PackageMAC: a package changed since is
// refused) and keeps its timeout.
type ScriptJob struct {
	ID             int64             `json:"id"`
	Action         string            `json:"action"`
	ScriptID       int64             `json:"script_id,omitempty"`
	ScriptVersion  int               `json:"script_version,omitempty"`
	ScriptName     string            `json:"script_name,omitempty"`
	PackageID      int64             `json:"package_id,omitempty"`
	PackageName    string            `json:"package_name,omitempty"`
	PackageVersion string            `json:"package_version,omitempty"`
	PackageMAC     []byte            `json:"-"`
	TimeoutSeconds int               `json:"timeout_seconds,omitempty"`
	Params         map[string]string `json:"params"`
	SecretNames    []string          `json:"secret_names"`
	Sealed         []byte            `json:"-"`
	Target         string            `json:"target"`
	CreatedBy      string            `json:"created_by"`
	CreatedAt      time.Time         `json:"created_at"`
	ExpiresAt      time.Time         `json:"expires_at"`
}

// IsPackage reports whether the job installs or removes a package.
func (j ScriptJob) IsPackage() bool { return j.Action != "" && j.Action != JobScript }

// ScriptRun is one device's run of a job, or (JobID 0, Task set) a run of
// an automated task of its policy as its agent reported it.
type ScriptRun struct {
	ID            string `json:"id"`
	JobID         int64  `json:"job_id"`
	DeviceID      int64  `json:"device_id"`
	Hostname      string `json:"hostname"`
	ClientID      int64  `json:"client_id"`
	ScriptID      int64  `json:"script_id"`
	ScriptName    string `json:"script_name"`
	ScriptVersion int    `json:"script_version"`
	// Of a package job's run: the job's action and package, the exit
	// code's meaning (core.Exit…), whether a restart is needed, and what
	// the detection rule found afterwards (swdetect states).
	Action         string `json:"action,omitempty"`
	PackageID      int64  `json:"package_id,omitempty"`
	PackageName    string `json:"package_name,omitempty"`
	PackageVersion string `json:"package_version,omitempty"`
	Meaning        string `json:"meaning,omitempty"`
	RebootNeeded   bool   `json:"reboot_needed,omitempty"`
	SWState        string `json:"sw_state,omitempty"`
	SWVersion      string `json:"sw_version,omitempty"`
	// Retries counts the times the installer asked to be run again later
	// (exit code meaning retry); such a run waits, queued, until
	// NotBefore.
	Retries    int        `json:"retries,omitempty"`
	NotBefore  *time.Time `json:"not_before,omitempty"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	ExitCode   *int       `json:"exit_code"`
	Stdout     string     `json:"stdout"`
	Stderr     string     `json:"stderr"`
	Truncated  bool       `json:"truncated"`
	TimedOut   bool       `json:"timed_out"`
	DurationMS int64      `json:"duration_ms"`
	ErrorCode  string     `json:"error_code,omitempty"`
	Error      Text       `json:"error,omitzero"`
	QueuedAt   time.Time  `json:"queued_at"`
	// MAC authenticates the run as the server queued it (service.runMAC),
	// so that a row written straight into the database runs nothing.
	MAC        []byte     `json:"-"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// Of a task's run: the task, what triggered it (protocol.Trigger*),
	// and for a fix the check it fixed and that check's status after it.
	Task      string `json:"task,omitempty"`
	Trigger   string `json:"trigger,omitempty"`
	FixCheck  string `json:"fix_check,omitempty"`
	FixStatus Status `json:"fix_status,omitempty"`
	// TaskSource names the policy and level the task comes from in the
	// device's effective policy now ("client: Kanzlei"), filled by views.
	TaskSource string `json:"task_source,omitempty"`
}

// FixWindow is how long before an outage opened, or after a message's
// result, an automatic fix of its check still counts as its fix: the agent
// fixes at the first failure, the outage may open only after several
// (alert_after), and the fix's report may arrive after the failure's.
const FixWindow = 2 * time.Hour

// Fix is the outcome of the newest automatic fix of a check, shown with
// its outage and in alert messages.
type Fix struct {
	Task      string    `json:"task"`
	At        time.Time `json:"at"`
	OK        bool      `json:"ok"`
	ExitCode  *int      `json:"exit_code,omitempty"`
	ErrorCode string    `json:"error_code,omitempty"`
	// StillFailing: the script succeeded, but the check failed again.
	StillFailing bool `json:"still_failing,omitempty"`
}

// Text says what the fix did, with its time of day in loc: "Fixed
// automatically at 03:12 (Restart spooler)" or "Fix failed: exit 1".
func (f Fix) Text(loc *time.Location) Text {
	if loc == nil {
		loc = time.UTC
	}
	at := f.At.In(loc).Format("15:04")
	switch {
	case f.OK:
		return Text{EN: "Fixed automatically at " + at + " (" + f.Task + ")",
			DE: "Automatische Behebung um " + at + " (" + f.Task + ")"}
	case f.StillFailing:
		return Text{EN: "Fix ran at " + at + " (" + f.Task + "), the check still fails",
			DE: "Behebung um " + at + " ausgeführt (" + f.Task + "), die Prüfung schlägt weiter fehl"}
	case f.ExitCode != nil:
		n := strconv.Itoa(*f.ExitCode)
		return Text{EN: "Fix failed: exit " + n + " (" + f.Task + ")", DE: "Behebung fehlgeschlagen: Exit-Code " + n + " (" + f.Task + ")"}
	case f.ErrorCode != "":
		return Text{EN: "Fix failed: " + f.ErrorCode + " (" + f.Task + ")", DE: "Behebung fehlgeschlagen: " + f.ErrorCode + " (" + f.Task + ")"}
	}
	return Text{EN: "Fix failed (" + f.Task + ")", DE: "Behebung fehlgeschlagen (" + f.Task + ")"}
}

// ScriptRunFilter selects runs: of one job, or of one device (newest
// first, ties by ID bytewise descending, at most Limit, after After:
// queued at and the run's ID as PageKey.Name).
type ScriptRunFilter struct {
	JobID    int64
	DeviceID int64
	Limit    int
	After    PageKey
}

// ScriptRunCount counts the runs of a job in one state on one client's
// devices.
type ScriptRunCount struct {
	JobID    int64
	ClientID int64
	State    string
	Runs     int
}

// ScriptClaims are the runs ClaimScriptRuns claimed, at most one per
// device, with their jobs by ID and the devices that have further queued
// runs after the one claimed.
type ScriptClaims struct {
	Runs []ScriptRun
	Jobs map[int64]ScriptJob
	More map[int64]bool
}

// ScriptJobStore keeps script jobs and their runs.
type ScriptJobStore interface {
	// CreateScriptJob stores j and its runs, queued (each with its ID,
	// device and MAC set by the caller; an empty ID gets a new UUID); it
	// sets j's ID and CreatedAt and returns the runs.
	CreateScriptJob(ctx context.Context, j *ScriptJob, runs []ScriptRun) ([]ScriptRun, error)
	GetScriptJob(ctx context.Context, id int64) (ScriptJob, error)
	// ListScriptJobs returns the newest jobs, at most limit, newest first,
	// and how many of their runs are in each state per client.
	ListScriptJobs(ctx context.Context, limit int) ([]ScriptJob, []ScriptRunCount, error)
	ListScriptRuns(ctx context.Context, f ScriptRunFilter) ([]ScriptRun, error)
	// QueuedScriptDevices lists the devices with a queued run that has not
	// expired.
	QueuedScriptDevices(ctx context.Context, now time.Time) ([]int64, error)
	// ClaimScriptRun moves the device's oldest queued, unexpired run to
	// running with a conditional UPDATE, so that of several nodes one
	// wins; the run's deadline is now + its script's timeout + margin.
	// ok is false when there is none. The run has its ID, job, device,
	// script, state and attempts set.
	ClaimScriptRun(ctx context.Context, deviceID int64, now time.Time, margin time.Duration) (r ScriptRun, j ScriptJob, ok bool, err error)
	// ClaimScriptRuns is ClaimScriptRun for many devices in one
	// transaction.
	ClaimScriptRuns(ctx context.Context, deviceIDs []int64, now time.Time, margin time.Duration) (ScriptClaims, error)
	// FinishScriptRun stores a running run's outcome (r.State and result
	// fields); ErrConflict if the run is not running.
	FinishScriptRun(ctx context.Context, r ScriptRun) error
	// FinishScriptRuns stores the outcomes of many runs in one
	// transaction and returns the IDs of those that were not running.
	FinishScriptRuns(ctx context.Context, runs []ScriptRun) (conflicts []string, err error)
	// RequeueScriptRun puts a running run back in the queue: the agent was
	// not reached or did not answer; its journal keeps the run once.
	RequeueScriptRun(ctx context.Context, id string) error
	// SweepScriptRuns expires queued runs past their job's expiry and
	// requeues running ones past their deadline (a node died).
	SweepScriptRuns(ctx context.Context, now time.Time) (expired, requeued int, err error)
	// CancelScriptRuns cancels the queued runs of a script's jobs, of
	// every version. (RetireDevice and deleting a client or site cancel
	// the queued runs of the devices they retire.)
	CancelScriptRuns(ctx context.Context, scriptID int64, now time.Time) (int, error)
	// QueuedPackageRuns counts the queued runs of a package's jobs.
	QueuedPackageRuns(ctx context.Context, packageID int64) (int, error)
	// CancelPackageRuns cancels the queued runs of a package's jobs, as
	// CancelScriptRuns does for a script.
	CancelPackageRuns(ctx context.Context, packageID int64, now time.Time) (int, error)
	// RetryScriptRun puts a running run back in the queue until notBefore
	// with r's outcome (why it waits) and one more retry: the installer
	// asked to be run again later.
	RetryScriptRun(ctx context.Context, r ScriptRun, notBefore time.Time) error
	// CancelJobRuns cancels a job's queued runs on the devices of the
	// clients in scope, with why as their error; running runs finish.
	CancelJobRuns(ctx context.Context, jobID int64, scope Scope, why Text, now time.Time) (int, error)
}
