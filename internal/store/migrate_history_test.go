package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestHistoryMigration upgrades a database with history written before
// migration 0009 (PostgreSQL: into the partitioned layout) and checks that
// every row is kept, that redelivering an old result still changes nothing,
// and that the maintenance job moves the rows into day partitions.
func TestHistoryMigration(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			old, url, dir := migratedBefore(t, dialect, "0009")
			now := time.Now().UTC()
			for _, q := range []string{
				`INSERT INTO clients (id, name, created_at) VALUES (1, 'c', 0)`,
				`INSERT INTO sites (id, client_id, name, created_at) VALUES (1, 1, 's', 0)`,
				`INSERT INTO devices (id, site_id, public_key, role, state, enrolled_at) VALUES (1, 1, '', 'workstation', 'active', 0)`,
				`INSERT INTO checks (id, device_id, name, key) VALUES (1, 1, 'disk', '/')`,
			} {
				if _, err := old.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			const n = 30
			for i := range n {
				if _, err := old.ExecContext(ctx, `INSERT INTO check_results (id, check_id, device_id, status, value, at)
					VALUES ($1, 1, 1, 'ok', $2, $3)`, fmt.Sprintf("old-%d", i), float64(i), now.Add(-time.Duration(i)*time.Hour).UnixMilli()); err != nil {
					t.Fatal(err)
				}
			}
			old.Close()

			st, err := store.Open(ctx, url, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if c, err := st.CountResults(ctx, 1); err != nil || c != n {
				t.Fatalf("after migration: %d results, %v; want %d", c, err, n)
			}
			redelivered := []core.Result{{ID: "old-3", Check: "disk", Key: "/", Status: core.StatusFailure, At: now}}
			if err := st.SaveResults(ctx, 1, redelivered); err != nil {
				t.Fatal(err)
			}
			if _, err := st.MaintainHistory(ctx, now); err != nil {
				t.Fatal(err)
			}
			if err := st.SaveResults(ctx, 1, redelivered); err != nil {
				t.Fatal(err)
			}
			if c, err := st.CountResults(ctx, 1); err != nil || c != n {
				t.Errorf("after redelivery and maintenance: %d results, %v; want %d", c, err, n)
			}
			h, err := st.ListCheckHistory(ctx, 1, "disk", "/", time.Time{}, time.Time{}, 0)
			if err != nil || len(h) != n || h[0].ID != "old-0" || *h[n-1].Value != n-1 {
				t.Errorf("history after migration: %d rows, %v", len(h), err)
			}
			if dialect == store.Postgres {
				var left int
				if err := st.SQL().QueryRowContext(ctx, `SELECT count(*) FROM check_results_default`).Scan(&left); err != nil || left != 0 {
					t.Errorf("%d rows left in the default partition (%v), want 0", left, err)
				}
			}
		})
	}
}
