package protocol

import (
	"fmt"
	"regexp"
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

// Policy is the effective set of checks of one device. Revision is a hash
// of Checks; the agent ignores a policy with the revision it already runs.
type Policy struct {
	Revision string             `json:"revision"`
	Checks   []core.PolicyCheck `json:"checks"`
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
	return nil
}
