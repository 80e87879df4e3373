package store_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// seedHistory stores n results for each of checks disk instances of one
// device, one a minute ending now, and returns the device ID.
func seedHistory(tb testing.TB, st *store.DB, checks, n int) int64 {
	tb.Helper()
	ctx := context.Background()
	_, site, err := st.EnsureClientSite(ctx, "Acme", "HQ")
	if err != nil {
		tb.Fatal(err)
	}
	tok := core.EnrollmentToken{SecretHash: []byte("s"), SiteID: site.ID, ClientID: site.ClientID}
	if err := st.CreateEnrollmentToken(ctx, &tok); err != nil {
		tb.Fatal(err)
	}
	d := core.Device{Hostname: "pc", OS: "linux", MachineID: "m", PublicKey: make([]byte, 32)}
	if err := st.Enroll(ctx, []byte("s"), &d, time.Now()); err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UTC()
	batch := make([]core.Result, 0, 1000)
	for c := range checks {
		for i := range n {
			v := float64(i % 100)
			batch = append(batch, core.Result{ID: fmt.Sprintf("%d-%d", c, i), Check: "disk", Key: fmt.Sprintf("vol%d", c),
				Status: core.StatusOK, Value: &v, Unit: "%", Message: core.Text{EN: "ok", DE: "ok"},
				At: now.Add(-time.Duration(i) * time.Minute)})
			if len(batch) == cap(batch) {
				if err := st.SaveResults(ctx, d.ID, batch); err != nil {
					tb.Fatal(err)
				}
				batch = batch[:0]
			}
		}
	}
	if err := st.SaveResults(ctx, d.ID, batch); err != nil {
		tb.Fatal(err)
	}
	return d.ID
}

// TestCheckHistoryPlan checks that the history query can be answered from
// the check_results (check_id, at) index in both engines, so a long history
// of other checks does not slow one check's page down. PostgreSQL plans a
// sequential scan for tables this small, so seq scans are disabled there to
// ask whether the index is usable at all.
func TestCheckHistoryPlan(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			st := e.open(t)
			id := seedHistory(t, st, 3, 50)
			ctx := context.Background()
			conn, err := st.SQL().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			explain, col := "EXPLAIN QUERY PLAN", 3
			if st.Dialect() == "postgres" {
				explain, col = "EXPLAIN", 0
				if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
				defer conn.ExecContext(ctx, "RESET enable_seqscan")
			}
			rows, err := conn.QueryContext(ctx, explain+store.CheckHistorySQL, id, "disk", "vol1", int64(0), 100, int64(math.MaxInt64))
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(vals[col]))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			p := strings.Join(plan, "\n")
			t.Logf("plan:\n%s", p)
			// PostgreSQL names the index of each partition after it.
			if !strings.Contains(p, "check_results_check_at") && !strings.Contains(p, "check_id_at_idx") {
				t.Errorf("history query does not use check_results_check_at:\n%s", p)
			}
		})
	}
}

// BenchmarkListCheckHistory reads the newest 5,000 of 10,000 results of one
// check among 20 (200,000 history rows of the device).
func BenchmarkListCheckHistory(b *testing.B) {
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			st := e.open(b)
			id := seedHistory(b, st, 20, 10000)
			ctx := context.Background()
			since := time.Now().Add(-30 * 24 * time.Hour)
			for b.Loop() {
				rs, err := st.ListCheckHistory(ctx, id, "disk", "vol7", since, time.Time{}, 5000)
				if err != nil || len(rs) != 5000 {
					b.Fatal(len(rs), err)
				}
			}
		})
	}
}

// BenchmarkMaintainHistory rolls up and deletes 20,000 aged results of 50
// checks per run: on PostgreSQL they fill day partitions that are dropped
// whole, on SQLite they are deleted in chunks of checks.
func BenchmarkMaintainHistory(b *testing.B) {
	const perRun = 20000
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			st := e.open(b)
			id := seedHistory(b, st, 1, 1)
			ctx := context.Background()
			now := time.Now()
			aged := now.Add(-20 * 24 * time.Hour)
			v := 1.5
			for b.Loop() {
				b.StopTimer()
				// Partitions for the aged days exist, as they would have.
				if _, err := st.MaintainHistory(ctx, aged); err != nil {
					b.Fatal(err)
				}
				batch := make([]core.Result, 0, 500)
				for j := range perRun {
					batch = append(batch, core.Result{ID: core.NewResultID(), Check: "disk", Key: fmt.Sprint(j % 50),
						Status: core.StatusOK, Value: &v, At: aged.Add(-time.Duration(j) * 10 * time.Second)})
					if len(batch) == cap(batch) {
						if err := st.SaveResults(ctx, id, batch); err != nil {
							b.Fatal(err)
						}
						batch = batch[:0]
					}
				}
				b.StartTimer()
				rep, err := st.MaintainHistory(ctx, now)
				if err != nil || rep.RolledUp != perRun {
					b.Fatal(rep, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*perRun), "µs/result")
		})
	}
}

// TestRollupInBoundedTransactions: a backlog larger than one transaction's
// share is rolled up over several, each hour counted once.
func TestRollupInBoundedTransactions(t *testing.T) {
	defer store.SetRollupRows(7)()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			st := e.open(t)
			id := seedHistory(t, st, 2, 1) // two checks with a result now
			ctx := context.Background()
			now := time.Now()
			hour := now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)
			var rs []core.Result
			for i := range 50 {
				v := float64(i)
				rs = append(rs, core.Result{ID: fmt.Sprintf("b-%d", i), Check: "disk", Key: fmt.Sprintf("vol%d", i%2),
					Status: core.StatusOK, Value: &v, At: hour.Add(time.Duration(i) * time.Minute)})
			}
			if err := st.SaveResults(ctx, id, rs); err != nil {
				t.Fatal(err)
			}
			rep, err := st.MaintainHistory(ctx, now)
			if err != nil || rep.RolledUp != 50 {
				t.Fatalf("MaintainHistory = %+v, %v; want 50 rolled up", rep, err)
			}
			if n, err := st.CountResults(ctx, id); err != nil || n != 2 {
				t.Errorf("CountResults = %d, %v; want the 2 recent", n, err)
			}
			for vol, want := range []struct{ n, min, max int }{{25, 0, 48}, {25, 1, 49}} {
				h, err := st.ListCheckHistory(ctx, id, "disk", fmt.Sprintf("vol%d", vol), hour, time.Time{}, 0)
				if err != nil {
					t.Fatal(err)
				}
				var counted int
				for _, r := range h {
					if r.Rollup != nil {
						counted += r.Rollup.Results
					}
				}
				first := h[len(h)-1].Rollup // the first hour: minutes 0..59 hold results 0..49
				if counted != want.n || first == nil || *first.Min != float64(want.min) || *first.Max != float64(want.max) {
					t.Errorf("vol%d: %d results in rollups, first %+v; want %d, min %d max %d", vol, counted, first, want.n, want.min, want.max)
				}
			}
		})
	}
}
