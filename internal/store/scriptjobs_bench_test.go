package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// benchScriptJob measures queueing one script on 10,000 devices (a job
// and its runs in one transaction) and claiming every run, one device at a
// time by 64 workers (ms-claim) and in groups of 500 devices as the
// dispatcher does (ms-claim-grouped).
func benchScriptJob(b *testing.B, st *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, site, err := st.EnsureClientSite(ctx, "Bench GmbH", "Zentrale")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: []byte("bench"), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		b.Fatal(err)
	}
	const devices = 10000
	ids := make([]int64, devices)
	for i := range devices {
		d := core.Device{Hostname: fmt.Sprintf("pc-%05d", i), OS: "linux", MachineID: fmt.Sprint("m", i), PublicKey: make([]byte, 32)}
		if err := st.Enroll(ctx, []byte("bench"), &d, now); err != nil {
			b.Fatal(err)
		}
		ids[i] = d.ID
	}
	sc := core.Script{Name: "bench", Language: "sh", Body: "echo", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	if err := st.CreateScript(ctx, &sc); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, ExpiresAt: now.Add(time.Hour)}
		start := time.Now()
		runs := make([]core.ScriptRun, len(ids))
		for i, id := range ids {
			runs[i] = core.ScriptRun{DeviceID: id}
		}
		if _, err := st.CreateScriptJob(ctx, &j, runs); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-queue")
		// Claimed by 64 workers at once, as a node's dispatcher serves
		// many devices in parallel.
		start = time.Now()
		next := make(chan int64)
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range 64 {
			wg.Go(func() {
				for id := range next {
					if _, _, ok, err := st.ClaimScriptRun(ctx, id, now, time.Minute); err != nil || !ok {
						failed.Add(1)
					}
				}
			})
		}
		for _, id := range ids {
			next <- id
		}
		close(next)
		wg.Wait()
		if failed.Load() > 0 {
			b.Fatalf("%d claims failed", failed.Load())
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-claim")
		// The same again, claimed in groups of 500 as the dispatcher does.
		j = core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, ExpiresAt: now.Add(time.Hour)}
		if _, err := st.CreateScriptJob(ctx, &j, runs); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		claimed := 0
		for chunk := range slices.Chunk(ids, 500) {
			c, err := st.ClaimScriptRuns(ctx, chunk, now, time.Minute)
			if err != nil {
				b.Fatal(err)
			}
			claimed += len(c.Runs)
		}
		if claimed != len(ids) {
			b.Fatalf("%d of %d claimed in groups", claimed, len(ids))
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-claim-grouped")
	}
}

// BenchmarkScriptJob10k: queue and claim 10,000 runs on SQLite.
func BenchmarkScriptJob10k(b *testing.B) { benchScriptJob(b, storetest.NewSQLite(b)) }

// BenchmarkScriptJob10kPostgres is the same on PostgreSQL; skipped
// without WACHT_TEST_POSTGRES.
func BenchmarkScriptJob10kPostgres(b *testing.B) { benchScriptJob(b, storetest.NewPostgres(b)) }
