package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Settings keys of history retention, in days.
const (
	SettingHistoryRawDays    = "history_raw_days"
	SettingHistoryRollupDays = "history_rollup_days"
)

// HistoryRetention says how long history is kept: raw results for RawDays,
// then hourly rollups until RollupDays.
type HistoryRetention struct {
	RawDays, RollupDays int
}

// DefaultHistoryRetention applies while the settings are unset.
var DefaultHistoryRetention = HistoryRetention{RawDays: 14, RollupDays: 400}

// MinHistoryRawDays covers the agent spool's age limit (7 days): result
// IDs are remembered as long as raw history, and a redelivery must still
// find its ID.
const MinHistoryRawDays = 8

// Validate reports a retention that would lose redelivery protection or
// keep rollups shorter than raw history as core.ErrInvalid.
func (r HistoryRetention) Validate() error {
	if r.RawDays < MinHistoryRawDays || r.RollupDays < r.RawDays || r.RollupDays > 100*366 {
		return fmt.Errorf("history retention: raw %d days, rollups %d days (want raw ≥ %d, raw ≤ rollups ≤ 36600): %w",
			r.RawDays, r.RollupDays, MinHistoryRawDays, core.ErrInvalid)
	}
	return nil
}

// HistoryRetention returns the configured retention, defaults where unset.
func (s *DB) HistoryRetention(ctx context.Context) (HistoryRetention, error) {
	r := DefaultHistoryRetention
	for key, dst := range map[string]*int{SettingHistoryRawDays: &r.RawDays, SettingHistoryRollupDays: &r.RollupDays} {
		v, err := s.GetSetting(ctx, key)
		if errors.Is(err, core.ErrNotFound) {
			continue
		}
		if err != nil {
			return r, err
		}
		if *dst, err = strconv.Atoi(v); err != nil {
			return r, fmt.Errorf("store: setting %s = %q: %w", key, v, core.ErrInvalid)
		}
	}
	return r, nil
}

// SetHistoryRetention validates and stores the retention.
func (s *DB) SetHistoryRetention(ctx context.Context, r HistoryRetention) error {
	if err := r.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, "set history retention", func(tx *sql.Tx) error {
		for key, v := range map[string]int{SettingHistoryRawDays: r.RawDays, SettingHistoryRollupDays: r.RollupDays} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, strconv.Itoa(v)); err != nil {
				return s.wrap("set history retention", err)
			}
		}
		return nil
	})
}

// HistoryReport counts what MaintainHistory did.
type HistoryReport struct {
	RolledUp           int64 // raw results folded into rollups and deleted
	PartitionsCreated  int
	PartitionsDropped  int
	RollupsDeleted     int64
	ResultIDsForgotten int64
	TaskRunsDeleted    int64 // runs of automated tasks older than the raw period
	// InventoryChangesDeleted counts inventory changes older than the
	// rollup period.
	InventoryChangesDeleted int64
	// PatchAttemptsDeleted counts install attempts older than
	// PatchAttemptDays; PatchesDeleted the patches first seen before then
	// that no device misses and no decision names.
	PatchAttemptsDeleted, PatchesDeleted int64
	// SupportRequestsDeleted counts support requests done before the
	// rollup period.
	SupportRequestsDeleted int64
}

const (
	hourMS = int64(time.Hour / time.Millisecond)
	dayMS  = 24 * hourMS
	// partitionsAhead is how many days of partitions exist beyond today, so
	// a failing job has a week before rows land in the default partition.
	partitionsAhead = 7
	// rollupCheckChunk is how many checks' aged results one transaction
	// rolls up and deletes, so SQLite's write lock is held briefly.
	rollupCheckChunk = 200
)

// rollupRows bounds the results one transaction rolls up and deletes, for
// a backlog (the first run on a long history, a shorter raw period).
var rollupRows = 5000

