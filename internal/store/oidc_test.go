package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestOIDCSecretSealedAtRest: a provider's client secret is stored sealed,
// also after an update, and reads back in clear.
func TestOIDCSecretSealedAtRest(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s := newEngineDB(t, dialect).open(t)
			p := core.OIDCProvider{Name: "Entra ID", Issuer: "https://login.example", ClientID: "c",
				ClientSecret: "sso-geheimnis-1", Domains: []string{"example.de"}, DefaultRole: core.RoleReadOnly}
			if err := s.CreateOIDCProvider(ctx, &p); err != nil {
				t.Fatal(err)
			}
			for _, clear := range []string{"sso-geheimnis-1", "sso-geheimnis-2"} {
				p.ClientSecret = clear
				if err := s.UpdateOIDCProvider(ctx, p); err != nil {
					t.Fatal(err)
				}
				var raw string
				if err := s.SQL().QueryRowContext(ctx, `SELECT client_secret FROM oidc_providers WHERE id = $1`, p.ID).Scan(&raw); err != nil {
					t.Fatal(err)
				}
				if !seal.IsSealed(raw) || strings.Contains(raw, clear) {
					t.Errorf("client secret stored as %q", raw)
				}
				if got, err := s.GetOIDCProvider(ctx, p.ID); err != nil || got.ClientSecret != clear {
					t.Errorf("read back %q, %v", got.ClientSecret, err)
				}
			}
		})
	}
}
