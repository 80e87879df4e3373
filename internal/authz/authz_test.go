package authz

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestEffectiveTokenRights(t *testing.T) {
	tech := core.User{ID: 1, Role: core.RoleTechnician, Scope: core.Only(1, 2)}
	// A token limited to read-only and client 2.
	e := Effective(tech, core.APIToken{Role: core.RoleReadOnly, Scope: core.Only(2, 3)})
	if e.Role != core.RoleReadOnly || Allows(e, Operate) || !CanSeeClient(e, 2) || CanSeeClient(e, 1) || CanSeeClient(e, 3) {
		t.Errorf("narrowed token: %+v", e)
	}
	// A token claiming admin gets no more than its user.
	e = Effective(tech, core.APIToken{Role: core.RoleAdmin})
	if e.Role != core.RoleTechnician || !CanSeeClient(e, 1) || CanSeeClient(e, 9) {
		t.Errorf("token above its user: %+v", e)
	}
	// When the user's rights shrink, the token's do too.
	shrunk := core.User{ID: 1, Role: core.RoleReadOnly, Scope: core.Only(1)}
	e = Effective(shrunk, core.APIToken{Role: core.RoleTechnician, Scope: core.Only(1, 2)})
	if e.Role != core.RoleReadOnly || CanSeeClient(e, 2) || !CanSeeClient(e, 1) {
		t.Errorf("after shrinking: %+v", e)
	}
	if Allows(core.User{}, Read) || CanSeeClient(core.User{Role: core.RoleAdmin}, 1) {
		t.Error("zero user allowed")
	}
}

func TestRolesAndPerms(t *testing.T) {
	cases := []struct {
		role                     string
		read, operate, admin, op bool
	}{
		{core.RoleAdmin, true, true, true, true},
		{core.RoleTechnician, true, true, false, true},
		{core.RoleReadOnly, true, false, false, false},
		{"root", false, false, false, false},
	}
	for _, c := range cases {
		u := core.User{ID: 7, Role: c.role}
		if Allows(u, Read) != c.read || Allows(u, Operate) != c.operate || Allows(u, Admin) != c.admin || CanOperate(c.role) != c.op {
			t.Errorf("role %q: read %v operate %v admin %v canOperate %v", c.role,
				Allows(u, Read), Allows(u, Operate), Allows(u, Admin), CanOperate(c.role))
		}
		if !Allows(u, Public) {
			t.Errorf("role %q: Public refused", c.role)
		}
		// Remote actions: whoever may operate, read-only never.
		if Allows(u, Remote) != c.operate || CanRemote(c.role) != c.operate {
			t.Errorf("role %q: remote %v, want %v", c.role, Allows(u, Remote), c.operate)
		}
	}
	if Perm(9).String() != "invalid" || Operate.String() != "operate" || Remote.String() != "remote" {
		t.Error("Perm names")
	}
}
