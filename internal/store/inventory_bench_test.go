package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/loadsim"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// benchInventorySearch fills st with the inventories of 10,000 simulated
// devices of 20 clients (loadsim.Inventory: 300 programs each, 3 million
// program rows) and measures the fleet searches through the service, as
// the API runs them, reporting their p50 and p95: 7-Zip below 23.01, and
// devices with less than 8 GB of memory. The setup is not timed.
func benchInventorySearch(b *testing.B, st *store.DB) {
	ctx := context.Background()
	const devices, clients = 10000, 20
	start := time.Now()
	ids := make([]int64, devices)
	for c := range clients {
		_, site, err := st.EnsureClientSite(ctx, fmt.Sprintf("Kunde %02d GmbH", c), "Zentrale")
		if err != nil {
			b.Fatal(err)
		}
		secret := []byte(fmt.Sprint("bench", c))
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, ClientID: site.ClientID, SiteID: site.ID}); err != nil {
			b.Fatal(err)
		}
		for i := c; i < devices; i += clients {
			d := core.Device{Hostname: fmt.Sprintf("pc-%05d", i), OS: "windows", MachineID: fmt.Sprint("m", i), PublicKey: make([]byte, 32)}
			if err := st.Enroll(ctx, secret, &d, start); err != nil {
				b.Fatal(err)
			}
			ids[i] = d.ID
		}
	}
	// Saved as the gateway saves them, by several sessions at once.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < devices; i += 8 {
				inv := loadsim.Inventory(i)
				if err := st.SaveInventory(ctx, core.StoredInventory{DeviceID: ids[i], Digest: fmt.Sprint(i), ReceivedAt: start, Inventory: inv}, "", nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	if st.Dialect() == store.Postgres {
		// What autovacuum does to a table this size in production: without
		// statistics the planner scans all 3 million programs.
		if _, err := st.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: setup of %d devices × %d programs in %v", st.Dialect(), devices, loadsim.InventoryPrograms, time.Since(start).Round(time.Second))

	svc := service.New(service.Deps{Store: st})
	admin := core.User{ID: 1, Role: core.RoleAdmin}
	b.Run("software", func(b *testing.B) {
		measure(b, func() int {
			hits, err := svc.SearchSoftware(ctx, admin, service.SoftwareSearch{Name: "7-zip", VersionBelow: "23.01", Limit: service.MaxSearchLimit})
			if err != nil {
				b.Fatal(err)
			}
			return len(hits)
		})
	})
	b.Run("memory", func(b *testing.B) {
		measure(b, func() int {
			vs, err := svc.SearchInventories(ctx, admin, service.InventorySearch{MemoryBelow: 8 << 30, Limit: service.MaxSearchLimit})
			if err != nil {
				b.Fatal(err)
			}
			return len(vs)
		})
	})
}

// measure runs search in b.Loop and reports its p50 and p95 in ms and the
// hits of the last run.
func measure(b *testing.B, search func() int) {
	var took []time.Duration
	hits := 0
	for b.Loop() {
		t := time.Now()
		hits = search()
		took = append(took, time.Since(t))
	}
	slices.Sort(took)
	at := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(float64(hits), "hits")
}

// BenchmarkInventorySearch: fleet searches over 10,000 devices × 300
// programs on SQLite.
func BenchmarkInventorySearch(b *testing.B) { benchInventorySearch(b, storetest.NewSQLite(b)) }

// BenchmarkInventorySearchPostgres is the same on PostgreSQL; skipped
// without WACHT_TEST_POSTGRES.
func BenchmarkInventorySearchPostgres(b *testing.B) {
	benchInventorySearch(b, storetest.NewPostgres(b))
}
