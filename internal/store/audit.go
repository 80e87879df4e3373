package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// auditLockKey serializes audit appends across PostgreSQL connections and
// server replicas, so that the hash chain never forks.
const auditLockKey = 0x77616368_61756474 // "wachaudt"

// AuditHash is an entry's chain hash: SHA-256 over the previous entry's hash
// and a canonical, length-prefixed encoding of the entry's fields (time in
// Unix milliseconds, actor, remote address, action, target, detail,
// result). The ID is not hashed; order is carried by prev.
func AuditHash(prev []byte, e core.AuditEntry) []byte {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	put(prev)
	binary.BigEndian.PutUint64(n[:], uint64(ms(e.At)))
	put(n[:])
	for _, f := range []string{e.Actor, e.Remote, e.Action, e.Target, e.Detail, e.Result} {
		put([]byte(f))
	}
	return h.Sum(nil)
}

// Audit appends an entry (At now unless set, Result "ok" unless set),
// chained to the previous one. Appends are serialized: SQLite's immediate
// transactions, and an advisory lock on PostgreSQL.
func (s *DB) Audit(ctx context.Context, e core.AuditEntry) error {
	e.At = orNow(e.At)
	if e.Result == "" {
		e.Result = core.AuditOK
	}
	return s.inTx(ctx, "audit", func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(auditLockKey)); err != nil {
				return s.wrap("audit: lock", err)
			}
		}
		var prev []byte
		err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1`).Scan(&prev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return s.wrap("audit: reading last hash", err)
		}
		if prev == nil {
			prev = []byte{}
		}
		_, err = tx.ExecContext(ctx, `
			INSERT INTO audit_log (at, actor, action, target, detail, remote, result, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			ms(e.At), e.Actor, e.Action, e.Target, e.Detail, e.Remote, e.Result, prev, AuditHash(prev, e))
		return s.wrap("audit", err)
	})
}

const auditColumns = `id, at, actor, action, target, detail, remote, result, prev_hash, hash FROM audit_log`

func scanAudit(sc interface{ Scan(...any) error }) (core.AuditEntry, error) {
	var e core.AuditEntry
	var at int64
	err := sc.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Remote, &e.Result, &e.PrevHash, &e.Hash)
	e.At = fromMS(at)
	return e, err
}

// ListAudit returns at most limit entries (≤ 0: all), newest first.
func (s *DB) ListAudit(ctx context.Context, limit int) ([]core.AuditEntry, error) {
	return s.QueryAudit(ctx, core.AuditQuery{Limit: limit})
}

// QueryAudit returns the entries matching q, newest first (by ID), after
// q.After's ID if set. Actor and target match exactly, action by prefix.
func (s *DB) QueryAudit(ctx context.Context, q core.AuditQuery) ([]core.AuditEntry, error) {
	const op = "querying audit log"
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if q.Actor != "" {
		add("actor = $?", q.Actor)
	}
	if q.Action != "" {
		// substr rather than LIKE, so that % and _ in the filter are literal.
		add("substr(action, 1, length($?)) = $?", q.Action)
	}
	if q.Target != "" {
		add("target = $?", q.Target)
	}
	if !q.Since.IsZero() {
		add("at >= $?", ms(q.Since))
	}
	if !q.Until.IsZero() {
		add("at < $?", ms(q.Until))
	}
	if !q.After.First() {
		add("id < $?", q.After.ID)
	}
	query := `SELECT ` + auditColumns
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limitOrAll(q.Limit))
	query += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, e)
	}
	return out, s.wrap(op, rows.Err())
}

// VerifyAudit walks the chain oldest first and returns the ID of the first
// entry whose link or hash is wrong (0 if all are right) and how many
// entries it checked. Entries written before the chain existed (empty hash,
// before the first chained entry) are skipped. An edited, inserted or
// deleted entry breaks the chain at or after it; truncating the newest
// entries is not detectable from the table alone.
func (s *DB) VerifyAudit(ctx context.Context) (int64, int, error) {
	const op = "verifying audit log"
	rows, err := s.db.QueryContext(ctx, `SELECT `+auditColumns+` ORDER BY id`)
	if err != nil {
		return 0, 0, s.wrap(op, err)
	}
	defer rows.Close()
	var prev []byte
	chained, checked := false, 0
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return 0, checked, s.wrap(op, err)
		}
		if !chained && len(e.Hash) == 0 {
			continue // legacy entry
		}
		if !chained {
			chained, prev = true, []byte{} // legacy entries have empty hashes
		}
		checked++
		if !bytes.Equal(e.PrevHash, prev) || !bytes.Equal(e.Hash, AuditHash(prev, e)) {
			return e.ID, checked, nil
		}
		prev = e.Hash
	}
	return 0, checked, s.wrap(op, rows.Err())
}

// GetSetting returns a setting's value (opened if it is one of the sealed
// settings); ErrNotFound if unset.
func (s *DB) GetSetting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err != nil {
		return "", s.wrap("get setting "+key, err)
	}
	if sealedSettings[key] {
		return s.openText(v)
	}
	return v, nil
}

// SetSetting creates or replaces a setting (sealed if it is one of the
// sealed settings).
func (s *DB) SetSetting(ctx context.Context, key, value string) error {
	if sealedSettings[key] {
		var err error
		if value, err = s.sealText(value); err != nil {
			return err
		}
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return s.wrap("set setting "+key, err)
}
