package gateway

import (
	"context"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// Over a real session, a probe's result for its network device lands on
// that device; the same result from an agent that is not its probe is
// acked but stored nowhere.
func TestNetworkDeviceResultsOnlyFromTheProbe(t *testing.T) {
	st := storetest.NewSQLite(t)
	e := newEnv(t, st, nil, func(o *Options) { o.Results = netdev.Router{Store: st, Log: testLog(t)} })
	probe, other := e.enrollAgent("probe"), e.enrollAgent("other")
	pd, err := st.GetDevice(context.Background(), probe.id)
	if err != nil {
		t.Fatal(err)
	}
	nd := core.NetDevice{SiteID: pd.SiteID, Name: "switch", Address: "127.0.0.1", Type: "switch", ProbeID: probe.id,
		Checks: []core.PolicyCheck{{Name: "ping", Type: "ping"}}}
	if err := st.CreateNetDevice(context.Background(), &nd); err != nil {
		t.Fatal(err)
	}
	result := func(id string) protocol.Results {
		return protocol.Results{Results: []core.Result{
			{ID: id, Check: netdev.EntryName(nd.ID, "ping"), Status: core.StatusFailure, At: protocol.Now()},
			{ID: id + "-own", Check: "cpu", Status: core.StatusOK, At: protocol.Now()},
		}}
	}
	states := func(id int64) []core.CheckState {
		t.Helper()
		cs, err := st.ListCheckStates(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}

	e.connected(other)
	other.sendBatch("b1", result("forged"))
	if cs := states(nd.ID); len(cs) != 0 {
		t.Fatalf("a non-probe agent wrote the network device's state: %+v", cs)
	}
	if cs := states(other.id); len(cs) != 1 || cs[0].Name != "cpu" {
		t.Errorf("non-probe agent's own states = %+v, want only cpu", cs)
	}

	e.connected(probe)
	probe.sendBatch("b2", result("real"))
	cs := states(nd.ID)
	if len(cs) != 1 || cs[0].Name != "ping" || cs[0].Status != core.StatusFailure {
		t.Errorf("network device states = %+v, want ping failure", cs)
	}
	if cs := states(probe.id); len(cs) != 1 || cs[0].Name != "cpu" {
		t.Errorf("probe's own states = %+v, want only cpu", cs)
	}
}
