package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

type checkKey struct{ name, key string }

// SaveResults stores a batch in one transaction with prepared statements:
// each result's check row (created on first use), its history row (an ID
// already stored is skipped entirely, so redelivery changes nothing), and the
// check's current state, which only a result at least as new as the stored
// one replaces; changed_at moves only when the status changes. An unknown
// device is ErrNotFound.
func (s *DB) SaveResults(ctx context.Context, deviceID int64, rs []core.Result) error {
	const op = "save results"
	if len(rs) == 0 {
		return nil
	}
	for _, r := range rs {
		if r.ID == "" {
			return fmt.Errorf("store: %s: result without ID: %w", op, core.ErrInvalid)
		}
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		checks, err := s.loadChecks(ctx, tx, deviceID)
		if err != nil {
			return err
		}
		insCheck, err := tx.PrepareContext(ctx, `
			INSERT INTO checks (device_id, name, key) VALUES ($1, $2, $3)
			ON CONFLICT (device_id, name, key) DO NOTHING RETURNING id`)
		if err != nil {
			return s.wrap(op+": prepare", err)
		}
		defer insCheck.Close()
		insResult, err := tx.PrepareContext(ctx, `
			INSERT INTO check_results (id, check_id, device_id, status, value, unit, message_en, message_de, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return s.wrap(op+": prepare", err)
		}
		defer insResult.Close()
		upState, err := tx.PrepareContext(ctx, `
			INSERT INTO check_state (check_id, status, value, unit, message_en, message_de, at, changed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (check_id) DO UPDATE SET
				status = excluded.status,
				value = excluded.value,
				unit = excluded.unit,
				message_en = excluded.message_en,
				message_de = excluded.message_de,
				at = excluded.at,
				changed_at = CASE WHEN check_state.status = excluded.status
					THEN check_state.changed_at ELSE excluded.at END
			WHERE excluded.at >= check_state.at`)
		if err != nil {
			return s.wrap(op+": prepare", err)
		}
		defer upState.Close()

		for _, r := range rs {
			ck := checkKey{r.Check, r.Key}
			checkID, ok := checks[ck]
			if !ok {
				// DO NOTHING returns no row only if a concurrent batch of
				// the same device created the check: read its ID then.
				err := insCheck.QueryRowContext(ctx, deviceID, r.Check, r.Key).Scan(&checkID)
				if errors.Is(err, sql.ErrNoRows) {
					err = tx.QueryRowContext(ctx, `SELECT id FROM checks WHERE device_id = $1 AND name = $2 AND key = $3`,
						deviceID, r.Check, r.Key).Scan(&checkID)
				}
				if err != nil {
					return s.wrap(op+": creating check", err)
				}
				checks[ck] = checkID
			}
			at := ms(r.At)
			value := nullFloat(r.Value)
			res, err := insResult.ExecContext(ctx, r.ID, checkID, deviceID, r.Status.String(), value, r.Unit,
				r.Message.EN, r.Message.DE, at)
			if err != nil {
				return s.wrap(op+": inserting result", err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.wrap(op+": inserting result", err)
			} else if n == 0 {
				continue // already stored: redelivery
			}
			if _, err := upState.ExecContext(ctx, checkID, r.Status.String(), value, r.Unit,
				r.Message.EN, r.Message.DE, at); err != nil {
				return s.wrap(op+": updating state", err)
			}
		}
		return nil
	})
}

func (s *DB) loadChecks(ctx context.Context, tx *sql.Tx, deviceID int64) (map[checkKey]int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, name, key FROM checks WHERE device_id = $1`, deviceID)
	if err != nil {
		return nil, s.wrap("save results: reading checks", err)
	}
	defer rows.Close()
	m := map[checkKey]int64{}
	for rows.Next() {
		var id int64
		var k checkKey
		if err := rows.Scan(&id, &k.name, &k.key); err != nil {
			return nil, s.wrap("save results: reading checks", err)
		}
		m[k] = id
	}
	return m, s.wrap("save results: reading checks", rows.Err())
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
