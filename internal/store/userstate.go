package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// adminsLockKey serializes the changes that could remove the last active
// administrator across PostgreSQL connections (SQLite's write transactions
// are serialized anyway).
const adminsLockKey = 0x77616368_61646d6e // "wachadmn"

// DeletedEmail is the e-mail a deleted user's row keeps, freeing the
// address for a new account.
func DeletedEmail(id int64) string { return fmt.Sprintf("deleted-%d@deleted.invalid", id) }

// SetUserDisabled disables a user and ends all their sessions at once, or
// enables them again (API tokens are kept and work again). ErrNotFound for
// an absent or deleted user; ErrConflict if it would leave no active
// administrator.
func (s *DB) SetUserDisabled(ctx context.Context, id int64, disabled bool, at time.Time) error {
	op := "enable user"
	if disabled {
		op = "disable user"
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if !disabled {
			res, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = NULL WHERE id = $1 AND deleted_at IS NULL`, id)
			return s.affectedOne(op, res, err)
		}
		if err := s.keepAnAdmin(ctx, tx, op, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1`, id, ms(at)); err != nil {
			return s.wrap(op, err)
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, id)
		return s.wrap(op+": ending sessions", err)
	})
}

// DeleteUser deletes a user for good: the row stays (disabled, e-mail
// replaced by DeletedEmail) so that its ID keeps naming them in the audit
// log, while password, second factor, recovery codes, scope, sessions and
// digest opt-out are removed and their API tokens revoked. ErrNotFound for
// an absent or deleted user; ErrConflict if it would leave no active
// administrator.
func (s *DB) DeleteUser(ctx context.Context, id int64, at time.Time) error {
	const op = "delete user"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if err := s.keepAnAdmin(ctx, tx, op, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE users SET email = $2, password_hash = '', totp_secret = '', totp_enabled = 0, restricted = 0,
				disabled_at = COALESCE(disabled_at, $3), deleted_at = $3
			WHERE id = $1`, id, DeletedEmail(id), ms(at)); err != nil {
			return s.wrap(op, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE user_id = $1`, id, ms(at)); err != nil {
			return s.wrap(op+": revoking API tokens", err)
		}
		for _, table := range []string{"sessions", "recovery_codes", "user_clients", "report_digest_optout", "saved_views"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE user_id = $1`, id); err != nil {
				return s.wrap(op+": clearing "+table, err)
			}
		}
		return nil
	})
}

// keepAnAdmin locks the set of administrators and returns ErrNotFound if
// user id is absent or deleted, ErrConflict if it is the last active
// administrator.
func (s *DB) keepAnAdmin(ctx context.Context, tx *sql.Tx, op string, id int64) error {
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(adminsLockKey)); err != nil {
			return s.wrap(op+": lock", err)
		}
	}
	var role string
	var disabled sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT role, disabled_at FROM users WHERE id = $1 AND deleted_at IS NULL`, id).Scan(&role, &disabled)
	if err != nil {
		return s.wrap(op, err)
	}
	if role != core.RoleAdmin || disabled.Valid {
		return nil
	}
	var others int
	if err := tx.QueryRowContext(ctx, `
		SELECT count(*) FROM users WHERE role = $1 AND disabled_at IS NULL AND deleted_at IS NULL AND id <> $2`,
		core.RoleAdmin, id).Scan(&others); err != nil {
		return s.wrap(op+": counting administrators", err)
	}
	if others == 0 {
		return fmt.Errorf("store: %s: the last active administrator: %w", op, core.ErrConflict)
	}
	return nil
}
