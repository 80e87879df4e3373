package protocol

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TypePolicy (server → agent) carries the device's effective policy,
// signed with the action key (an actionkey.Signed with a Policy payload):
// sent right after welcome and again whenever it changes. The agent keeps
// the last one on disk and runs it until the next valid one arrives.
const TypePolicy = "policy"

// PolicyTTL is how long a signed policy message is valid: it is verified
// when it arrives, right after it was signed.
const PolicyTTL = 10 * time.Minute

// MaxPolicyChecks bounds the checks of one policy message.
const MaxPolicyChecks = 500

// MaxPolicyTasks bounds the automated tasks of one policy message.
const MaxPolicyTasks = 100

// Policy is the effective set of checks and automated tasks of one
// device. Revision is a hash of Checks, Tasks, Software and Patch; the agent ignores a
// policy with the revision it already runs.
type Policy struct {
	Revision string             `json:"revision"`
	Checks   []core.PolicyCheck `json:"checks"`
	Tasks    []Task             `json:"tasks,omitempty"`
	Software []Software         `json:"software,omitempty"`
	// Patch is the device's patch policy (issue 19), nil when patch
	// management is off.
	Patch *PatchPolicy `json:"patch,omitempty"`
	// Tray is the client's branding of the tray app (issue 20), nil when
	// the client never set one. The gateway adds it (gateway.TrayPolicies)
	// and extends Revision by its hash.
	Tray *Tray `json:"tray,omitempty"`
}

// Software is one desired software state as the agent enforces it (issue
// 17): the package, as its install (State present) or uninstall (State
// absent) action would carry it, with Package.RunID empty (the agent names
// each attempt), and the check name (core.SoftwareCheckName) its results
// carry. The agent checks the state with the detection rule on its
// schedule, acts on a drift with retries and back-off, and reports the
// state as a check result.
type Software struct {
	Check      string      `json:"check"`
	State      string      `json:"state"`
	MinVersion string      `json:"min_version,omitempty"`
	Package    PackageArgs `json:"package"`
}

// Task is one automated task as the agent runs it (issue 16): the schedule
// and fix binding of a core.PolicyTask with the script version inline.
// Script.RunID is empty: the agent names each run itself
// (TaskRunID), so that one occurrence runs at most once. A check of type
// CheckScript carries its script the same way, as ScriptCheckParams.
type Task struct {
	Name          string            `json:"name"`
	ScriptID      int64             `json:"script_id"`
	ScriptVersion int               `json:"script_version"`
	ScriptName    string            `json:"script_name"`
	Schedule      core.TaskSchedule `json:"schedule"`
	FixCheck      string            `json:"fix_check,omitempty"`
	MaxPerDay     int               `json:"max_per_day,omitempty"`
	RunAgain      bool              `json:"run_again,omitempty"`
	Script        ScriptArgs        `json:"script"`
}

// CheckScript is the check type that runs a library script (issue 16):
// exit code 0 is ok, 1 warning, 2 failure, anything else an error (the
// Nagios plugin convention); the first line of output is the message, and a
// "|name=42;unit" suffix on it becomes the value.
const CheckScript = "script"

// ScriptCheckParams are a script check's parameters as the agent receives
// them: the server replaces the policy's {"script_id", "script_version",
// "params"} with the script version inline (Script.RunID empty).
type ScriptCheckParams struct {
	ScriptID      int64      `json:"script_id"`
	ScriptVersion int        `json:"script_version"`
	Script        ScriptArgs `json:"script"`
}

// TaskRunID names one run of a task: the task, how it was triggered and
// when it was due (Unix seconds), so that a restarted agent recognizes a
// run it already started. It fits ScriptArgs.RunID's syntax.
func TaskRunID(task, trigger string, due time.Time) string {
	id := fmt.Sprintf("t-%s-%s-%d", trigger, task, due.Unix())
	id = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, id)
	if len(id) > 64 {
		sum := sha256.Sum256([]byte(id))
		id = id[:47] + "-" + hex.EncodeToString(sum[:8])
	}
	return id
}

