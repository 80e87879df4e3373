package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scopeClients reads the client IDs of a restricted scope from table
// (user_clients or api_token_clients) for owner column = id.
func (s *DB) scopeClients(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, table, owner string, id int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT client_id FROM `+table+` WHERE `+owner+` = $1 ORDER BY client_id`, id)
	if err != nil {
		return nil, s.wrap("reading scope", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return nil, s.wrap("reading scope", err)
		}
		out = append(out, c)
	}
	return out, s.wrap("reading scope", rows.Err())
}

// writeScope replaces owner id's rows in table and returns the restricted
// flag to store.
func (s *DB) writeScope(ctx context.Context, tx *sql.Tx, table, owner string, id int64, sc core.Scope) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE `+owner+` = $1`, id); err != nil {
		return s.wrap("writing scope", err)
	}
	if !sc.Restricted {
		return nil
	}
	for _, c := range sc.Clients {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (`+owner+`, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, c); err != nil {
			return s.wrap("writing scope", err)
		}
	}
	return nil
}

// fillUserScope loads a restricted user's clients.
func (s *DB) fillUserScope(ctx context.Context, u *core.User, restricted bool) error {
	if u.Role == core.RoleAdmin || !restricted {
		u.Scope = core.AllClients
		return nil
	}
	cs, err := s.scopeClients(ctx, s.db, "user_clients", "user_id", u.ID)
	if err != nil {
		return err
	}
	u.Scope = core.Only(cs...)
	return nil
}

// ListUsers returns every user that is not deleted by e-mail, with scopes.
func (s *DB) ListUsers(ctx context.Context) ([]core.User, error) {
	const op = "listing users"
	rows, err := s.db.QueryContext(ctx, `SELECT `+userColumns+` WHERE deleted_at IS NULL ORDER BY email`)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	var out []core.User
	var restricted []bool
	for rows.Next() {
		u, r, err := scanUserRow(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap(op, err)
		}
		out, restricted = append(out, u), append(restricted, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	for i := range out {
		if err := s.fillUserScope(ctx, &out[i], restricted[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SetUserRole sets a user's role and client scope (administrators always
// get every client); ErrNotFound for an absent or deleted user.
func (s *DB) SetUserRole(ctx context.Context, id int64, role string, sc core.Scope) error {
	if !core.ValidRole(role) {
		return fmt.Errorf("store: set user role %q: %w", role, core.ErrInvalid)
	}
	if role == core.RoleAdmin {
		sc = core.AllClients
	}
	return s.inTx(ctx, "set user role", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET role = $2, restricted = $3 WHERE id = $1 AND deleted_at IS NULL`, id, role, boolInt(sc.Restricted))
		if err := s.affectedOne("set user role", res, err); err != nil {
			return err
		}
		return s.writeScope(ctx, tx, "user_clients", "user_id", id, sc)
	})
}

// SetUserPassword replaces a user's password hash.
func (s *DB) SetUserPassword(ctx context.Context, id int64, hash string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1 AND deleted_at IS NULL`, id, hash)
	return s.affectedOne("set user password", res, err)
}

// GetTOTP returns the user's TOTP secret, whether it is enabled and the last
// accepted time step.
func (s *DB) GetTOTP(ctx context.Context, userID int64) (string, bool, int64, error) {
	var secret string
	var enabled int
	var last int64
	err := s.db.QueryRowContext(ctx, `SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = $1`, userID).
		Scan(&secret, &enabled, &last)
	if err != nil {
		return "", false, 0, s.wrap("get TOTP", err)
	}
	if secret, err = s.openText(secret); err != nil {
		return "", false, 0, err
	}
	return secret, enabled != 0, last, nil
}

// SetTOTP stores a (pending or enabled) TOTP secret; "" with false turns
// two-factor login off.
func (s *DB) SetTOTP(ctx context.Context, userID int64, secret string, enabled bool) error {
	secret, err := s.sealText(secret)
	if err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE users SET totp_secret = $2, totp_enabled = $3 WHERE id = $1`,
		userID, secret, boolInt(enabled))
	return s.affectedOne("set TOTP", res, err)
}

// UseTOTPStep records step as used, atomically, so that one code cannot log
// in twice; ErrConflict if step is not newer than the last one.
func (s *DB) UseTOTPStep(ctx context.Context, userID int64, step int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE users SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2`, userID, step)
	if err != nil {
		return s.wrap("use TOTP step", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("store: use TOTP step: code already used: %w", core.ErrConflict)
	}
	return nil
}

// SetRecoveryCodes replaces the user's recovery codes.
func (s *DB) SetRecoveryCodes(ctx context.Context, userID int64, hashes [][]byte) error {
	return s.inTx(ctx, "set recovery codes", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return s.wrap("set recovery codes", err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES ($1, $2)`, userID, h); err != nil {
				return s.wrap("set recovery codes", err)
			}
		}
		return nil
	})
}

// UseRecoveryCode marks an unused code used, atomically; ErrNotFound if the
// code is unknown or already used.
func (s *DB) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND hash = $2 AND used_at IS NULL`,
		userID, hash, ms(at))
	return s.affectedOne("use recovery code", res, err)
}

// ListAPITokens returns a user's tokens (userID 0: everyone's), newest first.
func (s *DB) ListAPITokens(ctx context.Context, userID int64) ([]core.APIToken, error) {
	const op = "listing API tokens"
	rows, err := s.db.QueryContext(ctx, `SELECT `+tokenColumns+` WHERE $1 = 0 OR user_id = $1 ORDER BY id DESC`, userID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	var out []core.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap(op, err)
		}
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	for i := range out {
		if err := s.fillTokenScope(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

const tokenColumns = `id, user_id, name, hash, created_at, expires_at, revoked_at, role, restricted FROM api_tokens`

func scanToken(sc interface{ Scan(...any) error }) (core.APIToken, error) {
	var t core.APIToken
	var created int64
	var expires, revoked sql.NullInt64
	var restricted int
	err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &created, &expires, &revoked, &t.Role, &restricted)
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMS(created), timePtr(expires), timePtr(revoked)
	t.Scope.Restricted = restricted != 0
	return t, err
}

func (s *DB) fillTokenScope(ctx context.Context, t *core.APIToken) error {
	if !t.Scope.Restricted {
		return nil
	}
	cs, err := s.scopeClients(ctx, s.db, "api_token_clients", "token_id", t.ID)
	t.Scope.Clients = cs
	return err
}
