package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

type checkKey struct{ name, key string }

// checkRow is a check of the device with its current state, if any.
type checkRow struct {
	id              int64
	hasState, dirty bool
	status          string
	value           *float64
	unit, en, de    string
	at, changedAt   int64
}

// SaveResults stores a batch in one transaction: each result's check row
// (created on first use), its history row (an ID already stored is skipped
// entirely, so redelivery changes nothing), and the check's current state,
// which only a result at least as new as the stored one replaces; changed_at
// moves only when the status changes. Results are applied in batch order.
// An unknown device is ErrNotFound.
//
// To keep round trips few (they dominate on PostgreSQL), history rows go in
// multi-row INSERTs and each touched check's state is written once, computed
// in Go from the stored state. The device row is locked first, so concurrent
// batches of one device cannot interleave between reading and writing state.
func (s *DB) SaveResults(ctx context.Context, deviceID int64, rs []core.Result) error {
	const op = "save results"
	if len(rs) == 0 {
		return nil
	}
	for _, r := range rs {
		if r.ID == "" || r.Check == "" {
			return fmt.Errorf("store: %s: result without ID or check name: %w", op, core.ErrInvalid)
		}
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE devices SET state = state WHERE id = $1`, deviceID)
		if err := s.affectedOne(op+": locking device", res, err); err != nil {
			return err
		}
		checks, err := s.loadChecks(ctx, tx, deviceID)
		if err != nil {
			return err
		}
		checkIDs := make([]int64, len(rs))
		for i, r := range rs {
			ck := checkKey{r.Check, r.Key}
			c, ok := checks[ck]
			if !ok {
				c = &checkRow{}
				err := tx.QueryRowContext(ctx, `INSERT INTO checks (device_id, name, key) VALUES ($1, $2, $3) RETURNING id`,
					deviceID, r.Check, r.Key).Scan(&c.id)
				if err != nil {
					return s.wrap(op+": creating check", err)
				}
				checks[ck] = c
			}
			checkIDs[i] = c.id
		}

		inserted, err := s.insertResults(ctx, tx, deviceID, rs, checkIDs)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if !inserted[r.ID] {
				continue // stored before (redelivery), or repeated in this batch
			}
			delete(inserted, r.ID)
			c := checks[checkKey{r.Check, r.Key}]
			at := ms(r.At)
			if c.hasState && at < c.at {
				continue // older than the current state: history only
			}
			st := r.Status.String()
			if !c.hasState || st != c.status {
				c.changedAt = at
			}
			c.hasState, c.dirty = true, true
			c.status, c.value, c.unit, c.en, c.de, c.at = st, r.Value, r.Unit, r.Message.EN, r.Message.DE, at
		}

		upState, err := tx.PrepareContext(ctx, `
			INSERT INTO check_state (check_id, status, value, unit, message_en, message_de, at, changed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (check_id) DO UPDATE SET
				status = excluded.status,
				value = excluded.value,
				unit = excluded.unit,
				message_en = excluded.message_en,
				message_de = excluded.message_de,
				at = excluded.at,
				changed_at = excluded.changed_at`)
		if err != nil {
			return s.wrap(op+": prepare", err)
		}
		defer upState.Close()
		for _, c := range checks {
			if !c.dirty {
				continue
			}
			if _, err := upState.ExecContext(ctx, c.id, c.status, nullFloat(c.value), c.unit, c.en, c.de,
				c.at, c.changedAt); err != nil {
				return s.wrap(op+": updating state", err)
			}
		}
		return nil
	})
}

// insertResults writes history rows in chunks, skipping IDs already
// stored, and returns the set of IDs it inserted.
func (s *DB) insertResults(ctx context.Context, tx *sql.Tx, deviceID int64, rs []core.Result, checkIDs []int64) (map[string]bool, error) {
	const op = "save results: inserting history"
	inserted := make(map[string]bool, len(rs))
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	chunk := s.resultChunk
	args := make([]any, 0, 9*chunk)
	for lo := 0; lo < len(rs); lo += chunk {
		hi := min(lo+chunk, len(rs))
		n := hi - lo
		st, ok := stmts[n]
		if !ok {
			var err error
			if st, err = tx.PrepareContext(ctx, insertResultsSQL(n)); err != nil {
				return nil, s.wrap(op+": prepare", err)
			}
			stmts[n] = st
		}
		args = args[:0]
		for i := lo; i < hi; i++ {
			r := rs[i]
			args = append(args, r.ID, checkIDs[i], deviceID, r.Status.String(), nullFloat(r.Value), r.Unit,
				r.Message.EN, r.Message.DE, ms(r.At))
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, s.wrap(op, err)
			}
			inserted[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(op, err)
		}
	}
	return inserted, nil
}

// insertResultsSQL is a multi-row history INSERT for n results.
func insertResultsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO check_results (id, check_id, device_id, status, value, unit, message_en, message_de, at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		p := i*9 + 1
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p, p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8)
	}
	b.WriteString(` ON CONFLICT (id) DO NOTHING RETURNING id`)
	return b.String()
}

func (s *DB) loadChecks(ctx context.Context, tx *sql.Tx, deviceID int64) (map[checkKey]*checkRow, error) {
	const op = "save results: reading checks"
	rows, err := tx.QueryContext(ctx, `
		SELECT ch.id, ch.name, ch.key, cs.status, cs.value, cs.unit, cs.message_en, cs.message_de, cs.at, cs.changed_at
		FROM checks ch LEFT JOIN check_state cs ON cs.check_id = ch.id
		WHERE ch.device_id = $1`, deviceID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	m := map[checkKey]*checkRow{}
	for rows.Next() {
		var k checkKey
		c := &checkRow{}
		var status, unit, en, de sql.NullString
		var value sql.NullFloat64
		var at, changed sql.NullInt64
		if err := rows.Scan(&c.id, &k.name, &k.key, &status, &value, &unit, &en, &de, &at, &changed); err != nil {
			return nil, s.wrap(op, err)
		}
		if status.Valid {
			c.hasState = true
			c.status, c.value, c.unit, c.en, c.de = status.String, floatPtr(value), unit.String, en.String, de.String
			c.at, c.changedAt = at.Int64, changed.Int64
		}
		m[k] = c
	}
	return m, s.wrap(op, rows.Err())
}

// ListCheckStates returns the current state of every check of the device
// that has reported, sorted by name and key (byte order in both engines).
func (s *DB) ListCheckStates(ctx context.Context, deviceID int64) ([]core.CheckState, error) {
	const op = "listing check states"
	rows, err := s.db.QueryContext(ctx, `
		SELECT ch.id, ch.device_id, ch.name, ch.key, cs.status, cs.value, cs.unit,
		       cs.message_en, cs.message_de, cs.at, cs.changed_at
		FROM checks ch JOIN check_state cs ON cs.check_id = ch.id
		WHERE ch.device_id = $1
		ORDER BY ch.name, ch.key`, deviceID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return s.scanCheckStates(op, rows)
}

// ListResults returns the device's history at or after since, newest first,
// at most limit rows (limit ≤ 0: all).
func (s *DB) ListResults(ctx context.Context, deviceID int64, since time.Time, limit int) ([]core.Result, error) {
	const op = "listing results"
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = ms(since)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.id, ch.name, ch.key, r.status, r.value, r.unit, r.message_en, r.message_de, r.at
		FROM check_results r JOIN checks ch ON ch.id = r.check_id
		WHERE r.device_id = $1 AND r.at >= $2
		ORDER BY r.at DESC, r.id DESC
		LIMIT $3`, deviceID, from, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Result
	for rows.Next() {
		var r core.Result
		var status string
		var value sql.NullFloat64
		var at int64
		if err := rows.Scan(&r.ID, &r.Check, &r.Key, &status, &value, &r.Unit, &r.Message.EN, &r.Message.DE, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		r.Status, r.Value, r.At = core.ParseStatus(status), floatPtr(value), fromMS(at)
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}

// CountResults returns the number of history rows of the device.
func (s *DB) CountResults(ctx context.Context, deviceID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM check_results WHERE device_id = $1`, deviceID).Scan(&n)
	return n, s.wrap("counting results", err)
}

func nullFloat(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func floatPtr(v sql.NullFloat64) *float64 {
	if !v.Valid {
		return nil
	}
	f := v.Float64
	return &f
}

// checkHistorySQL lists one check's results; its plan is tested to use the
// check_results (check_id, at) index.
const checkHistorySQL = `
	SELECT r.id, r.status, r.value, r.unit, r.message_en, r.message_de, r.at
	FROM check_results r
	WHERE r.check_id = (SELECT id FROM checks WHERE device_id = $1 AND name = $2 AND key = $3)
	  AND r.at >= $4
	ORDER BY r.at DESC, r.id DESC
	LIMIT $5`

// ListCheckHistory returns the history of one check instance of the device
// at or after since, newest first, at most limit rows (limit ≤ 0: all). The
// check is resolved to its row first so the scan runs on the
// check_results (check_id, at) index, not over the whole device's history.
func (s *DB) ListCheckHistory(ctx context.Context, deviceID int64, check, key string, since time.Time, limit int) ([]core.Result, error) {
	const op = "listing check history"
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = ms(since)
	}
	rows, err := s.db.QueryContext(ctx, checkHistorySQL, deviceID, check, key, from, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Result
	for rows.Next() {
		r := core.Result{Check: check, Key: key}
		var status string
		var value sql.NullFloat64
		var at int64
		if err := rows.Scan(&r.ID, &status, &value, &r.Unit, &r.Message.EN, &r.Message.DE, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		r.Status, r.Value, r.At = core.ParseStatus(status), floatPtr(value), fromMS(at)
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}

// scanCheckStates reads rows of (check id, device id, name, key, status,
// value, unit, message_en, message_de, at, changed_at) and closes them.
func (s *DB) scanCheckStates(op string, rows *sql.Rows) ([]core.CheckState, error) {
	defer rows.Close()
	var out []core.CheckState
	for rows.Next() {
		var c core.CheckState
		var status string
		var value sql.NullFloat64
		var at, changed int64
		if err := rows.Scan(&c.CheckID, &c.DeviceID, &c.Name, &c.Key, &status, &value, &c.Unit,
			&c.Message.EN, &c.Message.DE, &at, &changed); err != nil {
			return nil, s.wrap(op, err)
		}
		c.Status, c.Value, c.At, c.ChangedAt = core.ParseStatus(status), floatPtr(value), fromMS(at), fromMS(changed)
		out = append(out, c)
	}
	return out, s.wrap(op, rows.Err())
}