var policyCheckName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Validate checks what the agent relies on: a revision, unique well-formed
// names, a type and a known schedule class per entry. Parameters are checked
// when the agent builds each check.
func (p Policy) Validate() error {
	if p.Revision == "" || len(p.Revision) > 128 {
		return fmt.Errorf("%w: policy without revision", ErrMalformed)
	}
	if len(p.Checks) > MaxPolicyChecks {
		return fmt.Errorf("%w: %d checks in one policy (max %d)", ErrMalformed, len(p.Checks), MaxPolicyChecks)
	}
	seen := map[string]bool{}
	for i, c := range p.Checks {
		switch {
		case !policyCheckName.MatchString(c.Name):
			return fmt.Errorf("%w: policy check %d: bad name %q", ErrMalformed, i, c.Name)
		case seen[c.Name]:
			return fmt.Errorf("%w: policy check %d: duplicate name %q", ErrMalformed, i, c.Name)
		case c.Type == "" || len(c.Type) > 64:
			return fmt.Errorf("%w: policy check %q: bad type", ErrMalformed, c.Name)
		case c.Schedule.Class != core.Schedule24x7 && c.Schedule.Class != core.ScheduleDaily:
			return fmt.Errorf("%w: policy check %q: unknown schedule class %q", ErrMalformed, c.Name, c.Schedule.Class)
		}
		seen[c.Name] = true
	}
	if len(p.Tasks) > MaxPolicyTasks {
		return fmt.Errorf("%w: %d tasks in one policy (max %d)", ErrMalformed, len(p.Tasks), MaxPolicyTasks)
	}
	tasks := map[string]bool{}
	for i, t := range p.Tasks {
		switch {
		case !policyCheckName.MatchString(t.Name):
			return fmt.Errorf("%w: policy task %d: bad name %q", ErrMalformed, i, t.Name)
		case tasks[t.Name]:
			return fmt.Errorf("%w: policy task %d: duplicate name %q", ErrMalformed, i, t.Name)
		case t.Schedule.Kind == core.TaskFixOnly && t.FixCheck == "":
			return fmt.Errorf("%w: policy task %q: a fix-only task without fix_check", ErrMalformed, t.Name)
		}
		switch t.Schedule.Kind {
		case core.TaskInterval, core.TaskDaily, core.TaskWeekly, core.TaskMonthly, core.TaskAtStart, core.TaskFixOnly:
		default:
			return fmt.Errorf("%w: policy task %q: unknown schedule kind %q", ErrMalformed, t.Name, t.Schedule.Kind)
		}
		s := t.Script
		s.RunID = "x" // the agent names each run
		if err := s.Validate(); err != nil {
			return fmt.Errorf("%w: policy task %q: %v", ErrMalformed, t.Name, err)
		}
		tasks[t.Name] = true
	}
	if err := p.Tray.Validate(); err != nil {
		return err
	}
	return p.validateSoftware(seen)
}

// MaxPolicySoftware bounds the desired software states of one policy.
const MaxPolicySoftware = 100

// validateSoftware checks the desired software states' shape: a check
// name of their own (not one of checks), a known state. The package is
// checked when the agent enforces the entry, which reports a bad one.
func (p Policy) validateSoftware(checks map[string]bool) error {
	if len(p.Software) > MaxPolicySoftware {
		return fmt.Errorf("%w: %d software entries in one policy (max %d)", ErrMalformed, len(p.Software), MaxPolicySoftware)
	}
	seen := map[string]bool{}
	for i, s := range p.Software {
		switch {
		case !policyCheckName.MatchString(s.Check):
			return fmt.Errorf("%w: policy software %d: bad check name %q", ErrMalformed, i, s.Check)
		case seen[s.Check] || checks[s.Check]:
			return fmt.Errorf("%w: policy software %d: duplicate check name %q", ErrMalformed, i, s.Check)
		case s.State != core.SoftwarePresent && s.State != core.SoftwareAbsent:
			return fmt.Errorf("%w: policy software %q: unknown state %q", ErrMalformed, s.Check, s.State)
		}
		seen[s.Check] = true
	}
	return nil
}
