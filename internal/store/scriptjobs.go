package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Script jobs and runs (migration 0021); package jobs and their runs'
// outcomes (0030).

// CreateScriptJob stores a job and one queued run per device.
func (s *DB) CreateScriptJob(ctx context.Context, j *core.ScriptJob, queued []core.ScriptRun) ([]core.ScriptRun, error) {
	params, err := json.Marshal(orEmptyMap(j.Params))
	if err != nil {
		return nil, fmt.Errorf("store: encoding job parameters: %w", err)
	}
	names, err := json.Marshal(emptyIfNil(j.SecretNames))
	if err != nil {
		return nil, fmt.Errorf("store: encoding job secret names: %w", err)
	}
	at := orNow(j.CreatedAt)
	var sealed, scriptID, packageID any
	if len(j.Sealed) > 0 {
		sealed = j.Sealed
	}
	if j.Action == "" {
		j.Action = core.JobScript
	}
	if j.IsPackage() {
		packageID = j.PackageID
	} else {
		scriptID = j.ScriptID
	}
	var runs []core.ScriptRun
	err = s.inTx(ctx, "creating script job", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO script_jobs (script_id, script_version, params, secret_names, sealed, target, created_by, created_at, expires_at,
				action, package_id, package_name, package_version, package_mac, timeout_seconds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
			scriptID, j.ScriptVersion, string(params), string(names), sealed, j.Target, j.CreatedBy, ms(at), ms(j.ExpiresAt),
			j.Action, packageID, j.PackageName, j.PackageVersion, j.PackageMAC, j.TimeoutSeconds).Scan(&j.ID); err != nil {
			return s.wrap("creating script job", err)
		}
		for _, q := range queued {
			r := core.ScriptRun{ID: q.ID, JobID: j.ID, DeviceID: q.DeviceID, State: core.RunQueued, QueuedAt: at, MAC: q.MAC}
			jobOf(&r, *j)
			if r.ID == "" {
				r.ID = uuid.NewString()
			}
			runs = append(runs, r)
		}
		// Many rows per statement: one round trip per chunk, not per run.
		for chunk := range slices.Chunk(runs, 500) {
			var ph []string
			var args []any
			for _, r := range chunk {
				n := len(args)
				ph = append(ph, fmt.Sprintf("($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6))
				args = append(args, r.ID, r.JobID, r.DeviceID, r.State, ms(at), r.MAC)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO script_runs (id, job_id, device_id, state, queued_at, mac) VALUES `+
				strings.Join(ph, ", "), args...); err != nil {
				return s.wrap("queueing script runs", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	j.CreatedAt = at
	return runs, nil
}

// jobOf copies what a run shows of its job.
func jobOf(r *core.ScriptRun, j core.ScriptJob) {
	r.ScriptID, r.ScriptName, r.ScriptVersion = j.ScriptID, j.ScriptName, j.ScriptVersion
	r.Action, r.PackageID, r.PackageName, r.PackageVersion = j.Action, j.PackageID, j.PackageName, j.PackageVersion
}

// due selects the runs (r) whose retry time has come ($2 is now);
// dueAt3 is due with now as $3. runTimeout is a claimed run's timeout in
// milliseconds: its script version's, or its package job's.
const (
	due        = `(r.not_before IS NULL OR r.not_before <= $2)`
	dueAt3     = `(r.not_before IS NULL OR r.not_before <= $3)`
	runTimeout = `1000 * (SELECT COALESCE(v.timeout_seconds, j.timeout_seconds) FROM script_jobs j
		LEFT JOIN script_versions v ON v.script_id = j.script_id AND v.version = j.script_version WHERE j.id = script_runs.job_id)`
)

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

const jobSelect = `SELECT j.id, COALESCE(j.script_id, 0), j.script_version, COALESCE(s.name, ''), j.params, j.secret_names, j.sealed, j.target,
	j.created_by, j.created_at, j.expires_at, j.action, COALESCE(j.package_id, 0), j.package_name, j.package_version, j.package_mac,
	j.timeout_seconds FROM script_jobs j LEFT JOIN scripts s ON s.id = j.script_id `

func scanJob(r rowScanner) (core.ScriptJob, error) {
	var j core.ScriptJob
	var params, names string
	var cAt, eAt int64
	if err := r.Scan(&j.ID, &j.ScriptID, &j.ScriptVersion, &j.ScriptName, &params, &names, &j.Sealed, &j.Target,
		&j.CreatedBy, &cAt, &eAt, &j.Action, &j.PackageID, &j.PackageName, &j.PackageVersion, &j.PackageMAC, &j.TimeoutSeconds); err != nil {
		return j, err
	}
	if err := json.Unmarshal([]byte(params), &j.Params); err != nil {
		return j, fmt.Errorf("job %d: parameters: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(names), &j.SecretNames); err != nil {
		return j, fmt.Errorf("job %d: secret names: %w", j.ID, err)
	}
	j.CreatedAt, j.ExpiresAt = fromMS(cAt), fromMS(eAt)
	return j, nil
}

// GetScriptJob returns one job.
func (s *DB) GetScriptJob(ctx context.Context, id int64) (core.ScriptJob, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, jobSelect+`WHERE j.id = $1`, id))
	return j, s.wrap(fmt.Sprintf("getting script job %d", id), err)
}

// ListScriptJobs returns the newest jobs and the counts of their runs.
func (s *DB) ListScriptJobs(ctx context.Context, limit int) ([]core.ScriptJob, []core.ScriptRunCount, error) {
	const op = "listing script jobs"
	rows, err := s.db.QueryContext(ctx, jobSelect+`ORDER BY j.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, nil, s.wrap(op, err)
	}
	defer rows.Close()
	jobs := []core.ScriptJob{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, nil, s.wrap(op, err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil || len(jobs) == 0 {
		return jobs, nil, s.wrap(op, err)
	}
	// The jobs are the newest ones, so every run of an ID from the oldest
	// on belongs to one of them or to a job created since.
	crows, err := s.db.QueryContext(ctx, `SELECT r.job_id, si.client_id, r.state, COUNT(*) FROM script_runs r
		JOIN devices d ON d.id = r.device_id JOIN sites si ON si.id = d.site_id
		WHERE r.job_id >= $1 AND r.job_id <= $2 GROUP BY r.job_id, si.client_id, r.state ORDER BY r.job_id DESC, si.client_id, r.state`,
		jobs[len(jobs)-1].ID, jobs[0].ID)
	if err != nil {
		return nil, nil, s.wrap(op, err)
	}
	defer crows.Close()
	counts := []core.ScriptRunCount{}
	for crows.Next() {
		var c core.ScriptRunCount
		if err := crows.Scan(&c.JobID, &c.ClientID, &c.State, &c.Runs); err != nil {
			return nil, nil, s.wrap(op, err)
		}
		counts = append(counts, c)
	}
	return jobs, counts, s.wrap(op, crows.Err())
}

const runSelect = `SELECT r.id, r.job_id, r.device_id, d.hostname, si.client_id, COALESCE(j.script_id, 0), COALESCE(s.name, ''), j.script_version,
	r.state, r.attempts, r.exit_code, r.stdout, r.stderr, r.truncated, r.timed_out, r.duration_ms, r.error_code,
	r.error_en, r.error_de, r.queued_at, r.started_at, r.finished_at,
	j.action, COALESCE(j.package_id, 0), j.package_name, j.package_version, r.meaning, r.reboot_needed, r.sw_state, r.sw_version,
	r.retries, r.not_before
	FROM script_runs r JOIN script_jobs j ON j.id = r.job_id LEFT JOIN scripts s ON s.id = j.script_id
	JOIN devices d ON d.id = r.device_id JOIN sites si ON si.id = d.site_id `

func scanRun(r rowScanner) (core.ScriptRun, error) {
	var x core.ScriptRun
	var exit sql.NullInt64
	var trunc, timedOut, reboot int
	var qAt int64
	var sAt, fAt, nb sql.NullInt64
	if err := r.Scan(&x.ID, &x.JobID, &x.DeviceID, &x.Hostname, &x.ClientID, &x.ScriptID, &x.ScriptName, &x.ScriptVersion,
		&x.State, &x.Attempts, &exit, &x.Stdout, &x.Stderr, &trunc, &timedOut, &x.DurationMS, &x.ErrorCode,
		&x.Error.EN, &x.Error.DE, &qAt, &sAt, &fAt,
		&x.Action, &x.PackageID, &x.PackageName, &x.PackageVersion, &x.Meaning, &reboot, &x.SWState, &x.SWVersion,
		&x.Retries, &nb); err != nil {
		return x, err
	}
	x.RebootNeeded, x.NotBefore = reboot != 0, timePtr(nb)
	if exit.Valid {
		c := int(exit.Int64)
		x.ExitCode = &c
	}
	x.Truncated, x.TimedOut = trunc != 0, timedOut != 0
	x.QueuedAt, x.StartedAt, x.FinishedAt = fromMS(qAt), timePtr(sAt), timePtr(fAt)
	return x, nil
}

// ListScriptRuns returns a job's runs by device, or a device's runs with
// its task runs newest first (see deviceRuns).
func (s *DB) ListScriptRuns(ctx context.Context, f core.ScriptRunFilter) ([]core.ScriptRun, error) {
	const op = "listing script runs"
	switch {
	case f.JobID != 0 && f.DeviceID == 0:
	case f.DeviceID != 0 && f.JobID == 0:
		return s.deviceRuns(ctx, f)
	default:
		return nil, fmt.Errorf("store: %s: not one job or one device: %w", op, core.ErrInvalid)
	}
	rows, err := s.db.QueryContext(ctx, runSelect+"WHERE r.job_id = $1 ORDER BY d.hostname, r.device_id", f.JobID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return s.scanRuns(rows, op, scanRun)
}

// deviceRuns returns a device's script runs and task runs newest first
// (queued or started at, then ID), after f.After, at most f.Limit. The
// IDs are text, which PostgreSQL's collations order unlike Go, so SQL
// bounds each table by time only and Go orders ties by ID bytewise.
func (s *DB) deviceRuns(ctx context.Context, f core.ScriptRunFilter) ([]core.ScriptRun, error) {
	at := int64(math.MaxInt64)
	if !f.After.First() {
		at = ms(f.After.At)
	}
	runs, err := s.runsWindow(ctx, runSelect, "script_runs", "r", "queued_at", scanRun, f.DeviceID, at, f.Limit)
	if err != nil {
		return nil, err
	}
	tasks, err := s.runsWindow(ctx, taskRunSelect, "task_runs", "t", "started_at", scanTaskRun, f.DeviceID, at, f.Limit)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(append(runs, tasks...), func(r core.ScriptRun) bool {
		return !f.After.First() && r.QueuedAt.Equal(f.After.At) && r.ID >= f.After.Name // shown already
	})
	slices.SortFunc(out, func(a, b core.ScriptRun) int {
		if c := b.QueuedAt.Compare(a.QueuedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// runsWindow reads a device's runs from one table: those at the
// millisecond at (whose ties the caller sorts out) and the older ones down
// to the limit-th older time, with all its ties, so that the rows a page
// needs are there whatever order their IDs take (limit ≤ 0: all older).
func (s *DB) runsWindow(ctx context.Context, sel, table, alias, col string, scan func(rowScanner) (core.ScriptRun, error),
	deviceID, at int64, limit int) ([]core.ScriptRun, error) {
	op := "listing the runs of device " + fmt.Sprint(deviceID)
	c := alias + "." + col
	q := sel + "WHERE " + alias + ".device_id = $1 AND " + c + " <= $2"
	args := []any{deviceID, at}
	if limit > 0 {
		q += " AND (" + c + " = $2 OR " + c + " >= COALESCE((SELECT " + col + " FROM " + table +
			" WHERE device_id = $1 AND " + col + " < $2 ORDER BY " + col + " DESC LIMIT 1 OFFSET $3), $4))"
		args = append(args, limit-1, int64(math.MinInt64))
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return s.scanRuns(rows, op, scan)
}

// scanRuns reads and closes rows of runs.
func (s *DB) scanRuns(rows *sql.Rows, op string, scan func(rowScanner) (core.ScriptRun, error)) ([]core.ScriptRun, error) {
	defer rows.Close()
	out := []core.ScriptRun{}
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}

// QueuedScriptDevices lists the devices with a queued, unexpired run.
func (s *DB) QueuedScriptDevices(ctx context.Context, now time.Time) ([]int64, error) {
	const op = "listing devices with queued script runs"
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT r.device_id FROM script_runs r JOIN script_jobs j ON j.id = r.job_id
		WHERE r.state = $1 AND j.expires_at > $2 AND `+due, core.RunQueued, ms(now))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, id)
	}
	return out, s.wrap(op, rows.Err())
}

// ClaimScriptRun claims the device's oldest queued run. The returned run
// has its ID, job, device, state, attempts and MAC set.
func (s *DB) ClaimScriptRun(ctx context.Context, deviceID int64, now time.Time, margin time.Duration) (core.ScriptRun, core.ScriptJob, bool, error) {
	c, err := s.ClaimScriptRuns(ctx, []int64{deviceID}, now, margin)
	if err != nil || len(c.Runs) == 0 {
		return core.ScriptRun{}, core.ScriptJob{}, false, err
	}
	return c.Runs[0], c.Jobs[c.Runs[0].JobID], true, nil
}

// ClaimScriptRuns claims the oldest queued run of each device in one
// transaction: one statement for all devices, then one per device whose
// pick another node took meanwhile.
func (s *DB) ClaimScriptRuns(ctx context.Context, deviceIDs []int64, now time.Time, margin time.Duration) (core.ScriptClaims, error) {
	const op = "claiming script runs"
	var runs []core.ScriptRun
	jobs, more := map[int64]core.ScriptJob{}, map[int64]bool{}
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		for ids := range slices.Chunk(slices.Compact(slices.Sorted(slices.Values(deviceIDs))), 1000) {
			if err := s.claimChunk(ctx, tx, ids, now, margin, &runs, jobs, more); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return core.ScriptClaims{}, err
	}
	return core.ScriptClaims{Runs: runs, Jobs: jobs, More: more}, nil
}

// claimChunk is ClaimScriptRuns for at most 1,000 devices, adding to runs,
// jobs and more.
func (s *DB) claimChunk(ctx context.Context, tx *sql.Tx, ids []int64, now time.Time, margin time.Duration,
	runs *[]core.ScriptRun, jobs map[int64]core.ScriptJob, more map[int64]bool) error {
	got, err := s.claimSet(ctx, tx, ids, now, margin)
	if err != nil {
		return err
	}
	queued, err := s.queuedOf(ctx, tx, ids, now)
	if err != nil {
		return err
	}
	for _, id := range ids {
		r, ok := got[id]
		if !ok && queued[id] > 0 {
			// Another node took the run this statement picked: look
			// again, as ClaimScriptRun does.
			if r, ok, err = s.claimOne(ctx, tx, id, now, margin); err != nil {
				return err
			}
			queued[id]--
		}
		if !ok {
			continue
		}
		if queued[id] > 0 {
			more[id] = true
		}
		if _, ok := jobs[r.JobID]; !ok {
			j, err := scanJob(tx.QueryRowContext(ctx, jobSelect+`WHERE j.id = $1`, r.JobID))
			if err != nil {
				return s.wrap(fmt.Sprintf("getting script job %d", r.JobID), err)
			}
			jobs[r.JobID] = j
		}
		jobOf(&r, jobs[r.JobID])
		*runs = append(*runs, r)
	}
	return nil
}

// claimSet claims the oldest queued run of each device in one statement
// (of two nodes picking the same row, the second finds it no longer
// queued and claims nothing for that device) and returns them by device.
func (s *DB) claimSet(ctx context.Context, tx *sql.Tx, ids []int64, now time.Time, margin time.Duration) (map[int64]core.ScriptRun, error) {
	const op = "claiming script runs"
	args := []any{core.RunRunning, ms(now), margin.Milliseconds(), core.RunQueued}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	rows, err := tx.QueryContext(ctx, `UPDATE script_runs SET state = $1, attempts = attempts + 1, started_at = $2,
		deadline_at = $2 + $3 + `+runTimeout+`
		WHERE id IN (SELECT (SELECT r.id FROM script_runs r JOIN script_jobs j ON j.id = r.job_id
				WHERE r.device_id = d.id AND r.state = $4 AND j.expires_at > $2 AND `+due+` ORDER BY r.queued_at, r.id LIMIT 1)
			FROM devices d WHERE d.id IN (`+strings.Join(ph, ", ")+`))
		AND state = $4
		RETURNING id, job_id, device_id, attempts, mac, retries`, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]core.ScriptRun{}
	for rows.Next() {
		r := core.ScriptRun{State: core.RunRunning}
		if err := rows.Scan(&r.ID, &r.JobID, &r.DeviceID, &r.Attempts, &r.MAC, &r.Retries); err != nil {
			return nil, s.wrap(op, err)
		}
		out[r.DeviceID] = r
	}
	return out, s.wrap(op, rows.Err())
}

// queuedOf counts the devices' queued, unexpired runs.
func (s *DB) queuedOf(ctx context.Context, tx *sql.Tx, ids []int64, now time.Time) (map[int64]int, error) {
	const op = "counting queued script runs"
	args := []any{core.RunQueued, ms(now)}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	rows, err := tx.QueryContext(ctx, `SELECT r.device_id, COUNT(*) FROM script_runs r JOIN script_jobs j ON j.id = r.job_id
		WHERE r.state = $1 AND j.expires_at > $2 AND `+due+` AND r.device_id IN (`+strings.Join(ph, ", ")+`) GROUP BY r.device_id`, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, s.wrap(op, err)
		}
		out[id] = n
	}
	return out, s.wrap(op, rows.Err())
}

// claimOne claims one device's oldest queued run, looking again when
// another node took the one it picked.
func (s *DB) claimOne(ctx context.Context, tx *sql.Tx, deviceID int64, now time.Time, margin time.Duration) (core.ScriptRun, bool, error) {
	op := fmt.Sprintf("claiming a script run of device %d", deviceID)
	for range 10 {
		r := core.ScriptRun{DeviceID: deviceID, State: core.RunRunning}
		err := tx.QueryRowContext(ctx, `UPDATE script_runs SET state = $1, attempts = attempts + 1, started_at = $2,
			deadline_at = $2 + $3 + `+runTimeout+`
			WHERE id = (SELECT r.id FROM script_runs r JOIN script_jobs j ON j.id = r.job_id
				WHERE r.device_id = $4 AND r.state = $5 AND j.expires_at > $2 AND `+due+` ORDER BY r.queued_at, r.id LIMIT 1)
			AND state = $5
			RETURNING id, job_id, attempts, mac, retries`,
			core.RunRunning, ms(now), margin.Milliseconds(), deviceID, core.RunQueued).Scan(&r.ID, &r.JobID, &r.Attempts, &r.MAC, &r.Retries)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM script_runs r JOIN script_jobs j ON j.id = r.job_id
				WHERE r.device_id = $1 AND r.state = $2 AND j.expires_at > $3 AND `+dueAt3, deviceID, core.RunQueued, ms(now)).Scan(&n); err != nil {
				return r, false, s.wrap(op, err)
			}
			if n == 0 {
				return r, false, nil
			}
			continue // another node won it
		}
		if err != nil {
			return r, false, s.wrap(op, err)
		}
		return r, true, nil
	}
	return core.ScriptRun{}, false, fmt.Errorf("store: %s: lost every race: %w", op, core.ErrConflict)
}

// FinishScriptRun stores a running run's outcome.
func (s *DB) FinishScriptRun(ctx context.Context, r core.ScriptRun) error {
	conflicts, err := s.FinishScriptRuns(ctx, []core.ScriptRun{r})
	if err == nil && len(conflicts) > 0 {
		err = fmt.Errorf("store: finishing script run %s: not running: %w", r.ID, core.ErrConflict)
	}
	return err
}

// FinishScriptRuns stores running runs' outcomes in one transaction, with
// the statement prepared once, and returns the IDs of the runs that were
// not running (left unchanged).
func (s *DB) FinishScriptRuns(ctx context.Context, runs []core.ScriptRun) (conflicts []string, err error) {
	const op = "finishing script runs"
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE script_runs SET state = $1, exit_code = $2, stdout = $3, stderr = $4,
			truncated = $5, timed_out = $6, duration_ms = $7, error_code = $8, error_en = $9, error_de = $10, finished_at = $11,
			deadline_at = NULL, meaning = $14, reboot_needed = $15, sw_state = $16, sw_version = $17 WHERE id = $12 AND state = $13`)
		if err != nil {
			return s.wrap(op, err)
		}
		defer st.Close()
		for _, r := range runs {
			var exit any
			if r.ExitCode != nil {
				exit = *r.ExitCode
			}
			res, err := st.ExecContext(ctx, r.State, exit, r.Stdout, r.Stderr, boolInt(r.Truncated), boolInt(r.TimedOut), r.DurationMS, r.ErrorCode,
				r.Error.EN, r.Error.DE, ms(orNow(derefTime(r.FinishedAt))), r.ID, core.RunRunning,
				r.Meaning, boolInt(r.RebootNeeded), r.SWState, r.SWVersion)
			if err != nil {
				return s.wrap("finishing script run "+r.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.wrap("finishing script run "+r.ID, err)
			} else if n == 0 {
				conflicts = append(conflicts, r.ID)
			}
		}
		return nil
	})
	return conflicts, err
}

func derefTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// RequeueScriptRun puts a running run back in the queue.
func (s *DB) RequeueScriptRun(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE script_runs SET state = $1, deadline_at = NULL WHERE id = $2 AND state = $3`,
		core.RunQueued, id, core.RunRunning)
	return s.wrap("requeueing script run "+id, err)
}

// RetryScriptRun puts a running run back in the queue until notBefore,
// keeping why it waits.
func (s *DB) RetryScriptRun(ctx context.Context, r core.ScriptRun, notBefore time.Time) error {
	op := "retrying script run " + r.ID
	var exit any
	if r.ExitCode != nil {
		exit = *r.ExitCode
	}
	res, err := s.db.ExecContext(ctx, `UPDATE script_runs SET state = $1, deadline_at = NULL, retries = retries + 1, not_before = $2,
		exit_code = $3, stdout = $4, stderr = $5, truncated = $6, timed_out = $7, duration_ms = $8, meaning = $9,
		error_code = $10, error_en = $11, error_de = $12 WHERE id = $13 AND state = $14`,
		core.RunQueued, ms(notBefore), exit, r.Stdout, r.Stderr, boolInt(r.Truncated), boolInt(r.TimedOut), r.DurationMS, r.Meaning,
		r.ErrorCode, r.Error.EN, r.Error.DE, r.ID, core.RunRunning)
	return s.affectedOne(op, res, err)
}

// SweepScriptRuns expires and requeues.
func (s *DB) SweepScriptRuns(ctx context.Context, now time.Time) (int, int, error) {
	const op = "sweeping script runs"
	res, err := s.db.ExecContext(ctx, `UPDATE script_runs SET state = $1, finished_at = $2, error_code = 'expired',
		error_en = 'The device did not connect before the job expired.', error_de = 'Das Gerät hat sich nicht verbunden, bevor der Auftrag ablief.'
		WHERE state = $3 AND job_id IN (SELECT id FROM script_jobs WHERE expires_at <= $2)`, core.RunExpired, ms(now), core.RunQueued)
	if err != nil {
		return 0, 0, s.wrap(op, err)
	}
	expired, _ := res.RowsAffected()
	res, err = s.db.ExecContext(ctx, `UPDATE script_runs SET state = $1, deadline_at = NULL WHERE state = $2 AND deadline_at <= $3`,
		core.RunQueued, core.RunRunning, ms(now))
	if err != nil {
		return int(expired), 0, s.wrap(op, err)
	}
	requeued, _ := res.RowsAffected()
	return int(expired), int(requeued), nil
}

// CancelScriptRuns cancels the queued runs of a script's jobs, of every
// version.
func (s *DB) CancelScriptRuns(ctx context.Context, scriptID int64, now time.Time) (int, error) {
	return cancelRuns(ctx, s, s.db, fmt.Sprintf("cancelling runs of script %d", scriptID),
		`job_id IN (SELECT id FROM script_jobs WHERE script_id = $6)`, []any{scriptID}, now,
		core.Text{EN: "The script was deleted before the device ran it.", DE: "Das Skript wurde gelöscht, bevor das Gerät es ausführte."})
}

// QueuedPackageRuns counts the queued runs of a package's jobs.
func (s *DB) QueuedPackageRuns(ctx context.Context, packageID int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM script_runs r JOIN script_jobs j ON j.id = r.job_id
		WHERE j.package_id = $1 AND r.state = $2`, packageID, core.RunQueued).Scan(&n)
	return n, s.wrap(fmt.Sprintf("counting queued runs of package %d", packageID), err)
}

// CancelPackageRuns cancels the queued runs of a package's jobs.
func (s *DB) CancelPackageRuns(ctx context.Context, packageID int64, now time.Time) (int, error) {
	return cancelRuns(ctx, s, s.db, fmt.Sprintf("cancelling runs of package %d", packageID),
		`job_id IN (SELECT id FROM script_jobs WHERE package_id = $6)`, []any{packageID}, now,
		core.Text{EN: "The package was deleted before the device installed or removed it.", DE: "Das Paket wurde gelöscht, bevor das Gerät es installierte oder entfernte."})
}

// CancelJobRuns cancels a job's queued runs on the devices of the clients
// in scope.
func (s *DB) CancelJobRuns(ctx context.Context, jobID int64, scope core.Scope, why core.Text, now time.Time) (int, error) {
	where, args := `job_id = $6`, []any{jobID}
	if scope.Restricted {
		if len(scope.Clients) == 0 {
			return 0, nil
		}
		in := make([]string, len(scope.Clients))
		for i, c := range scope.Clients {
			args = append(args, c)
			in[i] = fmt.Sprintf("$%d", len(args)+5)
		}
		where += ` AND device_id IN (SELECT d.id FROM devices d JOIN sites si ON si.id = d.site_id
			WHERE si.client_id IN (` + strings.Join(in, ", ") + `))`
	}
	return cancelRuns(ctx, s, s.db, fmt.Sprintf("cancelling runs of job %d", jobID), where, args, now, why)
}

// deviceRetired is the error of the runs a device's retirement cancelled.
var deviceRetired = core.Text{EN: "The device was retired before it ran the script.", DE: "Das Gerät wurde außer Betrieb genommen, bevor es das Skript ausführte."}

// execer is the database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// cancelRuns cancels the queued runs that where selects (its arguments
// numbered from $6) with why as their error; running runs finish.
func cancelRuns(ctx context.Context, s *DB, q execer, op, where string, args []any, now time.Time, why core.Text) (int, error) {
	res, err := q.ExecContext(ctx, `UPDATE script_runs SET state = $1, finished_at = $2, error_code = 'cancelled',
		error_en = $4, error_de = $5 WHERE state = $3 AND `+where,
		append([]any{core.RunCancelled, ms(now), core.RunQueued, why.EN, why.DE}, args...)...)
	if err != nil {
		return 0, s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	return int(n), s.wrap(op, err)
}
