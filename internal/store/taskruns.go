package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Runs of automated tasks (migration 0023). The agent reports each as a
// result with Key protocol.TaskResultKey; SaveResults diverts them here
// in the batch's transaction, so that they are acked with it, stored once
// per run ID however often the batch comes, and never become check
// results, outages or alerts.

// splitTaskRuns separates the task runs of a batch from its check results.
// It costs one string comparison per result and allocates nothing for a
// batch without task runs.
func splitTaskRuns(rs []core.Result) (checks, tasks []core.Result) {
	for i, r := range rs {
		if r.Key != protocol.TaskResultKey {
			continue
		}
		checks = append(checks, rs[:i]...)
		for _, r := range rs[i:] {
			if r.Key == protocol.TaskResultKey {
				tasks = append(tasks, r)
			} else {
				checks = append(checks, r)
			}
		}
		return checks, tasks
	}
	return rs, nil
}

// taskRunRow turns a task's result into its run. Data that cannot be read
// still gives a run, failed with error code "malformed", under the
// result's ID: the report is kept, not dropped.
func taskRunRow(r core.Result) core.ScriptRun {
	d, ok := protocol.ReadTaskRun(r.Data)
	if !ok || d.RunID == "" {
		at := r.At
		return core.ScriptRun{ID: r.ID, Task: r.Check, State: core.RunFailed, ErrorCode: "malformed", StartedAt: &at, QueuedAt: r.At}
	}
	started := d.StartedAt
	if started.IsZero() {
		started = r.At
	}
	run := core.ScriptRun{ID: d.RunID, Task: r.Check, Trigger: d.Trigger, ScriptID: d.ScriptID, ScriptVersion: d.ScriptVersion,
		ExitCode: d.ExitCode, Stdout: d.Stdout, Stderr: d.Stderr, Truncated: d.Truncated, TimedOut: d.TimedOut,
		DurationMS: d.DurationMS, ErrorCode: d.ErrorCode, StartedAt: &started, QueuedAt: d.Due,
		FixCheck: d.FixCheck, FixStatus: d.FixStatus}
	switch {
	case d.ErrorCode == protocol.CodeInterrupted:
		run.State = core.RunInterrupted
	case d.ExitCode != nil && *d.ExitCode == 0 && !d.TimedOut:
		run.State = core.RunDone
	default:
		run.State = core.RunFailed
	}
	return run
}

// insertTaskRuns stores a batch's task runs, skipping run IDs stored
// before.
func (s *DB) insertTaskRuns(ctx context.Context, tx *sql.Tx, deviceID int64, rs []core.Result) error {
	for _, r := range rs {
		run := taskRunRow(r)
		var exit, due any
		if run.ExitCode != nil {
			exit = *run.ExitCode
		}
		if !run.QueuedAt.IsZero() {
			due = ms(run.QueuedAt)
		}
		fixStatus := ""
		if run.FixCheck != "" && run.FixStatus != core.StatusUnknown {
			fixStatus = run.FixStatus.String()
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO task_runs (device_id, run_id, task_name, run_trigger, script_id, script_version, state, exit_code,
				stdout, stderr, truncated, timed_out, duration_ms, error_code, due_at, started_at, fix_check, fix_status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
			ON CONFLICT (device_id, run_id) DO NOTHING`,
			deviceID, run.ID, run.Task, run.Trigger, run.ScriptID, run.ScriptVersion, run.State, exit,
			run.Stdout, run.Stderr, boolInt(run.Truncated), boolInt(run.TimedOut), run.DurationMS, run.ErrorCode,
			due, ms(*run.StartedAt), run.FixCheck, fixStatus); err != nil {
			return s.wrap("save results: storing a task run", err)
		}
	}
	return nil
}

const taskRunSelect = `SELECT t.run_id, t.device_id, d.hostname, si.client_id, t.script_id, COALESCE(s.name, ''), t.script_version,
	t.state, t.exit_code, t.stdout, t.stderr, t.truncated, t.timed_out, t.duration_ms, t.error_code, t.started_at,
	t.task_name, t.run_trigger, t.fix_check, t.fix_status
	FROM task_runs t JOIN devices d ON d.id = t.device_id JOIN sites si ON si.id = d.site_id
	LEFT JOIN scripts s ON s.id = t.script_id `

func scanTaskRun(r rowScanner) (core.ScriptRun, error) {
	var x core.ScriptRun
	var exit sql.NullInt64
	var trunc, timedOut int
	var started int64
	var fix string
	if err := r.Scan(&x.ID, &x.DeviceID, &x.Hostname, &x.ClientID, &x.ScriptID, &x.ScriptName, &x.ScriptVersion,
		&x.State, &exit, &x.Stdout, &x.Stderr, &trunc, &timedOut, &x.DurationMS, &x.ErrorCode, &started,
		&x.Task, &x.Trigger, &x.FixCheck, &fix); err != nil {
		return x, err
	}
	if exit.Valid {
		n := int(exit.Int64)
		x.ExitCode = &n
	}
	x.Truncated, x.TimedOut = trunc != 0, timedOut != 0
	at := fromMS(started)
	x.StartedAt, x.FinishedAt, x.QueuedAt = &at, &at, at
	if x.DurationMS > 0 {
		end := at.Add(time.Duration(x.DurationMS) * time.Millisecond)
		x.FinishedAt = &end
	}
	if fix != "" {
		x.FixStatus = core.ParseStatus(fix)
	}
	return x, nil
}

// LatestFix returns the newest automatic fix of a device's check that
// started in [from, to], or nil.
func (s *DB) LatestFix(ctx context.Context, deviceID int64, check string, from, to time.Time) (*core.Fix, error) {
	r, err := scanTaskRun(s.db.QueryRowContext(ctx, taskRunSelect+`WHERE t.device_id = $1 AND t.fix_check = $2
		AND t.started_at >= $3 AND t.started_at <= $4 ORDER BY t.started_at DESC, t.run_id LIMIT 1`,
		deviceID, check, ms(from), ms(to)))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, s.wrap(fmt.Sprintf("getting the fix of check %q of device %d", check, deviceID), err)
	}
	f := &core.Fix{Task: r.Task, At: *r.StartedAt, ExitCode: r.ExitCode, ErrorCode: r.ErrorCode}
	switch {
	case r.State != core.RunDone:
		if r.TimedOut {
			f.ExitCode, f.ErrorCode = nil, "timeout"
		}
	case r.FixStatus == core.StatusFailure || r.FixStatus == core.StatusError:
		f.StillFailing = true
	default:
		f.OK = true
	}
	return f, nil
}
