package agent

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// FuzzPolicyFrame decodes a frame as the session decodes a pushed policy
// and builds the plan from it: nothing may panic, and every entry of an
// accepted policy is in the plan (a check that cannot be built reports its
// error instead of vanishing).
func FuzzPolicyFrame(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"type":"policy","data":{"revision":"r1","checks":[{"name":"cpu","type":"cpu","params":{"warn":80},"schedule":{"class":"24x7","every_minutes":5}}]}}`,
		`{"v":1,"type":"policy","data":{"revision":"r2","checks":[{"name":"p","type":"allowprobe","params":{"path":"/etc/shadow"},"schedule":{"class":"daily","at":"06:00"}}]}}`,
		`{"v":1,"type":"policy","data":{"revision":"r3","checks":[{"name":"p","type":"allowprobe","params":[1]},{"name":"p","type":"x"}]}}`,
		`{"v":1,"type":"policy","data":{"revision":"","checks":null}}`,
		`{"v":1,"type":"policy","data":{"revision":"r4","checks":[{"name":"x","type":"nope","params":null,"schedule":{"class":"24x7"}}]}}`,
		`{"v":1,"type":"policy","data":"x"}`,
		`{"v":1,"type":"policy"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := protocol.Decode(b)
		if err != nil || env.Type != protocol.TypePolicy {
			return
		}
		var p protocol.Policy
		if protocol.DecodeData(env, &p) != nil || p.Validate() != nil {
			return
		}
		plan := planFromPolicy(p, nil)
		if len(plan) != len(p.Checks) {
			t.Fatalf("%d checks in the policy, %d in the plan", len(p.Checks), len(plan))
		}
		for i, e := range plan {
			if e.Name != p.Checks[i].Name || e.Check == nil {
				t.Fatalf("plan entry %d: %+v for %+v", i, e, p.Checks[i])
			}
		}
	})
}
