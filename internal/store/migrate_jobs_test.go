package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestPackageJobsMigration upgrades a database holding script jobs and runs
// written before migration 0030 (which rebuilds both tables on SQLite) and
// checks that every job and run is kept as it was, still claimable, that
// the runs still belong to their jobs (the reference was renamed with the
// table, not lost) and that a package job can be stored afterwards.
func TestPackageJobsMigration(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			old, url, dir := migratedBefore(t, dialect, "0030")
			t0 := time.Now().UTC().Truncate(time.Millisecond)
			for _, q := range []string{
				`INSERT INTO clients (id, name, created_at) VALUES (1, 'c', 0)`,
				`INSERT INTO sites (id, client_id, name, created_at) VALUES (1, 1, 's', 0)`,
				`INSERT INTO devices (id, site_id, hostname, public_key, role, state, enrolled_at) VALUES (1, 1, 'pc1', '', 'workstation', 'active', 0)`,
				`INSERT INTO devices (id, site_id, hostname, public_key, role, state, enrolled_at) VALUES (2, 1, 'pc2', '', 'workstation', 'active', 0)`,
				`INSERT INTO scripts (id, name, version, created_at, updated_at) VALUES (1, 'hello', 1, 0, 0)`,
				`INSERT INTO script_versions (script_id, version, language, body, timeout_seconds, run_as, created_at)
					VALUES (1, 1, 'sh', 'echo hello', 60, 'system', 0)`,
			} {
				if _, err := old.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			var jobID int64
			if err := old.QueryRowContext(ctx, `INSERT INTO script_jobs (script_id, script_version, params, secret_names, sealed, target,
				created_by, created_at, expires_at) VALUES (1, 1, '{"A":"1"}', '["PW"]', $1, 'devices', 'user:a', $2, $3) RETURNING id`,
				[]byte("sealed"), t0.UnixMilli(), t0.Add(time.Hour).UnixMilli()).Scan(&jobID); err != nil {
				t.Fatal(err)
			}
			if _, err := old.ExecContext(ctx, `INSERT INTO script_runs (id, job_id, device_id, state, attempts, exit_code, stdout, stderr,
				truncated, duration_ms, queued_at, started_at, finished_at, mac)
				VALUES ('r-done', $3, 1, 'done', 1, 0, 'hello', 'warn', 1, 42, $1, $1, $1, $2)`, t0.UnixMilli(), []byte{1}, jobID); err != nil {
				t.Fatal(err)
			}
			if _, err := old.ExecContext(ctx, `INSERT INTO script_runs (id, job_id, device_id, state, queued_at, mac)
				VALUES ('r-queued', $3, 2, 'queued', $1, $2)`, t0.UnixMilli(), []byte{2}, jobID); err != nil {
				t.Fatal(err)
			}
			old.Close()

			st, err := store.Open(ctx, url, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			j, err := st.GetScriptJob(ctx, jobID)
			if err != nil || j.Action != core.JobScript || j.ScriptID != 1 || j.ScriptName != "hello" || j.Params["A"] != "1" ||
				string(j.Sealed) != "sealed" || j.CreatedBy != "user:a" || !j.ExpiresAt.Equal(t0.Add(time.Hour)) || j.IsPackage() {
				t.Fatalf("job after migration: %+v, %v", j, err)
			}
			runs, err := st.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: jobID})
			if err != nil || len(runs) != 2 {
				t.Fatalf("runs after migration: %+v, %v", runs, err)
			}
			if r := runs[0]; r.ID != "r-done" || r.State != core.RunDone || *r.ExitCode != 0 || r.Stdout != "hello" || r.Stderr != "warn" ||
				!r.Truncated || r.DurationMS != 42 || r.Hostname != "pc1" || r.ScriptName != "hello" || r.Action != core.JobScript {
				t.Errorf("done run after migration: %+v", r)
			}
			r, _, ok, err := st.ClaimScriptRun(ctx, 2, t0, time.Minute)
			if err != nil || !ok || r.ID != "r-queued" || string(r.MAC) != "\x02" {
				t.Fatalf("claiming the queued run after migration: %+v %v %v", r, ok, err)
			}
			// Its deadline comes from its script version's timeout (60 s).
			if _, rq, err := st.SweepScriptRuns(ctx, t0.Add(90*time.Second)); err != nil || rq != 0 {
				t.Errorf("swept before the deadline: %d %v", rq, err)
			}
			if _, rq, err := st.SweepScriptRuns(ctx, t0.Add(3*time.Minute)); err != nil || rq != 1 {
				t.Errorf("sweep after the deadline: %d %v", rq, err)
			}
			pj := core.ScriptJob{Action: "package_install", PackageID: 5, PackageName: "p", PackageVersion: "1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if _, err := st.CreateScriptJob(ctx, &pj, []core.ScriptRun{{DeviceID: 1}}); err != nil {
				t.Fatalf("a package job after migration: %v", err)
			}
			if dialect == store.SQLite {
				var n int
				if err := st.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_foreign_key_check`).Scan(&n); err != nil || n != 0 {
					t.Errorf("foreign key check: %d violations, %v", n, err)
				}
				var parent string
				if err := st.SQL().QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_list('script_runs') WHERE "from" = 'job_id'`).Scan(&parent); err != nil || parent != "script_jobs" {
					t.Errorf("script_runs.job_id references %q (%v), want script_jobs", parent, err)
				}
			}
			// The runs still hang on their job: deleting it takes them along.
			if _, err := st.SQL().ExecContext(ctx, `DELETE FROM script_jobs WHERE id = $1`, jobID); err != nil {
				t.Fatal(err)
			}
			var left int
			if err := st.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM script_runs WHERE job_id = $1`, jobID).Scan(&left); err != nil || left != 0 {
				t.Errorf("%d runs of a deleted job left (%v)", left, err)
			}
		})
	}
}
