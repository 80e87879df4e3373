package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
)

// APITokenPrefix starts every API token.
const APITokenPrefix = "wat_"

// BearerUser authenticates an API request by the value of its
// "Authorization: Bearer wat_…" header. Missing, malformed, unknown, revoked and expired tokens
// and tokens of disabled users all give core.ErrUnauthorized. The user
// returned carries the token's effective rights (see authz.Effective).
func BearerUser(ctx context.Context, users core.UserStore, h string, now time.Time) (core.User, error) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return core.User{}, core.ErrUnauthorized
	}
	tok = strings.TrimSpace(tok)
	if !strings.HasPrefix(tok, APITokenPrefix) || len(tok) > 256 {
		return core.User{}, core.ErrUnauthorized
	}
	t, err := users.GetAPIToken(ctx, HashSecret(tok))
	if errors.Is(err, core.ErrNotFound) {
		return core.User{}, core.ErrUnauthorized
	}
	if err != nil {
		return core.User{}, fmt.Errorf("looking up API token: %w", err)
	}
	if t.RevokedAt != nil || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return core.User{}, core.ErrUnauthorized
	}
	u, err := users.GetUser(ctx, t.UserID)
	if errors.Is(err, core.ErrNotFound) || (err == nil && u.Disabled) {
		return core.User{}, core.ErrUnauthorized
	}
	if err != nil {
		return core.User{}, fmt.Errorf("looking up token user: %w", err)
	}
	return authz.Effective(u, t), nil
}

type userKey struct{}

// WithUser returns ctx carrying the authenticated user.
func WithUser(ctx context.Context, u core.User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// UserFrom returns the user stored by WithUser.
func UserFrom(ctx context.Context) (core.User, bool) {
	u, ok := ctx.Value(userKey{}).(core.User)
	return u, ok
}