// MaintainHistory applies the configured retention at now: raw results
// older than the raw period (cut at a whole hour) are folded into hourly
// rollups (min, mean, max, count and worst status per check and hour;
// folding into an existing hour adds to it) and deleted, rollups older than
// the rollup period are deleted, and on PostgreSQL day partitions are
// created ahead and those wholly past the raw period are rolled up and
// dropped; runs of automated tasks older than the raw period are deleted,
// and inventory changes older than the rollup period; install attempts
// older than PatchAttemptDays, and the patches first seen before then that
// no device misses and no decision names; support requests done before
// the rollup period, with their replies.
// Run it under TrySingleton; each step commits on its own, so an
// interrupted run leaves consistent history and the next run continues.
func (s *DB) MaintainHistory(ctx context.Context, now time.Time) (HistoryReport, error) {
	var rep HistoryReport
	ret, err := s.HistoryRetention(ctx)
	if err != nil {
		return rep, err
	}
	if err := ret.Validate(); err != nil {
		return rep, err
	}
	nowMS := ms(now)
	rawCutoff := (nowMS - int64(ret.RawDays)*dayMS) / hourMS * hourMS
	rollupCutoff := (nowMS - int64(ret.RollupDays)*dayMS) / hourMS * hourMS
	if s.dialect == Postgres {
		if err := s.maintainPartitions(ctx, nowMS, rawCutoff, &rep); err != nil {
			return rep, err
		}
	}
	// What is left: rows of the partition the cutoff falls in, and of the
	// default partition.
	n, err := s.rollUpChunked(ctx, rawCutoff)
	rep.RolledUp += n
	if err != nil {
		return rep, err
	}
	if s.dialect == Postgres {
		// SQLite keeps IDs in check_results itself.
		res, err := s.db.ExecContext(ctx, `DELETE FROM check_result_ids WHERE at < $1`, rawCutoff)
		if err != nil {
			return rep, s.wrap("history: forgetting result IDs", err)
		}
		rep.ResultIDsForgotten, _ = res.RowsAffected()
	}
	res, err := s.db.ExecContext(ctx, `DELETE FROM check_rollups WHERE hour < $1`, rollupCutoff)
	if err != nil {
		return rep, s.wrap("history: deleting rollups", err)
	}
	rep.RollupsDeleted, _ = res.RowsAffected()
	// Task runs are kept as long as raw results, which covers the agent
	// spool's age: a redelivered report still finds its run ID.
	if res, err = s.db.ExecContext(ctx, `DELETE FROM task_runs WHERE started_at < $1`, rawCutoff); err != nil {
		return rep, s.wrap("history: deleting task runs", err)
	}
	rep.TaskRunsDeleted, _ = res.RowsAffected()
	// Inventory changes are as long-lived as the rollups: a year of what
	// was installed and replaced.
	if res, err = s.db.ExecContext(ctx, `DELETE FROM inventory_changes WHERE at < $1`, rollupCutoff); err != nil {
		return rep, s.wrap("history: deleting inventory changes", err)
	}
	rep.InventoryChangesDeleted, _ = res.RowsAffected()
	if rep.PatchAttemptsDeleted, rep.PatchesDeleted, err = s.prunePatches(ctx, nowMS-PatchAttemptDays*dayMS); err != nil {
		return rep, err
	}
	// A year of support requests answers "what did we do for them?";
	// open ones stay until someone closes them.
	if rep.SupportRequestsDeleted, err = s.pruneSupportRequests(ctx, rollupCutoff); err != nil {
		return rep, err
	}
	return rep, nil
}

// agedSQL selects the results of checks $1..$2 before $3, up to the key
// ($4, $5) in (check_id, at) order.
const agedSQL = `check_id BETWEEN $1 AND $2 AND at < $3 AND (check_id < $4 OR (check_id = $4 AND at <= $5))`

