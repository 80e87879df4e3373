package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestEnrollmentTokenAuthorization: administrators create and revoke,
// every role lists its own clients' sites, another client's site or token
// is not found, and every change is audited with the creator's e-mail.
func TestEnrollmentTokenAuthorization(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	svc := service.New(service.Deps{Store: st, PasswordCost: authtest.Cost})
	_, own, err := st.EnsureClientSite(ctx, "Eigene GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	_, foreign, err := st.EnsureClientSite(ctx, "Fremde AG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateSiteEnrollmentToken(ctx, service.CLI, own.ID, service.SiteToken{}); !errors.Is(err, service.ErrNeverStarted) {
		t.Errorf("before the server stored its URL: %v", err)
	}
	if err := st.SetSetting(ctx, service.SettingServerURL, "https://rmm.example.com"); err != nil {
		t.Fatal(err)
	}
	users := map[string]core.User{}
	for _, role := range []string{core.RoleAdmin, core.RoleTechnician, core.RoleReadOnly} {
		u := core.User{Email: role + "@example.com", PasswordHash: "x", Role: role, Scope: core.Only(own.ClientID)}
		if role == core.RoleAdmin {
			u.Scope = core.AllClients
		}
		if err := st.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		users[role] = u
	}
	admin := users[core.RoleAdmin]

	it, err := svc.CreateSiteEnrollmentToken(ctx, admin, own.ID, service.SiteToken{Label: " Intune ", MaxUses: 3})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := protocol.ParseToken(it.Token)
	if err != nil || tok.URL != "https://rmm.example.com" || tok.Fingerprint != "" || it.Label != "Intune" || it.CreatedBy != "admin@example.com" {
		t.Fatalf("issued %+v (%+v, %v)", it, tok, err)
	}
	// A publicly trusted certificate: no pins in the commands.
	if strings.Contains(it.Commands.Linux, "pinnedpubkey") || strings.Contains(it.Commands.Linux, "--insecure") ||
		strings.Contains(it.Commands.Windows, "ServerCertificateValidationCallback") {
		t.Errorf("commands pin without a fingerprint: %+v", it.Commands)
	}
	other, err := svc.CreateSiteEnrollmentToken(ctx, admin, foreign.ID, service.SiteToken{})
	if err != nil {
		t.Fatal(err)
	}

	for _, role := range []string{core.RoleTechnician, core.RoleReadOnly} {
		u := users[role]
		if _, err := svc.CreateSiteEnrollmentToken(ctx, u, own.ID, service.SiteToken{}); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s creates: %v", role, err)
		}
		if err := svc.RevokeEnrollmentToken(ctx, u, it.ID); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s revokes: %v", role, err)
		}
		ts, err := svc.ListSiteEnrollmentTokens(ctx, u, own.ID)
		if err != nil || len(ts) != 1 || ts[0].ID != it.ID {
			t.Errorf("%s lists own site: %+v %v", role, ts, err)
		}
		if _, err := svc.ListSiteEnrollmentTokens(ctx, u, foreign.ID); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("%s lists a foreign site: %v", role, err)
		}
	}
	// An administrator whose API token is narrowed to one client is one
	// too: the other client's token is not found.
	narrowed := admin
	narrowed.Scope = core.Only(own.ClientID)
	if err := svc.RevokeEnrollmentToken(ctx, narrowed, other.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("narrowed admin revokes a foreign token: %v", err)
	}
	if _, err := svc.CreateSiteEnrollmentToken(ctx, narrowed, foreign.ID, service.SiteToken{}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("narrowed admin creates for a foreign site: %v", err)
	}
	past := time.Now().Add(-time.Minute)
	var ve *policy.ValidationError
	if _, err := svc.CreateSiteEnrollmentToken(ctx, admin, own.ID, service.SiteToken{ExpiresAt: &past, MaxUses: -1}); !errors.As(err, &ve) || len(ve.Fields) != 2 {
		t.Errorf("bad input: %v", err)
	}

	if _, err := svc.CreateSiteEnrollmentToken(ctx, admin, own.ID, service.SiteToken{Label: strings.Repeat("ü", 200)}); err != nil {
		t.Errorf("200 umlauts refused: %v", err)
	}
	if _, err := svc.CreateSiteEnrollmentToken(ctx, admin, own.ID, service.SiteToken{Label: strings.Repeat("ü", 201)}); !errors.As(err, &ve) || ve.Fields[0].Field != "label" {
		t.Errorf("201 umlauts: %v", err)
	}

	// The installer route's check: active, then revoked; a use is never
	// consumed by it.
	for _, a := range []string{it.Token, "Bearer " + it.Token, tok.Secret, "Bearer " + tok.Secret} {
		if got, err := svc.ActiveToken(ctx, a); err != nil || got.ID != it.ID {
			t.Errorf("ActiveToken(%.20q): %+v %v", a, got, err)
		}
	}
	if _, err := svc.ActiveToken(ctx, "Bearer wet_unknown"); !errors.Is(err, core.ErrUnauthorized) {
		t.Errorf("unknown: %v", err)
	}
	if err := svc.RevokeEnrollmentToken(ctx, admin, it.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.ActiveToken(ctx, it.Token); !errors.Is(err, core.ErrTokenRevoked) {
		t.Errorf("revoked: %v", err)
	}
	d := core.Device{Hostname: "pc", OS: "linux", MachineID: "m", PublicKey: make([]byte, 32)}
	if err := st.Enroll(ctx, auth.HashSecret(tok.Secret), &d, time.Now()); !errors.Is(err, core.ErrTokenRevoked) {
		t.Errorf("enrolling with the revoked token: %v", err)
	}

	es, err := st.QueryAudit(ctx, core.AuditQuery{Action: "token."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Action+" "+e.Actor)
	}
	if j := strings.Join(got, ","); strings.Count(j, "token.create user:admin@example.com") != 3 || strings.Count(j, "token.revoke user:admin@example.com") != 1 || len(got) != 4 {
		t.Errorf("audit: %v", got)
	}
}

// TestCreateByNameNeedsCreate: the command line's create by name refuses
// unknown names without Create and lists the closest existing ones first.
func TestCreateByNameNeedsCreate(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	svc := service.New(service.Deps{Store: st, PasswordCost: authtest.Cost})
	for _, c := range []string{"Zeta AG", "Müller GmbH", "Mueller Bau"} {
		if _, _, err := st.EnsureClientSite(ctx, c, "Zentrale"); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := svc.CreateEnrollmentToken(ctx, service.CLI, service.NewEnrollmentToken{Client: "Muller GmbH", Site: "Zentrale"})
	var ns *service.NoSuchSiteError
	if !errors.As(err, &ns) || ns.Existing[0] != "Müller GmbH" || len(ns.Existing) != 3 {
		t.Fatalf("typo: %v (%+v)", err, ns)
	}
	cs, _ := st.ListClients(ctx)
	if len(cs) != 3 {
		t.Errorf("a typo created a client: %d clients", len(cs))
	}
	if _, _, err := svc.CreateEnrollmentToken(ctx, service.CLI, service.NewEnrollmentToken{Client: "Muller GmbH", Site: "Zentrale", Create: true}); err != nil {
		t.Fatal(err)
	}
	if cs, _ := st.ListClients(ctx); len(cs) != 4 {
		t.Errorf("--create made %d clients", len(cs))
	}
}
