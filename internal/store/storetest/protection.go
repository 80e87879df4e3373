package storetest

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// protectionTests cover the one-query read behind the protection overview.
var protectionTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"CheckStatesNamed", testCheckStatesNamed},
}

// testCheckStatesNamed: states of the named checks on all devices, in
// device, name, key order, with value, unit and both messages; other checks
// and checks without a state are left out.
func testCheckStatesNamed(t *testing.T, s core.Store) {
	a, b, c := device(t, s, "av-a"), device(t, s, "av-b"), device(t, s, "av-c")
	msg := core.Text{EN: "Microsoft Defender 4.18: signatures 2 days old", DE: "Microsoft Defender 4.18: Signaturen 2 Tage alt"}
	must(t, "SaveResults a", s.SaveResults(ctx, a.ID, []core.Result{
		{ID: "pa1", Check: "antivirus", Key: "antivirus", Status: core.StatusOK, Value: fp(2.25), Unit: "d", Message: msg, At: t0},
		{ID: "pa2", Check: "backup", Key: "restic:nas", Status: core.StatusFailure, Value: fp(50), Unit: "h", At: t0},
		{ID: "pa3", Check: "backup", Key: "borg", Status: core.StatusOK, Value: fp(3), Unit: "h", At: t0},
		{ID: "pa4", Check: "cpu", Status: core.StatusOK, At: t0},
	}))
	must(t, "SaveResults b", s.SaveResults(ctx, b.ID, []core.Result{
		{ID: "pb1", Check: "disk", Key: "/", Status: core.StatusOK, At: t0},
	}))
	must(t, "SaveResults c", s.SaveResults(ctx, c.ID, []core.Result{
		{ID: "pc1", Check: "antivirus", Key: "antivirus", Status: core.StatusFailure, At: t0.Add(-time.Hour)},
		{ID: "pc2", Check: "antivirus", Key: "antivirus", Status: core.StatusWarning, At: t0},
	}))

	got, err := s.ListCheckStatesNamed(ctx, nil, "antivirus", "backup")
	must(t, "ListCheckStatesNamed", err)
	type row struct {
		dev       int64
		name, key string
		st        core.Status
	}
	var rows []row
	for _, g := range got {
		rows = append(rows, row{g.DeviceID, g.Name, g.Key, g.Status})
	}
	want := []row{
		{a.ID, "antivirus", "antivirus", core.StatusOK},
		{a.ID, "backup", "borg", core.StatusOK},
		{a.ID, "backup", "restic:nas", core.StatusFailure},
		{c.ID, "antivirus", "antivirus", core.StatusWarning}, // the newest state
	}
	if len(rows) != len(want) {
		t.Fatalf("ListCheckStatesNamed = %+v, want %+v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], want[i])
		}
	}
	av := got[0]
	if av.Value == nil || *av.Value != 2.25 || av.Unit != "d" || av.Message != msg || !av.At.Equal(t0) || av.CheckID == 0 {
		t.Errorf("antivirus state = %+v", av)
	}

	only, err := s.ListCheckStatesNamed(ctx, nil, "backup")
	must(t, "ListCheckStatesNamed backup", err)
	if len(only) != 2 || only[0].Name != "backup" || only[1].Name != "backup" {
		t.Errorf("backup only = %+v", only)
	}
	ofC, err := s.ListCheckStatesNamed(ctx, []int64{c.ID, b.ID}, "antivirus", "backup")
	must(t, "ListCheckStatesNamed of c and b", err)
	if len(ofC) != 1 || ofC[0].DeviceID != c.ID || ofC[0].Status != core.StatusWarning {
		t.Errorf("states of c and b = %+v", ofC)
	}
	if no, err := s.ListCheckStatesNamed(ctx, []int64{}, "antivirus"); err != nil || len(no) != 0 {
		t.Errorf("no devices gave %d rows (%v)", len(no), err)
	}
	none, err := s.ListCheckStatesNamed(ctx, nil)
	must(t, "ListCheckStatesNamed()", err)
	if len(none) != 0 {
		t.Errorf("no names gave %d rows", len(none))
	}
}
