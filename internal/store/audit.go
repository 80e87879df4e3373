package store

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Audit appends an entry (At now unless set).
func (s *DB) Audit(ctx context.Context, e core.AuditEntry) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)`,
		ms(orNow(e.At)), e.Actor, e.Action, e.Target, e.Detail)
	return s.wrap("audit", err)
}

// ListAudit returns at most limit entries (≤ 0: all), newest first.
func (s *DB) ListAudit(ctx context.Context, limit int) ([]core.AuditEntry, error) {
	const op = "listing audit log"
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, at, actor, action, target, detail FROM audit_log
		ORDER BY at DESC, id DESC LIMIT $1`, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.AuditEntry
	for rows.Next() {
		var e core.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail); err != nil {
			return nil, s.wrap(op, err)
		}
		e.At = fromMS(at)
		out = append(out, e)
	}
	return out, s.wrap(op, rows.Err())
}

// GetSetting returns a setting's value; ErrNotFound if unset.
func (s *DB) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	return v, s.wrap("get setting "+key, err)
}

// SetSetting creates or replaces a setting.
func (s *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return s.wrap("set setting "+key, err)
}
