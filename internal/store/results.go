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
// entirely, so redelivery changes nothing; an ID repeated within the batch
// counts once, as first given), and the check's current state, which only a
// result at least as new as the stored one replaces; changed_at moves only
// when the status changes. Results are applied in batch order. An unknown
// device is ErrNotFound. Results with Key protocol.TaskResultKey are runs
// of automated tasks, stored as such (taskruns.go), not as check results.
//
// Round trips dominate, so the batch takes a fixed few of them however
// large it is: history rows go in multi-row statements (PostgreSQL: one
// statement over arrays), and each touched check's state, computed in Go
// from the stored state, is written in one more. The device row is locked
// first (without writing it), so concurrent batches of one device cannot
// interleave between reading and writing state.
func (s *DB) SaveResults(ctx context.Context, deviceID int64, rs []core.Result) error {
	const op = "save results"
	if len(rs) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(rs))
	uniq := rs[:0:0]
	for _, r := range rs {
		if r.ID == "" || r.Check == "" {
			return fmt.Errorf("store: %s: result without ID or check name: %w", op, core.ErrInvalid)
		}
		if !seen[r.ID] {
			seen[r.ID] = true
			uniq = append(uniq, r)
		}
	}
	rs, tasks := splitTaskRuns(uniq)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		// SQLite's immediate transaction already holds the database's
		// write lock; PostgreSQL locks the row without a new row version.
		// The lock is a statement of its own: in one statement with the
		// reading of the checks, PostgreSQL would read them from the
		// snapshot taken before waiting for the lock.
		lock := `SELECT 1 FROM devices WHERE id = $1`
		if s.dialect == Postgres {
			lock += ` FOR NO KEY UPDATE`
		}
		var one int
		if err := tx.QueryRowContext(ctx, lock, deviceID).Scan(&one); err != nil {
			return s.wrap(op+": locking device", err)
		}
		if len(tasks) > 0 {
			if err := s.insertTaskRuns(ctx, tx, deviceID, tasks); err != nil {
				return err
			}
		}
		if len(rs) == 0 {
			return nil
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

		insert := s.insertResults
		if s.dialect == Postgres {
			insert = s.insertResultsPG
		}
		inserted, err := insert(ctx, tx, deviceID, rs, checkIDs)
		if err != nil {
			return err
		}
		var dirty []*checkRow
		for _, r := range rs {
			if !inserted[r.ID] {
				continue // stored before: a redelivery
			}
			c := checks[checkKey{r.Check, r.Key}]
			at := ms(r.At)
			if c.hasState && at < c.at {
				continue // older than the current state: history only
			}
			st := r.Status.String()
			if !c.hasState || st != c.status {
				c.changedAt = at
			}
			if !c.dirty {
				dirty = append(dirty, c)
			}
			c.hasState, c.dirty = true, true
			c.status, c.value, c.unit, c.en, c.de, c.at = st, r.Value, r.Unit, r.Message.EN, r.Message.DE, at
		}
		save := s.saveStates
		if s.dialect == Postgres {
			save = s.saveStatesPG
		}
		if len(dirty) == 0 {
			return nil
		}
		if err := save(ctx, tx, dirty); err != nil {
			return err
		}
		return s.refreshWorst(ctx, tx, deviceID)
	})
}

// upsertStateSQL ends the state upsert of both engines.
const upsertStateSQL = `
	ON CONFLICT (check_id) DO UPDATE SET
		status = excluded.status,
		value = excluded.value,
		unit = excluded.unit,
		message_en = excluded.message_en,
		message_de = excluded.message_de,
		at = excluded.at,
		changed_at = excluded.changed_at`

// saveStates writes check states in multi-row upserts (SQLite).
func (s *DB) saveStates(ctx context.Context, tx *sql.Tx, cs []*checkRow) error {
	return s.chunked(ctx, tx, "save results: updating state", len(cs), sqliteChunk,
		func(n int) string {
			return `INSERT INTO check_state (check_id, status, value, unit, message_en, message_de, at, changed_at) VALUES ` +
				valuesSQL(n, 8) + upsertStateSQL
		},
		func(args []any, i int) []any {
			c := cs[i]
			return append(args, c.id, c.status, nullFloat(c.value), c.unit, c.en, c.de, c.at, c.changedAt)
		}, nil)
}

// insertResults writes history rows in multi-row INSERTs (SQLite), skipping
// IDs already stored, and returns the set of IDs it inserted.
func (s *DB) insertResults(ctx context.Context, tx *sql.Tx, deviceID int64, rs []core.Result, checkIDs []int64) (map[string]bool, error) {
	inserted := make(map[string]bool, len(rs))
	err := s.chunked(ctx, tx, "save results: inserting history", len(rs), sqliteChunk,
		func(n int) string {
			return `INSERT INTO check_results (id, check_id, device_id, status, value, unit, message_en, message_de, at, data) VALUES ` +
				valuesSQL(n, 10) + ` ON CONFLICT (id) DO NOTHING RETURNING id`
		},
		func(args []any, i int) []any {
			r := rs[i]
			return append(args, r.ID, checkIDs[i], deviceID, r.Status.String(), nullFloat(r.Value), r.Unit,
				r.Message.EN, r.Message.DE, ms(r.At), string(r.Data))
		},
		func(rows *sql.Rows) error {
			var id string
			err := rows.Scan(&id)
			inserted[id] = true
			return err
		})
	return inserted, err
}

