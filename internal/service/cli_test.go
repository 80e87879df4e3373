package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestOneRuleForEveryCaller: the CLI and an administrator go through the
// same rules (one e-mail rule, one role rule), and the audit log tells the
// CLI apart from every user.
func TestOneRuleForEveryCaller(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	svc := service.New(service.Deps{Store: st, PasswordCost: authtest.Cost})
	admin, err := svc.CreateUser(ctx, service.CLI, service.NewUser{Email: " Admin@Example.com ", Password: "long enough", Role: core.RoleAdmin})
	if err != nil || admin.Email != "admin@example.com" {
		t.Fatalf("CLI creating the admin: %+v %v", admin, err)
	}
	for _, caller := range []core.User{service.CLI, admin} {
		for _, nu := range []service.NewUser{
			{Email: "Bob <bob@example.com>", Password: "long enough", Role: core.RoleTechnician},
			{Email: "bob@", Password: "long enough", Role: core.RoleTechnician},
			{Email: "bob@example.com", Password: "long enough", Role: "root"},
		} {
			if _, err := svc.CreateUser(ctx, caller, nu); !errors.Is(err, core.ErrInvalid) {
				t.Errorf("%s creating %+v: %v, want ErrInvalid", service.Actor(caller), nu, err)
			}
		}
	}
	if _, err := svc.CreateUser(ctx, admin, service.NewUser{Email: "tech@example.com", Password: "long enough", Role: core.RoleTechnician}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, service.CLI, service.NewUser{Email: "TECH@example.com", Password: "long enough", Role: core.RoleTechnician}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("duplicate user: %v", err)
	}
	es, err := st.QueryAudit(ctx, core.AuditQuery{Action: "user.create"})
	if err != nil || len(es) != 2 {
		t.Fatalf("audit: %+v %v", es, err)
	}
	actors := map[string]bool{}
	for _, e := range es {
		actors[e.Actor] = true
	}
	if !actors["cli"] || !actors["user:admin@example.com"] {
		t.Errorf("audit actors %v, want cli and user:admin@example.com", actors)
	}
}

// TestTokensForOthersOnlyFromTheCLI: nobody but the CLI mints an API token
// for another user, and then with that user's rights, not the CLI's.
func TestTokensForOthersOnlyFromTheCLI(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	svc := service.New(service.Deps{Store: st, PasswordCost: authtest.Cost})
	admin, err := svc.CreateUser(ctx, service.CLI, service.NewUser{Email: "admin@example.com", Password: "long enough", Role: core.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	tech, err := svc.CreateUser(ctx, service.CLI, service.NewUser{Email: "tech@example.com", Password: "long enough", Role: core.RoleTechnician})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateAPITokenFor(ctx, admin, tech, service.NewToken{Name: "x"}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("admin minting a token for the technician: %v", err)
	}
	if _, err := svc.CreateAPITokenFor(ctx, service.CLI, tech, service.NewToken{Name: "x", Role: core.RoleAdmin}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("CLI minting an admin token for the technician: %v", err)
	}
	ct, err := svc.CreateAPITokenFor(ctx, service.CLI, tech, service.NewToken{Name: "ci"})
	if err != nil || ct.UserID != tech.ID || ct.Role != core.RoleTechnician || ct.Secret == "" {
		t.Fatalf("CLI token for the technician: %+v %v", ct, err)
	}
	if err := svc.DisableUser(ctx, service.CLI, tech.ID); err != nil {
		t.Fatal(err)
	}
	tech, _ = svc.UserByEmail(ctx, service.CLI, "tech@example.com")
	if _, err := svc.CreateAPITokenFor(ctx, service.CLI, tech, service.NewToken{Name: "x"}); !errors.Is(err, core.ErrConflict) {
		t.Errorf("token for a disabled user: %v", err)
	}
	if err := svc.DisableUser(ctx, service.CLI, admin.ID); !errors.Is(err, service.ErrLastAdmin) {
		t.Errorf("CLI disabling the last admin: %v", err)
	}
}

// TestEnrollmentTokens: administrators (and the CLI) create, list and
// revoke enrollment tokens; technicians do not.
func TestEnrollmentTokens(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	svc := service.New(service.Deps{Store: st, PasswordCost: authtest.Cost})
	tech, err := svc.CreateUser(ctx, service.CLI, service.NewUser{Email: "tech@example.com", Password: "long enough", Role: core.RoleTechnician})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateEnrollmentToken(ctx, tech, service.NewEnrollmentToken{Client: "A", Site: "B"}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician creating an enrollment token: %v", err)
	}
	past := time.Now().Add(-time.Hour)
	for _, nt := range []service.NewEnrollmentToken{{Site: "B"}, {Client: "A", Site: "B", MaxUses: -1}, {Client: "A", Site: "B", ExpiresAt: &past}} {
		if _, _, err := svc.CreateEnrollmentToken(ctx, service.CLI, nt); err == nil {
			t.Errorf("%+v accepted", nt)
		}
	}
	secret, tok, err := svc.CreateEnrollmentToken(ctx, service.CLI, service.NewEnrollmentToken{Client: " Müller GmbH ", Site: "Hannover", MaxUses: 2, Create: true})
	if err != nil || secret == "" || tok.ClientName != "Müller GmbH" {
		t.Fatalf("token %+v %v", tok, err)
	}
	if err := svc.RevokeEnrollmentToken(ctx, service.CLI, tok.ID); err != nil {
		t.Fatal(err)
	}
	ts, err := svc.ListEnrollmentTokens(ctx, service.CLI)
	if err != nil || len(ts) != 1 || ts[0].RevokedAt == nil {
		t.Errorf("tokens %+v %v", ts, err)
	}
	es, _ := st.QueryAudit(ctx, core.AuditQuery{Action: "token."})
	if len(es) != 2 || es[0].Actor != "cli" || es[1].Actor != "cli" {
		t.Errorf("audit %+v", es)
	}
	if _, _, err := svc.VerifyAudit(ctx, tech); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician verifying the audit log: %v", err)
	}
	if bad, n, err := svc.VerifyAudit(ctx, service.CLI); bad != 0 || n < 3 || err != nil {
		t.Errorf("CLI verifying the audit log: bad %d, %d checked, %v", bad, n, err)
	}
}
