package storetest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// policyTests are the conformance tests of core.PolicyStore.
var policyTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Policies", testPolicies},
	{"PolicyAssignments", testPolicyAssignments},
	{"BuiltinPolicies", testBuiltinPolicies},
}

func testPolicies(t *testing.T, s core.Store) {
	p := core.Policy{
		Name:        "Kanzlei Müller",
		Description: core.Text{EN: "Law office", DE: "Kanzlei"},
		Checks: []core.PolicyCheck{
			{Name: "disk", Type: "disk", Params: json.RawMessage(`{"warn":70,"fail":85}`), Schedule: core.Schedule{Class: core.ScheduleDaily, At: "07:00"}},
			{Name: "memory", Exclude: true},
		},
	}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, &p))
	if p.ID == 0 || p.CreatedAt.IsZero() || !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Fatalf("created policy: %+v", p)
	}
	got, err := s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy", err)
	if !reflect.DeepEqual(got, p) {
		t.Errorf("GetPolicy = %+v\nwant %+v", got, p)
	}
	dup := core.Policy{Name: "Kanzlei Müller"}
	wantErr(t, "CreatePolicy with a taken name", s.CreatePolicy(ctx, &dup), core.ErrConflict)

	other := core.Policy{Name: "Arztpraxis"}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, &other))
	if got, err := s.GetPolicy(ctx, other.ID); err != nil || got.Checks == nil || len(got.Checks) != 0 {
		t.Errorf("policy without checks: %+v, %v (want empty, non-nil checks)", got.Checks, err)
	}
	list, err := s.ListPolicies(ctx)
	must(t, "ListPolicies", err)
	if len(list) != 2 || list[0].Name != "Arztpraxis" || list[1].Name != "Kanzlei Müller" {
		t.Errorf("ListPolicies = %+v", list)
	}

	p.Name = "Kanzlei Müller & Partner"
	p.Checks = p.Checks[:1]
	must(t, "UpdatePolicy", s.UpdatePolicy(ctx, &p))
	got, err = s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy", err)
	if got.Name != p.Name || len(got.Checks) != 1 || got.Checks[0].Schedule.At != "07:00" {
		t.Errorf("after update: %+v", got)
	}
	other.Name = p.Name
	wantErr(t, "UpdatePolicy to a taken name", s.UpdatePolicy(ctx, &other), core.ErrConflict)
	missing := core.Policy{ID: 999999, Name: "x"}
	wantErr(t, "UpdatePolicy unknown", s.UpdatePolicy(ctx, &missing), core.ErrNotFound)

	must(t, "SetAssignments", s.SetAssignments(ctx, core.LevelClient, 5, []int64{p.ID}))
	must(t, "DeletePolicy", s.DeletePolicy(ctx, p.ID))
	_, err = s.GetPolicy(ctx, p.ID)
	wantErr(t, "GetPolicy deleted", err, core.ErrNotFound)
	wantErr(t, "DeletePolicy again", s.DeletePolicy(ctx, p.ID), core.ErrNotFound)
	as, err := s.ListAssignments(ctx, core.LevelClient, 5)
	must(t, "ListAssignments", err)
	if len(as) != 0 {
		t.Errorf("assignments of a deleted policy remain: %+v", as)
	}
}