// chunked runs a multi-row statement over n rows, at most chunk rows a
// statement, each statement text (built by stmt for its row count) prepared
// once. row appends row i's arguments. If returned is set, the statement
// returns rows, which returned scans one by one.
func (s *DB) chunked(ctx context.Context, tx *sql.Tx, op string, n, chunk int,
	stmt func(rows int) string, row func(args []any, i int) []any, returned func(*sql.Rows) error) error {
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	var args []any
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		st, ok := stmts[hi-lo]
		if !ok {
			var err error
			if st, err = tx.PrepareContext(ctx, stmt(hi-lo)); err != nil {
				return s.wrap(op+": prepare", err)
			}
			stmts[hi-lo] = st
		}
		args = args[:0]
		for i := lo; i < hi; i++ {
			args = row(args, i)
		}
		if returned == nil {
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return s.wrap(op, err)
			}
			continue
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return s.wrap(op, err)
		}
		for rows.Next() {
			if err := returned(rows); err != nil {
				rows.Close()
				return s.wrap(op, err)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(op, err)
		}
	}
	return nil
}

// sqliteChunk is how many rows one multi-row SQLite statement carries
// (BenchmarkSaveResults: 100 beat 8, 32, 250 and 500).
const sqliteChunk = 100

// valuesSQL is "(?, …), …" for rows rows of cols columns, for SQLite's
// multi-row statements. Unlike everywhere else these are anonymous
// parameters: the driver looks each $N up by name in a list, quadratic in
// their number, which cost a fifth of SaveResults at 72 parameters and
// ruled out larger statements; ? binds by position.
func valuesSQL(rows, cols int) string {
	var b strings.Builder
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		b.WriteByte(')')
	}
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

// ListResults returns the device's raw history at or after since, newest
// first, at most limit rows (limit ≤ 0: all). It goes through the device's
// checks, so history needs no index by device.
func (s *DB) ListResults(ctx context.Context, deviceID int64, since time.Time, limit int) ([]core.Result, error) {
	const op = "listing results"
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = ms(since)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.id, ch.name, ch.key, r.status, r.value, r.unit, r.message_en, r.message_de, r.at
		FROM checks ch JOIN check_results r ON r.check_id = ch.id
		WHERE ch.device_id = $1 AND r.at >= $2
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

// CountResults returns the number of raw history rows of the device.
func (s *DB) CountResults(ctx context.Context, deviceID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `
		SELECT count(*) FROM checks ch JOIN check_results r ON r.check_id = ch.id WHERE ch.device_id = $1`, deviceID).Scan(&n)
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

// checkHistorySQL lists one check's raw results and hourly rollups, newest
// first; its plan is tested to use the check_results (check_id, at) index.
// A rollup is listed if its hour ends after since and starts before until.
var checkHistorySQL = `
	WITH c AS (SELECT id FROM checks WHERE device_id = $1 AND name = $2 AND key = $3)
	SELECT r.id, r.status, r.value, r.unit, r.message_en, r.message_de, r.at,
	       0, CAST(NULL AS DOUBLE PRECISION), CAST(NULL AS DOUBLE PRECISION)
	FROM check_results r
	WHERE r.check_id = (SELECT id FROM c) AND r.at >= $4 AND r.at < $6
	UNION ALL
	SELECT '', ` + statusOfSeveritySQL("u.severity") + `,
	       CASE WHEN u.n_values > 0 THEN u.sum_value / u.n_values END, u.unit, '', '', u.hour,
	       u.results, u.min_value, u.max_value
	FROM check_rollups u
	WHERE u.check_id = (SELECT id FROM c) AND u.hour > $4 - 3600000 AND u.hour < $6
	ORDER BY 7 DESC, 1 DESC
	LIMIT $5`

// ListCheckHistory returns the history of one check instance of the device
// at or after since and before until (zero: no bound), newest first, at
// most limit rows (limit ≤ 0: all):
// raw results, and hourly rollups where raw results aged out (see
// core.Result.Rollup). The check is resolved to its row first so the scan
// runs on the check_results (check_id, at) index, not over the whole
// device's history.
func (s *DB) ListCheckHistory(ctx context.Context, deviceID int64, check, key string, since, until time.Time, limit int) ([]core.Result, error) {
	const op = "listing check history"
	from, to := int64(math.MinInt64/2), int64(math.MaxInt64) // room for the rollups' hour
	if !since.IsZero() {
		from = ms(since)
	}
	if !until.IsZero() {
		to = ms(until)
	}
	rows, err := s.db.QueryContext(ctx, checkHistorySQL, deviceID, check, key, from, limitOrAll(limit), to)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Result
	for rows.Next() {
		r := core.Result{Check: check, Key: key}
		var status string
		var value, lo, hi sql.NullFloat64
		var at, n int64
		if err := rows.Scan(&r.ID, &status, &value, &r.Unit, &r.Message.EN, &r.Message.DE, &at, &n, &lo, &hi); err != nil {
			return nil, s.wrap(op, err)
		}
		r.Status, r.Value, r.At = core.ParseStatus(status), floatPtr(value), fromMS(at)
		if n > 0 {
			r.Rollup = &core.Rollup{Results: int(n), Min: floatPtr(lo), Max: floatPtr(hi)}
		}
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
