package service

import (
	"context"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestSSORoleMappingKeepsLastAdmin: a mapping that demotes the only
// active administrator leaves them administrator (audited as denied);
// with another administrator the demotion happens, without clients.
func TestSSORoleMappingKeepsLastAdmin(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	p := core.OIDCProvider{Name: "Entra", Domains: []string{"example.com"}, DefaultRole: core.RoleReadOnly,
		RolesClaim: "groups", RoleMap: map[string]string{"staff": core.RoleTechnician}}
	id := SSOIdentity{Email: "Admin@Example.com", EmailVerified: true, Roles: []string{"staff"}}
	u, err := f.svc.SSOSignIn(ctx, p, id)
	if err != nil || u.Role != core.RoleAdmin {
		t.Fatalf("last admin: %+v, %v", u, err)
	}
	if _, err := f.svc.CreateUser(ctx, CLI, NewUser{Email: "chefin@example.com", Password: "long enough", Role: core.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	u, err = f.svc.SSOSignIn(ctx, p, id)
	if err != nil || u.Role != core.RoleTechnician || !u.Scope.Restricted || len(u.Scope.Clients) != 0 {
		t.Fatalf("demoted: %+v, %v", u, err)
	}
	es, err := f.st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kept, changed int
	for _, e := range es {
		if e.Action == "user.role-sso" {
			if e.Result == core.AuditDenied {
				kept++
			} else {
				changed++
			}
		}
	}
	if kept != 1 || changed != 1 {
		t.Errorf("audited %d kept, %d changed", kept, changed)
	}
}

// TestProviderMFACountsForRemote: while remote actions need two-factor
// sign-in, a session whose provider enforced MFA counts as one.
func TestProviderMFACountsForRemote(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	if err := f.svc.SetRemoteSettings(ctx, f.admin, RemoteSettings{Require2FA: true, RecordingDays: 30}); err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.RemoteState(ctx, f.tech, f.dev.ID)
	if err != nil || !st.Needs2FA {
		t.Fatalf("without a second factor: %+v, %v", st, err)
	}
	viaSSO := f.tech
	viaSSO.ProviderMFA = true
	if st, err = f.svc.RemoteState(ctx, viaSSO, f.dev.ID); err != nil || st.Needs2FA {
		t.Errorf("with the provider's MFA: %+v, %v", st, err)
	}
}