// rollUpSQL folds table's results selected by agedSQL into hourly rollups,
// merging into rollups that exist.
func rollUpSQL(table string) string {
	return `
	INSERT INTO check_rollups (check_id, hour, severity, unit, results, n_values, min_value, max_value, sum_value)
	SELECT check_id, at / 3600000 * 3600000, max(` + severitySQL("status") + `), max(unit),
	       count(*), count(value), min(value), max(value), sum(value)
	FROM ` + table + `
	WHERE ` + agedSQL + `
	GROUP BY check_id, at / 3600000 * 3600000
	ON CONFLICT (check_id, hour) DO UPDATE SET
		severity = CASE WHEN excluded.severity > check_rollups.severity THEN excluded.severity ELSE check_rollups.severity END,
		unit = excluded.unit,
		results = check_rollups.results + excluded.results,
		n_values = check_rollups.n_values + excluded.n_values,
		min_value = COALESCE(CASE WHEN excluded.min_value < check_rollups.min_value THEN excluded.min_value ELSE check_rollups.min_value END, excluded.min_value),
		max_value = COALESCE(CASE WHEN excluded.max_value > check_rollups.max_value THEN excluded.max_value ELSE check_rollups.max_value END, excluded.max_value),
		sum_value = COALESCE(check_rollups.sum_value + excluded.sum_value, check_rollups.sum_value, excluded.sum_value)`
}

// everything is the arguments of agedSQL that select a whole table.
var everything = []any{int64(math.MinInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64), int64(math.MaxInt64)}

// rollUpChunked rolls up and deletes the results before cutoff, one
// transaction per range of rollupCheckChunk check IDs and at most
// rollupRows results (the (check_id, at) index finds them), and returns
// how many results it folded.
func (s *DB) rollUpChunked(ctx context.Context, cutoff int64) (int64, error) {
	const op = "history: rolling up"
	var maxID sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT max(id) FROM checks`).Scan(&maxID); err != nil {
		return 0, s.wrap(op, err)
	}
	var total int64
	for lo := int64(0); lo <= maxID.Int64; lo += rollupCheckChunk {
		hi := lo + rollupCheckChunk - 1
		for {
			// The key of the rollupRows-th result ends this transaction's share.
			var kc, ka int64
			err := s.db.QueryRowContext(ctx, `SELECT check_id, at FROM check_results
				WHERE check_id BETWEEN $1 AND $2 AND at < $3
				ORDER BY check_id, at LIMIT 1 OFFSET $4`, lo, hi, cutoff, rollupRows-1).Scan(&kc, &ka)
			last := errors.Is(err, sql.ErrNoRows)
			if last {
				kc, ka = hi, cutoff
			} else if err != nil {
				return total, s.wrap(op, err)
			}
			n, err := s.rollUp(ctx, lo, hi, cutoff, kc, ka)
			total += n
			if err != nil {
				return total, err
			}
			if last {
				break
			}
		}
	}
	return total, nil
}

// rollUp folds and deletes the results agedSQL selects in one transaction.
// Both statements must see the same rows: SQLite's write lock keeps other
// writers out; PostgreSQL reads one snapshot for the transaction, so a late
// result committed in between is neither folded nor deleted but left for
// the next run.
func (s *DB) rollUp(ctx context.Context, args ...any) (int64, error) {
	const op = "history: rolling up"
	var n int64
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
				return s.wrap(op, err)
			}
		}
		if _, err := tx.ExecContext(ctx, rollUpSQL("check_results"), args...); err != nil {
			return s.wrap(op, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM check_results WHERE `+agedSQL, args...)
		if err != nil {
			return s.wrap(op+": deleting", err)
		}
		n, err = res.RowsAffected()
		return s.wrap(op, err)
	})
	return n, err
}

// severitySQL maps a status column to core.Status.Severity, statusOfSeveritySQL back.
func severitySQL(col string) string {
	return statusCase(col, func(st core.Status) (string, string) {
		return "'" + st.String() + "'", strconv.Itoa(st.Severity())
	})
}

func statusOfSeveritySQL(col string) string {
	return statusCase(col, func(st core.Status) (string, string) {
		return strconv.Itoa(st.Severity()), "'" + st.String() + "'"
	})
}

func statusCase(col string, when func(core.Status) (string, string)) string {
	var b strings.Builder
	b.WriteString("CASE " + col)
	for st := core.StatusUnknown; st <= core.StatusUnsupported; st++ {
		k, v := when(st)
		b.WriteString(" WHEN " + k + " THEN " + v)
	}
	b.WriteString(" END")
	return b.String()
}

// Day partitions of check_results (PostgreSQL) are named by their UTC date.
const partitionPrefix = "check_results_p"

