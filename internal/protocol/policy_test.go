package protocol

import (
	"errors"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestPolicyValidate(t *testing.T) {
	good := core.PolicyCheck{Name: "disk", Type: "disk", Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5}}
	daily := core.PolicyCheck{Name: "disk-daily", Type: "disk", Schedule: core.Schedule{Class: core.ScheduleDaily, At: "06:00"}}
	tests := []struct {
		name string
		p    Policy
		ok   bool
	}{
		{"valid", Policy{Revision: "abc", Checks: []core.PolicyCheck{good, daily}}, true},
		{"empty set", Policy{Revision: "abc"}, true},
		{"no revision", Policy{Checks: []core.PolicyCheck{good}}, false},
		{"duplicate", Policy{Revision: "r", Checks: []core.PolicyCheck{good, good}}, false},
		{"bad name", Policy{Revision: "r", Checks: []core.PolicyCheck{{Name: "A B", Type: "disk", Schedule: good.Schedule}}}, false},
		{"no type", Policy{Revision: "r", Checks: []core.PolicyCheck{{Name: "x", Schedule: good.Schedule}}}, false},
		{"bad class", Policy{Revision: "r", Checks: []core.PolicyCheck{{Name: "x", Type: "disk", Schedule: core.Schedule{Class: "weekly"}}}}, false},
	}
	for _, tc := range tests {
		err := tc.p.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v is not ErrMalformed", tc.name, err)
		}
	}
	// Round trip through the envelope.
	b, err := Encode(TypePolicy, "", Policy{Revision: "r1", Checks: []core.PolicyCheck{good}})
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var p Policy
	if err := DecodeData(env, &p); err != nil || p.Revision != "r1" || len(p.Checks) != 1 || p.Checks[0].Schedule.EveryMinutes != 5 {
		t.Errorf("round trip: %+v, %v", p, err)
	}
}
