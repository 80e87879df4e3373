package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

// OpenID Connect providers (core.OIDCProviderStore). The client secret is
// sealed like every other secret (sealed.go).

const oidcColumns = `id, name, issuer, client_id, client_secret, domains, auto_create, default_role,
	roles_claim, role_map, enforces_mfa, created_at FROM oidc_providers`

// oidcLists encodes a provider's domains and role map for their columns.
func oidcLists(p core.OIDCProvider) (domains, roleMap string, err error) {
	if p.Domains == nil {
		p.Domains = []string{}
	}
	if p.RoleMap == nil {
		p.RoleMap = map[string]string{}
	}
	d, err := json.Marshal(p.Domains)
	if err != nil {
		return "", "", fmt.Errorf("store: encoding domains: %w", err)
	}
	m, err := json.Marshal(p.RoleMap)
	if err != nil {
		return "", "", fmt.Errorf("store: encoding role map: %w", err)
	}
	return string(d), string(m), nil
}

// CreateOIDCProvider stores p with its secret sealed.
func (s *DB) CreateOIDCProvider(ctx context.Context, p *core.OIDCProvider) error {
	domains, roleMap, err := oidcLists(*p)
	if err != nil {
		return err
	}
	secret, err := s.sealText(p.ClientSecret)
	if err != nil {
		return err
	}
	p.CreatedAt = orNow(p.CreatedAt)
	err = s.db.QueryRowContext(ctx, `
		INSERT INTO oidc_providers (name, issuer, client_id, client_secret, domains, auto_create, default_role,
			roles_claim, role_map, enforces_mfa, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		p.Name, p.Issuer, p.ClientID, secret, domains, boolInt(p.AutoCreate), p.DefaultRole,
		p.RolesClaim, roleMap, boolInt(p.EnforcesMFA), ms(p.CreatedAt)).Scan(&p.ID)
	return s.wrap("create OIDC provider", err)
}

// UpdateOIDCProvider replaces p's settings, keeping the stored secret when
// p's is empty.
func (s *DB) UpdateOIDCProvider(ctx context.Context, p core.OIDCProvider) error {
	domains, roleMap, err := oidcLists(p)
	if err != nil {
		return err
	}
	secret := ""
	if p.ClientSecret != "" {
		if secret, err = s.sealText(p.ClientSecret); err != nil {
			return err
		}
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE oidc_providers SET name = $2, issuer = $3, client_id = $4,
			client_secret = CASE WHEN $5 = '' THEN client_secret ELSE $5 END,
			domains = $6, auto_create = $7, default_role = $8, roles_claim = $9, role_map = $10, enforces_mfa = $11
		WHERE id = $1`,
		p.ID, p.Name, p.Issuer, p.ClientID, secret, domains, boolInt(p.AutoCreate), p.DefaultRole,
		p.RolesClaim, roleMap, boolInt(p.EnforcesMFA))
	return s.affectedOne("update OIDC provider", res, err)
}

// GetOIDCProvider returns a provider with its secret opened.
func (s *DB) GetOIDCProvider(ctx context.Context, id int64) (core.OIDCProvider, error) {
	p, err := s.scanOIDC(s.db.QueryRowContext(ctx, `SELECT `+oidcColumns+` WHERE id = $1`, id))
	return p, s.wrap("get OIDC provider", err)
}

// ListOIDCProviders returns every provider by name.
func (s *DB) ListOIDCProviders(ctx context.Context) ([]core.OIDCProvider, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+oidcColumns+` ORDER BY name, id`)
	if err != nil {
		return nil, s.wrap("list OIDC providers", err)
	}
	defer rows.Close()
	var out []core.OIDCProvider
	for rows.Next() {
		p, err := s.scanOIDC(rows)
		if err != nil {
			return nil, s.wrap("list OIDC providers", err)
		}
		out = append(out, p)
	}
	return out, s.wrap("list OIDC providers", rows.Err())
}

// DeleteOIDCProvider deletes a provider.
func (s *DB) DeleteOIDCProvider(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM oidc_providers WHERE id = $1`, id)
	return s.affectedOne("delete OIDC provider", res, err)
}

func (s *DB) scanOIDC(sc interface{ Scan(...any) error }) (core.OIDCProvider, error) {
	var p core.OIDCProvider
	var secret, domains, roleMap string
	var autoCreate, mfa int
	var created int64
	if err := sc.Scan(&p.ID, &p.Name, &p.Issuer, &p.ClientID, &secret, &domains, &autoCreate, &p.DefaultRole,
		&p.RolesClaim, &roleMap, &mfa, &created); err != nil {
		return core.OIDCProvider{}, err
	}
	var err error
	if p.ClientSecret, err = s.openText(secret); err != nil {
		return core.OIDCProvider{}, fmt.Errorf("OIDC provider %d's secret: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(domains), &p.Domains); err != nil {
		return core.OIDCProvider{}, fmt.Errorf("OIDC provider %d's domains: %w", p.ID, err)
	}
	if err := json.Unmarshal([]byte(roleMap), &p.RoleMap); err != nil {
		return core.OIDCProvider{}, fmt.Errorf("OIDC provider %d's role map: %w", p.ID, err)
	}
	p.AutoCreate, p.EnforcesMFA, p.CreatedAt = autoCreate != 0, mfa != 0, fromMS(created)
	return p, nil
}
