package service

import (
	"context"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// EnrollmentTokenPrefix starts the secret of every enrollment token.
const EnrollmentTokenPrefix = "wet_"

// NewEnrollmentToken asks for an enrollment token of a site; the client
// and the site are created on first use.
type NewEnrollmentToken struct {
	Client, Site string
	ExpiresAt    *time.Time // nil: never expires
	MaxUses      int        // 0: unlimited
}

// CreateEnrollmentToken creates the client and site on first use and an
// enrollment token for the site (administrators only: it may create a
// client), audited as token.create. Only the secret's hash is stored; the
// returned secret is the only copy.
func (s *Service) CreateEnrollmentToken(ctx context.Context, u core.User, nt NewEnrollmentToken) (string, core.EnrollmentToken, error) {
	if err := need(u, authz.Admin); err != nil {
		return "", core.EnrollmentToken{}, err
	}
	var fs []policy.FieldError
	for _, f := range []struct {
		name string
		v    *string
	}{{"client", &nt.Client}, {"site", &nt.Site}} {
		if err := cleanName(f.name, f.v); err != nil {
			fs = append(fs, err.(*policy.ValidationError).Fields...)
		}
	}
	if nt.MaxUses < 0 {
		fs = append(fs, fieldErr("max_uses", "must not be negative", "darf nicht negativ sein"))
	}
	if nt.ExpiresAt != nil && !nt.ExpiresAt.After(s.now()) {
		fs = append(fs, fieldErr("expires_at", "lies in the past", "liegt in der Vergangenheit"))
	}
	if err := validation(fs); err != nil {
		return "", core.EnrollmentToken{}, err
	}
	_, site, err := s.store.EnsureClientSite(ctx, nt.Client, nt.Site)
	if err != nil {
		return "", core.EnrollmentToken{}, fmt.Errorf("creating client and site: %w", err)
	}
	secret := auth.NewSecret(EnrollmentTokenPrefix)
	t := core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site.ID, CreatedAt: s.now(),
		ExpiresAt: nt.ExpiresAt, MaxUses: nt.MaxUses}
	if err := s.store.CreateEnrollmentToken(ctx, &t); err != nil {
		return "", core.EnrollmentToken{}, fmt.Errorf("creating token: %w", err)
	}
	expires := "never"
	if t.ExpiresAt != nil {
		expires = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return secret, t, s.record(ctx, u, "token.create", target("token", t.ID),
		fmt.Sprintf("client=%q site=%q expires=%s max_uses=%d", t.ClientName, t.SiteName, expires, t.MaxUses), core.AuditOK)
}

// ListEnrollmentTokens returns every enrollment token (administrators).
func (s *Service) ListEnrollmentTokens(ctx context.Context, u core.User) ([]core.EnrollmentToken, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	ts, err := s.store.ListEnrollmentTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return ts, nil
}

// RevokeEnrollmentToken revokes an enrollment token (administrators;
// core.ErrNotFound if unknown), audited as token.revoke.
func (s *Service) RevokeEnrollmentToken(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if err := s.store.RevokeEnrollmentToken(ctx, id, s.now()); err != nil {
		return fmt.Errorf("revoking token %d: %w", id, err)
	}
	return s.record(ctx, u, "token.revoke", target("token", id), "", core.AuditOK)
}
