package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// normEmail is how emails are stored and looked up: case-insensitively.
func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// CreateUser stores u with its email lower-cased and sets ID, Email and
// CreatedAt (now unless set). A taken email is ErrConflict.
func (s *DB) CreateUser(ctx context.Context, u *core.User) error {
	email := normEmail(u.Email)
	if email == "" {
		return fmt.Errorf("store: create user: empty email: %w", core.ErrInvalid)
	}
	created := orNow(u.CreatedAt)
	if u.Role == core.RoleAdmin {
		u.Scope = core.AllClients
	}
	var id int64
	err := s.inTx(ctx, "create user", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO users (email, password_hash, role, lang, time_zone, created_at, restricted) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			email, u.PasswordHash, u.Role, u.Lang, u.TimeZone, ms(created), boolInt(u.Scope.Restricted)).Scan(&id)
		if err != nil {
			return s.wrap("create user", err)
		}
		return s.writeScope(ctx, tx, "user_clients", "user_id", id, u.Scope)
	})
	if err != nil {
		return err
	}
	u.ID, u.Email, u.CreatedAt = id, email, created
	return nil
}

const userColumns = `id, email, password_hash, role, lang, time_zone, created_at, restricted, totp_enabled, disabled_at FROM users`

func scanUserRow(sc interface{ Scan(...any) error }) (core.User, bool, error) {
	var u core.User
	var created int64
	var restricted, totp int
	var disabled sql.NullInt64
	err := sc.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Role, &u.Lang, &u.TimeZone, &created, &restricted, &totp, &disabled)
	u.CreatedAt, u.TOTPEnabled, u.Disabled = fromMS(created), totp != 0, disabled.Valid
	return u, restricted != 0, err
}

func (s *DB) scanUser(ctx context.Context, op string, row *sql.Row) (core.User, error) {
	u, restricted, err := scanUserRow(row)
	if err != nil {
		return core.User{}, s.wrap(op, err)
	}
	if err := s.fillUserScope(ctx, &u, restricted); err != nil {
		return core.User{}, err
	}
	return u, nil
}

// GetUserByEmail finds a user case-insensitively; ErrNotFound if absent.
func (s *DB) GetUserByEmail(ctx context.Context, email string) (core.User, error) {
	return s.scanUser(ctx, "get user by email", s.db.QueryRowContext(ctx, `SELECT `+userColumns+` WHERE email = $1`, normEmail(email)))
}

// GetUser finds a user by ID, deleted ones included (Disabled); ErrNotFound
// if absent.
func (s *DB) GetUser(ctx context.Context, id int64) (core.User, error) {
	return s.scanUser(ctx, "get user", s.db.QueryRowContext(ctx, `SELECT `+userColumns+` WHERE id = $1`, id))
}

// CountUsers returns the number of users.
func (s *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, s.wrap("counting users", err)
}

// SetUserLang sets the user's language; ErrNotFound if absent.
func (s *DB) SetUserLang(ctx context.Context, id int64, lang string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET lang = $2 WHERE id = $1`, id, lang)
	return s.affectedOne("set user language", res, err)
}

// SetUserTimeZone sets the user's time zone (an IANA name the caller has
// validated); ErrNotFound if absent.
func (s *DB) SetUserTimeZone(ctx context.Context, id int64, zone string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET time_zone = $2 WHERE id = $1`, id, zone)
	return s.affectedOne("set user time zone", res, err)
}

// CreateAPIToken stores t and sets ID and CreatedAt (now unless set). A
// duplicate hash is ErrConflict, an unknown user ErrNotFound.
func (s *DB) CreateAPIToken(ctx context.Context, t *core.APIToken) error {
	if len(t.Hash) == 0 {
		return fmt.Errorf("store: create API token: empty hash: %w", core.ErrInvalid)
	}
	if t.Role != "" && !core.ValidRole(t.Role) {
		return fmt.Errorf("store: create API token: role %q: %w", t.Role, core.ErrInvalid)
	}
	created := orNow(t.CreatedAt)
	var id int64
	err := s.inTx(ctx, "create API token", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO api_tokens (user_id, name, hash, created_at, expires_at, revoked_at, role, restricted)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			t.UserID, t.Name, t.Hash, ms(created), msNull(t.ExpiresAt), msNull(t.RevokedAt), t.Role,
			boolInt(t.Scope.Restricted)).Scan(&id)
		if err != nil {
			return s.wrap("create API token", err)
		}
		return s.writeScope(ctx, tx, "api_token_clients", "token_id", id, t.Scope)
	})
	if err != nil {
		return err
	}
	t.ID, t.CreatedAt = id, created
	return nil
}

// GetAPIToken finds a token by hash, revoked or expired ones included;
// ErrNotFound if absent.
func (s *DB) GetAPIToken(ctx context.Context, hash []byte) (core.APIToken, error) {
	t, err := scanToken(s.db.QueryRowContext(ctx, `SELECT `+tokenColumns+` WHERE hash = $1`, hash))
	if err != nil {
		return core.APIToken{}, s.wrap("get API token", err)
	}
	if err := s.fillTokenScope(ctx, &t); err != nil {
		return core.APIToken{}, err
	}
	return t, nil
}

// RevokeAPIToken marks the token revoked (keeping an earlier revocation
// time); ErrNotFound if absent.
func (s *DB) RevokeAPIToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, ms(at))
	return s.affectedOne("revoke API token", res, err)
}

// CreateSession stores a session (CreatedAt now unless set). A duplicate
// hash is ErrConflict, an unknown user ErrNotFound.
func (s *DB) CreateSession(ctx context.Context, se core.Session) error {
	if len(se.Hash) == 0 {
		return fmt.Errorf("store: create session: empty hash: %w", core.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO sessions (hash, user_id, csrf, created_at, expires_at, oidc_provider, provider_mfa)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		se.Hash, se.UserID, se.CSRF, ms(orNow(se.CreatedAt)), ms(se.ExpiresAt), se.OIDCProvider, boolInt(se.ProviderMFA))
	return s.wrap("create session", err)
}

// GetSession finds a session by hash, expired ones included (the caller
// decides); ErrNotFound if absent.
func (s *DB) GetSession(ctx context.Context, hash []byte) (core.Session, error) {
	var se core.Session
	var created, expires int64
	var mfa int
	err := s.db.QueryRowContext(ctx, `
		SELECT hash, user_id, csrf, created_at, expires_at, oidc_provider, provider_mfa FROM sessions WHERE hash = $1`, hash).
		Scan(&se.Hash, &se.UserID, &se.CSRF, &created, &expires, &se.OIDCProvider, &mfa)
	if err != nil {
		return core.Session{}, s.wrap("get session", err)
	}
	se.CreatedAt, se.ExpiresAt, se.ProviderMFA = fromMS(created), fromMS(expires), mfa != 0
	return se, nil
}

// DeleteSession removes a session; deleting an absent one is not an error
// (logging out twice is fine).
func (s *DB) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1`, hash)
	return s.wrap("delete session", err)
}