func partitionName(dayStart int64) string {
	return partitionPrefix + fromMS(dayStart).Format("20060102")
}

// partitionDay parses a partition's name back to its day's start.
func partitionDay(name string) (int64, bool) {
	d, ok := strings.CutPrefix(name, partitionPrefix)
	if !ok || len(d) != 8 {
		return 0, false
	}
	t, err := time.Parse("20060102", d)
	if err != nil {
		return 0, false
	}
	return ms(t), true
}

// maintainPartitions creates the day partitions from the raw cutoff's day
// to partitionsAhead days after now, and rolls up and drops those that end
// at or before the cutoff, also ones a previous run detached but did not
// drop.
func (s *DB) maintainPartitions(ctx context.Context, nowMS, rawCutoff int64, rep *HistoryReport) error {
	const op = "history: partitions"
	rows, err := s.db.QueryContext(ctx, `SELECT relname, relispartition FROM pg_class
		WHERE relkind = 'r' AND starts_with(relname, $1)
		  AND relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = 'check_results'::regclass)`, partitionPrefix)
	if err != nil {
		return s.wrap(op, err)
	}
	attached, detached := map[int64]bool{}, map[int64]bool{}
	for rows.Next() {
		var name string
		var part bool
		if err := rows.Scan(&name, &part); err != nil {
			rows.Close()
			return s.wrap(op, err)
		}
		if day, ok := partitionDay(name); ok {
			if part {
				attached[day] = true
			} else {
				detached[day] = true
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap(op, err)
	}
	for day := range attached {
		if day+dayMS <= rawCutoff {
			// Detached in a transaction of its own: DETACH locks the whole
			// history, the rollup after it only the detached table.
			if _, err := s.db.ExecContext(ctx, `ALTER TABLE check_results DETACH PARTITION `+partitionName(day)); err != nil {
				return s.wrap(op+": detaching", err)
			}
			detached[day] = true
		}
	}
	for day := range detached {
		name := partitionName(day)
		err := s.inTx(ctx, op, func(tx *sql.Tx) error {
			var count int64
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+name).Scan(&count); err != nil {
				return s.wrap(op, err)
			}
			if _, err := tx.ExecContext(ctx, rollUpSQL(name), everything...); err != nil {
				return s.wrap(op+": rolling up "+name, err)
			}
			if _, err := tx.ExecContext(ctx, `DROP TABLE `+name); err != nil {
				return s.wrap(op+": dropping "+name, err)
			}
			rep.RolledUp += count
			rep.PartitionsDropped++
			return nil
		})
		if err != nil {
			return err
		}
	}
	last := nowMS/dayMS*dayMS + partitionsAhead*dayMS
	for day := rawCutoff / dayMS * dayMS; day <= last; day += dayMS {
		if attached[day] {
			continue
		}
		if err := s.createPartition(ctx, day); err != nil {
			return err
		}
		rep.PartitionsCreated++
	}
	return nil
}

// createPartition creates the partition of the day starting at day, moving
// the day's rows out of the default partition first (attaching a range
// that the default partition holds rows of fails).
func (s *DB) createPartition(ctx context.Context, day int64) error {
	const op = "history: creating partition"
	name := partitionName(day)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		stmts := []string{
			`CREATE TABLE ` + name + ` (LIKE check_results INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`,
			`WITH moved AS (DELETE FROM check_results_default WHERE at >= $1 AND at < $2 RETURNING *)
			 INSERT INTO ` + name + ` SELECT * FROM moved`,
			`ALTER TABLE check_results ATTACH PARTITION ` + name + ` FOR VALUES FROM (` +
				strconv.FormatInt(day, 10) + `) TO (` + strconv.FormatInt(day+dayMS, 10) + `)`,
		}
		for i, q := range stmts {
			var err error
			if i == 1 {
				_, err = tx.ExecContext(ctx, q, day, day+dayMS)
			} else {
				_, err = tx.ExecContext(ctx, q)
			}
			if err != nil {
				return s.wrap(op+" "+name, err)
			}
		}
		return nil
	})
}
