package storetest

import (
	"reflect"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// oidcTests are the conformance tests of core.OIDCProviderStore.
var oidcTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"OIDCProviders", testOIDCProviders},
}

// testOIDCProviders: providers round-trip with their secret, lists and
// maps; an update without a secret keeps it; names are unique; deleting
// twice is ErrNotFound.
func testOIDCProviders(t *testing.T, s core.Store) {
	entra := core.OIDCProvider{Name: "Entra ID", Issuer: "https://login.microsoftonline.com/t/v2.0", ClientID: "c1",
		ClientSecret: "geheim-1", Domains: []string{"example.de", "example.com"}, AutoCreate: true,
		DefaultRole: core.RoleReadOnly, RolesClaim: "groups", RoleMap: map[string]string{"g-admins": core.RoleAdmin},
		EnforcesMFA: true, CreatedAt: t0}
	google := core.OIDCProvider{Name: "Google", Issuer: "https://accounts.google.com", ClientID: "c2",
		ClientSecret: "geheim-2", Domains: []string{"example.de"}, DefaultRole: core.RoleTechnician, CreatedAt: t0}
	must(t, "create entra", s.CreateOIDCProvider(ctx, &entra))
	must(t, "create google", s.CreateOIDCProvider(ctx, &google))
	dup := core.OIDCProvider{Name: "Google", Issuer: "https://x.example", ClientID: "c3", DefaultRole: core.RoleReadOnly}
	wantErr(t, "same name twice", s.CreateOIDCProvider(ctx, &dup), core.ErrConflict)

	got, err := s.GetOIDCProvider(ctx, entra.ID)
	must(t, "get entra", err)
	if !reflect.DeepEqual(got, entra) {
		t.Errorf("got %+v, want %+v", got, entra)
	}
	ps, err := s.ListOIDCProviders(ctx)
	must(t, "list", err)
	if len(ps) != 2 || ps[0].Name != "Entra ID" || ps[1].Name != "Google" || ps[1].ClientSecret != "geheim-2" {
		t.Errorf("list = %+v", ps)
	}

	google.ClientSecret, google.Domains, google.AutoCreate = "", []string{"example.org"}, true
	must(t, "update without secret", s.UpdateOIDCProvider(ctx, google))
	got, err = s.GetOIDCProvider(ctx, google.ID)
	must(t, "get google", err)
	if got.ClientSecret != "geheim-2" || !got.AutoCreate || !reflect.DeepEqual(got.Domains, []string{"example.org"}) {
		t.Errorf("after update: %+v", got)
	}
	google.ClientSecret = "neu"
	must(t, "update with secret", s.UpdateOIDCProvider(ctx, google))
	if got, _ = s.GetOIDCProvider(ctx, google.ID); got.ClientSecret != "neu" {
		t.Errorf("secret after update = %q", got.ClientSecret)
	}
	google.Name = "Entra ID"
	wantErr(t, "rename onto another", s.UpdateOIDCProvider(ctx, google), core.ErrConflict)
	wantErr(t, "update missing", s.UpdateOIDCProvider(ctx, core.OIDCProvider{ID: 9999, Name: "x"}), core.ErrNotFound)

	must(t, "delete", s.DeleteOIDCProvider(ctx, entra.ID))
	wantErr(t, "delete twice", s.DeleteOIDCProvider(ctx, entra.ID), core.ErrNotFound)
	_, err = s.GetOIDCProvider(ctx, entra.ID)
	wantErr(t, "get deleted", err, core.ErrNotFound)
}
