package policy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func layers(n int) []policy.Layer {
	var ls []policy.Layer
	for i, level := range []string{core.LevelDefault, core.LevelClient, core.LevelSite, core.LevelDevice} {
		p := core.Policy{ID: int64(i + 1), Name: level}
		for j := 0; j < n; j++ {
			p.Checks = append(p.Checks, core.PolicyCheck{Name: fmt.Sprintf("c%d", j), Type: "disk",
				Params: json.RawMessage(`{"warn":80,"fail":90}`), Exclude: level == core.LevelSite && j%5 == 0})
		}
		ls = append(ls, policy.Layer{Level: level, Policy: p})
	}
	return ls
}

// BenchmarkResolve: four levels of 20 checks each (overrides and
// exclusions), the pure part of resolving one device.
func BenchmarkResolve(b *testing.B) {
	ls := layers(20)
	for b.Loop() {
		policy.Resolve("server", ls)
	}
}

// BenchmarkAgentPolicy resolves one device's policy from the store (what a
// push costs per connected device): device, four levels of assignments, a
// policy at each.
func BenchmarkAgentPolicySQLite(b *testing.B)   { benchAgentPolicy(b, storetest.NewSQLite(b)) }
func BenchmarkAgentPolicyPostgres(b *testing.B) { benchAgentPolicy(b, storetest.NewPostgres(b)) }

func benchAgentPolicy(b *testing.B, st *store.DB) {
	ctx := context.Background()
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Hannover")
	if err != nil {
		b.Fatal(err)
	}
	tok := core.EnrollmentToken{SecretHash: []byte("bench-secret-hash-0000000000000000"), ClientID: site.ClientID, SiteID: site.ID}
	if err := st.CreateEnrollmentToken(ctx, &tok); err != nil {
		b.Fatal(err)
	}
	d := core.Device{Hostname: "srv", MachineID: "m", PublicKey: make([]byte, 32), Role: "server"}
	if err := st.Enroll(ctx, tok.SecretHash, &d, time.Now()); err != nil {
		b.Fatal(err)
	}
	for _, l := range layers(20) {
		p := l.Policy
		p.ID = 0
		if err := st.CreatePolicy(ctx, &p); err != nil {
			b.Fatal(err)
		}
		target := map[string]int64{core.LevelDefault: 0, core.LevelClient: site.ClientID, core.LevelSite: site.ID, core.LevelDevice: d.ID}[l.Level]
		if err := st.SetAssignments(ctx, l.Level, target, []int64{p.ID}); err != nil {
			b.Fatal(err)
		}
	}
	r := policy.NewResolver(st, nil)
	if _, err := r.AgentPolicy(ctx, d.ID); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.AgentPolicy(ctx, d.ID); err != nil {
			b.Fatal(err)
		}
	}
}
