package protocol

import (
	"errors"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestPolicyValidateSoftware: a desired software state needs a check name
// of its own and a known state; its package is checked by the agent.
func TestPolicyValidateSoftware(t *testing.T) {
	sw := Software{Check: core.SoftwareCheckName(3), State: core.SoftwarePresent}
	disk := core.PolicyCheck{Name: "software-3", Type: "disk", Schedule: core.Schedule{Class: core.Schedule24x7}}
	many := make([]Software, MaxPolicySoftware+1)
	for i := range many {
		many[i] = Software{Check: core.SoftwareCheckName(int64(i)), State: core.SoftwareAbsent}
	}
	for name, tc := range map[string]struct {
		p  Policy
		ok bool
	}{
		"valid":         {Policy{Revision: "r", Software: []Software{sw, {Check: "software-4", State: core.SoftwareAbsent}}}, true},
		"duplicate":     {Policy{Revision: "r", Software: []Software{sw, sw}}, false},
		"a check's":     {Policy{Revision: "r", Checks: []core.PolicyCheck{disk}, Software: []Software{sw}}, false},
		"bad name":      {Policy{Revision: "r", Software: []Software{{Check: "Software 3", State: core.SoftwarePresent}}}, false},
		"unknown state": {Policy{Revision: "r", Software: []Software{{Check: "software-3", State: "latest"}}}, false},
		"too many":      {Policy{Revision: "r", Software: many}, false},
	} {
		err := tc.p.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrMalformed)) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
