package netdev

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// BenchmarkProbePolicy measures what a probe's policy push adds: listing
// and unsealing 50 network devices with two checks each (SQLite).
func BenchmarkProbePolicy(b *testing.B) {
	f := newFixture(b, storetest.NewSQLite(b))
	for i := range 48 {
		d := core.NetDevice{SiteID: f.router.SiteID, Name: fmt.Sprintf("sw%d", i), Address: "127.0.0.1", Type: "switch", ProbeID: f.probe.ID,
			Checks: []core.PolicyCheck{{Name: "ping", Type: "ping"}, {Name: "if", Type: "snmp", Params: json.RawMessage(`{"template":"interfaces"}`)}}}
		d.Sealed, _ = SealSecrets(f.box, Secrets{"if": {"community": "c"}})
		if err := f.st.CreateNetDevice(ctx, &d); err != nil {
			b.Fatal(err)
		}
	}
	pp := ProbePolicy{Base: fixedPolicy{}, Store: f.st, Box: f.box}
	b.ResetTimer()
	for b.Loop() {
		if _, err := pp.AgentPolicy(ctx, f.probe.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoute measures splitting a 500-result batch from a probe.
func BenchmarkRoute(b *testing.B) {
	f := newFixture(b, storetest.NewSQLite(b))
	var rs []core.Result
	for i := range 500 {
		rs = append(rs, core.Result{ID: fmt.Sprint(i), Check: EntryName(f.router.ID, "ping"), Status: core.StatusOK, At: time.Now()})
	}
	rt := Router{Store: f.st}
	b.ResetTimer()
	for b.Loop() {
		if _, err := rt.Route(ctx, f.probe.ID, rs); err != nil {
			b.Fatal(err)
		}
	}
}
