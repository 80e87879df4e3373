package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// testPolicySoftware: desired software entries round-trip with their MACs;
// one changed in the database, or copied into another policy, is not
// authentic; saving again authenticates what was saved.
func testPolicySoftware(t *testing.T, s core.Store) {
	sw := []core.PolicySoftware{
		{PackageID: 12, State: core.SoftwarePresent, MinVersion: "24.1"},
		{PackageID: 13, State: core.SoftwareAbsent},
		{PackageID: 14, Exclude: true},
	}
	p := core.Policy{Name: "Kanzlei-Software", Software: sw}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, &p))
	read, err := s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy", err)
	if len(read.Software) != 3 {
		t.Fatalf("software read back: %+v", read.Software)
	}
	for i, e := range read.Software {
		e.MAC = nil
		if !reflect.DeepEqual(e, sw[i]) {
			t.Errorf("software[%d] = %+v, want %+v", i, e, sw[i])
		}
		if !s.PolicySoftwareAuthentic(p.ID, read.Software[i]) {
			t.Errorf("software[%d] the store wrote is not authentic", i)
		}
	}
	list, err := s.ListPolicies(ctx)
	must(t, "ListPolicies", err)
	for _, l := range list {
		if l.ID == p.ID && (len(l.Software) != 3 || !s.PolicySoftwareAuthentic(p.ID, l.Software[0])) {
			t.Errorf("listed software: %+v", l.Software)
		}
	}

	// Copied into another policy, an entry does not verify.
	other := core.Policy{Name: "Andere"}
	must(t, "CreatePolicy other", s.CreatePolicy(ctx, &other))
	db := sqlOf(t, s)
	var raw string
	must(t, "reading the row", db.QueryRowContext(ctx, `SELECT software FROM policies WHERE id = $1`, p.ID).Scan(&raw))
	if _, err := db.ExecContext(ctx, `UPDATE policies SET software = $1 WHERE id = $2`, raw, other.ID); err != nil {
		t.Fatal(err)
	}
	copied, err := s.GetPolicy(ctx, other.ID)
	must(t, "GetPolicy other", err)
	if len(copied.Software) != 3 || s.PolicySoftwareAuthentic(other.ID, copied.Software[0]) {
		t.Errorf("an entry copied to another policy is authentic: %+v", copied.Software)
	}

	// Changed in the database, an entry does not verify.
	changed := strings.Replace(raw, `"state":"absent"`, `"state":"present"`, 1)
	if changed == raw {
		t.Fatalf("stored software lacks the state: %s", raw)
	}
	if _, err := db.ExecContext(ctx, `UPDATE policies SET software = $1 WHERE id = $2`, changed, p.ID); err != nil {
		t.Fatal(err)
	}
	read, err = s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy after the change", err)
	if read.Software[1].State != core.SoftwarePresent || s.PolicySoftwareAuthentic(p.ID, read.Software[1]) {
		t.Errorf("an entry changed in the database is authentic: %+v", read.Software[1])
	}
	if !s.PolicySoftwareAuthentic(p.ID, read.Software[0]) {
		t.Errorf("an untouched entry lost its authentication")
	}

	// Saving again authenticates what was saved; an empty list stays empty.
	must(t, "UpdatePolicy", s.UpdatePolicy(ctx, &read))
	again, err := s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy again", err)
	if !s.PolicySoftwareAuthentic(p.ID, again.Software[1]) {
		t.Errorf("after a save: %+v not authentic", again.Software[1])
	}
	again.Software = nil
	must(t, "UpdatePolicy empty", s.UpdatePolicy(ctx, &again))
	if got, _ := s.GetPolicy(ctx, p.ID); got.Software != nil {
		t.Errorf("software after clearing: %+v", got.Software)
	}

	// A built-in policy keeps its (empty) software.
	b := core.Policy{Name: "Vorlage", Builtin: "tpl-sw", Software: []core.PolicySoftware{{PackageID: 7, State: core.SoftwarePresent}}}
	must(t, "EnsureBuiltinPolicy", s.EnsureBuiltinPolicy(ctx, &b))
	got, err := s.GetPolicy(ctx, b.ID)
	must(t, "GetPolicy built-in", err)
	if len(got.Software) != 1 || !s.PolicySoftwareAuthentic(b.ID, got.Software[0]) {
		t.Errorf("built-in software: %+v", got.Software)
	}
}