func testPolicyAssignments(t *testing.T, s core.Store) {
	var ids []int64
	for _, n := range []string{"A", "B", "C"} {
		p := core.Policy{Name: n}
		must(t, "CreatePolicy", s.CreatePolicy(ctx, &p))
		ids = append(ids, p.ID)
	}
	must(t, "SetAssignments", s.SetAssignments(ctx, core.LevelSite, 3, []int64{ids[2], ids[0]}))
	must(t, "SetAssignments other target", s.SetAssignments(ctx, core.LevelDevice, 3, []int64{ids[1]}))
	must(t, "SetAssignments default", s.SetAssignments(ctx, core.LevelDefault, 0, []int64{ids[1]}))
	as, err := s.ListAssignments(ctx, core.LevelSite, 3)
	must(t, "ListAssignments", err)
	want := []core.PolicyAssignment{
		{Level: core.LevelSite, TargetID: 3, PolicyID: ids[2], PolicyName: "C", Position: 0},
		{Level: core.LevelSite, TargetID: 3, PolicyID: ids[0], PolicyName: "A", Position: 1},
	}
	if !reflect.DeepEqual(as, want) {
		t.Errorf("ListAssignments = %+v\nwant %+v", as, want)
	}
	// Replace: order changes, one dropped.
	must(t, "SetAssignments", s.SetAssignments(ctx, core.LevelSite, 3, []int64{ids[0]}))
	as, err = s.ListAssignments(ctx, core.LevelSite, 3)
	must(t, "ListAssignments", err)
	if len(as) != 1 || as[0].PolicyID != ids[0] || as[0].Position != 0 {
		t.Errorf("after replace: %+v", as)
	}
	// Atomic: an unknown policy changes nothing.
	wantErr(t, "SetAssignments unknown policy", s.SetAssignments(ctx, core.LevelSite, 3, []int64{ids[1], 999999}), core.ErrNotFound)
	wantErr(t, "SetAssignments duplicate", s.SetAssignments(ctx, core.LevelSite, 3, []int64{ids[1], ids[1]}), core.ErrInvalid)
	as, err = s.ListAssignments(ctx, core.LevelSite, 3)
	must(t, "ListAssignments", err)
	if len(as) != 1 || as[0].PolicyID != ids[0] {
		t.Errorf("failed SetAssignments changed assignments: %+v", as)
	}
	must(t, "SetAssignments empty", s.SetAssignments(ctx, core.LevelSite, 3, nil))
	as, err = s.ListAssignments(ctx, core.LevelSite, 3)
	must(t, "ListAssignments", err)
	if as == nil || len(as) != 0 {
		t.Errorf("after clearing: %#v (want empty, non-nil)", as)
	}
	as, err = s.ListAssignments(ctx, core.LevelDevice, 3)
	must(t, "ListAssignments", err)
	if len(as) != 1 || as[0].PolicyName != "B" {
		t.Errorf("device 3 assignments: %+v", as)
	}
}

func testBuiltinPolicies(t *testing.T, s core.Store) {
	user := core.Policy{Name: "Server"} // a user policy took the template's name
	must(t, "CreatePolicy", s.CreatePolicy(ctx, &user))
	b := core.Policy{Name: "Server", Builtin: "server", Description: core.Text{EN: "v1", DE: "v1"},
		Checks: []core.PolicyCheck{{Name: "cpu", Type: "cpu", Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 5}}}}
	must(t, "EnsureBuiltinPolicy", s.EnsureBuiltinPolicy(ctx, &b))
	if b.ID == 0 || b.ID == user.ID || b.Name != "Server (server)" {
		t.Fatalf("built-in: id %d name %q", b.ID, b.Name)
	}
	first := b.ID
	b2 := b
	b2.Name, b2.Description.EN = "Server", "v2"
	b2.Checks = append(b2.Checks, core.PolicyCheck{Name: "disk", Type: "disk"})
	must(t, "EnsureBuiltinPolicy again", s.EnsureBuiltinPolicy(ctx, &b2))
	if b2.ID != first {
		t.Errorf("refresh created a new row: %d != %d", b2.ID, first)
	}
	got, err := s.GetPolicy(ctx, first)
	must(t, "GetPolicy", err)
	if got.Builtin != "server" || got.Description.EN != "v2" || len(got.Checks) != 2 {
		t.Errorf("refreshed built-in: %+v", got)
	}
	list, err := s.ListPolicies(ctx)
	must(t, "ListPolicies", err)
	if len(list) != 2 || list[0].Builtin != "server" || list[1].Builtin != "" {
		t.Errorf("built-ins are not listed first: %+v", list)
	}
	wantErr(t, "EnsureBuiltinPolicy without key", s.EnsureBuiltinPolicy(ctx, &core.Policy{Name: "x"}), core.ErrInvalid)
}
