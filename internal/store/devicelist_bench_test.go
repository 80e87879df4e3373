package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/loadsim"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// benchDeviceList fills st with 10,000 simulated devices of 20 clients
// with 3 sites each — loadsim inventories (without programs, which the
// list does not read) with a logged-on user and two addresses, 8 check
// states per device (5 % failing, 10 % warning), tags on every 10th
// device, servers on every 15th, 80 % online, one site in maintenance —
// and measures pages of the device list as the service asks for them,
// reporting p50 and p95. The setup is not timed.
func benchDeviceList(b *testing.B, st *store.DB) {
	ctx := context.Background()
	const devices, clients, sites, checks = 10000, 20, 3, 8
	now := time.Now()
	start := now
	ids := make([]int64, devices)
	var siteIDs, clientIDs []int64
	for c := range clients {
		for s := range sites {
			_, site, err := st.EnsureClientSite(ctx, fmt.Sprintf("Kunde %02d GmbH", c), fmt.Sprintf("Standort %d", s))
			if err != nil {
				b.Fatal(err)
			}
			siteIDs, clientIDs = append(siteIDs, site.ID), append(clientIDs, site.ClientID)
			secret := []byte(fmt.Sprint("bench", c, "-", s))
			if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, ClientID: site.ClientID, SiteID: site.ID}); err != nil {
				b.Fatal(err)
			}
			for i := c*sites + s; i < devices; i += clients * sites {
				d := core.Device{Hostname: fmt.Sprintf("PC-%05d", i), OS: []string{"windows", "windows", "darwin", "linux"}[i%4],
					MachineID: fmt.Sprint("m", i), PublicKey: make([]byte, 32), AgentVersion: fmt.Sprintf("1.%d.0", 8+i%3)}
				if i%15 == 0 {
					d.Role = core.DeviceRoleServer
				}
				if err := st.Enroll(ctx, secret, &d, start); err != nil {
					b.Fatal(err)
				}
				ids[i] = d.ID
			}
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < devices; i += 8 {
				if err := fillBenchDevice(ctx, st, ids[i], i, checks, now); err != nil {
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
	seen := map[int64]time.Time{}
	for i, id := range ids {
		if i%5 != 0 {
			seen[id] = now.Add(-20 * time.Second)
		}
	}
	if err := st.TouchDevices(ctx, seen); err != nil {
		b.Fatal(err)
	}
	if st.Dialect() == store.Postgres {
		if _, err := st.SQL().ExecContext(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: setup of %d devices in %v", st.Dialect(), devices, time.Since(start).Round(time.Second))

	// The service's query: an administrator, the active windows resolved.
	base := core.DeviceListQuery{Now: now, Limit: 100, MaintenanceSiteIDs: siteIDs[:1]}
	page50 := base
	for range 49 {
		p, err := st.QueryDevices(ctx, page50)
		if err != nil || p.Next == "" {
			b.Fatalf("paging to page 50: %v (next %q)", err, p.Next)
		}
		page50.Cursor = p.Next
	}
	yes, no := true, false
	for _, bc := range []struct {
		name string
		q    func(q *core.DeviceListQuery)
	}{
		{"first-page", func(*core.DeviceListQuery) {}},
		{"page-50", func(q *core.DeviceListQuery) { *q = page50 }},
		{"search-host", func(q *core.DeviceListQuery) { q.Search = "pc-0423" }},
		{"search-user", func(q *core.DeviceListQuery) { q.Search = "anna.schmidt" }},
		{"search-ip", func(q *core.DeviceListQuery) { q.Search = "10.1.2." }},
		{"status-failing", func(q *core.DeviceListQuery) { q.Statuses = []core.Status{core.StatusFailure, core.StatusError} }},
		{"online", func(q *core.DeviceListQuery) { q.Online = &yes }},
		{"offline", func(q *core.DeviceListQuery) { q.Online = &no }},
		{"os", func(q *core.DeviceListQuery) { q.OS = []string{"darwin"} }},
		{"client", func(q *core.DeviceListQuery) { q.ClientIDs = clientIDs[3:4] }},
		{"site", func(q *core.DeviceListQuery) { q.SiteIDs = siteIDs[7:8] }},
		{"role", func(q *core.DeviceListQuery) { q.Roles = []string{core.DeviceRoleServer} }},
		{"tag", func(q *core.DeviceListQuery) { q.Tags = []string{"vip"} }},
		{"maintenance", func(q *core.DeviceListQuery) { q.Maintenance = &yes }},
		{"scope", func(q *core.DeviceListQuery) { q.Scope = core.Only(clientIDs[0], clientIDs[5]) }},
		{"sort-status", func(q *core.DeviceListQuery) { q.Sort, q.Desc = core.SortStatus, true }},
		{"sort-last-seen", func(q *core.DeviceListQuery) { q.Sort = core.SortLastSeen }},
	} {
		q := base
		bc.q(&q)
		b.Run(bc.name, func(b *testing.B) {
			measure(b, func() int {
				p, err := st.QueryDevices(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				return p.Total
			})
		})
	}
}

// fillBenchDevice gives simulated device i its inventory, check states
// and tags.
func fillBenchDevice(ctx context.Context, st *store.DB, id int64, i, checks int, at time.Time) error {
	inv := loadsim.Inventory(i)
	inv.Software = nil
	inv.System.LoggedOn = []string{fmt.Sprintf(`KUNDE\user.%04d`, i%5000)}
	if i%1000 == 7 {
		inv.System.LoggedOn = []string{`KUNDE\Anna.Schmidt`}
	}
	inv.Hardware.NICs = []core.NIC{{Name: "eth0", Addresses: []string{fmt.Sprintf("10.%d.%d.%d/16", i%4, i/250%40, i%250), "fe80::1/64"}}}
	if err := st.SaveInventory(ctx, core.StoredInventory{DeviceID: id, Digest: fmt.Sprint(i), ReceivedAt: at, Inventory: inv}, "", nil); err != nil {
		return err
	}
	rs := make([]core.Result, checks)
	for c := range rs {
		status := core.StatusOK
		switch {
		case c == 0 && i%20 == 3:
			status = core.StatusFailure
		case c == 1 && i%10 == 4:
			status = core.StatusWarning
		}
		rs[c] = core.Result{ID: fmt.Sprintf("r-%d-%d", i, c), Check: fmt.Sprintf("check%d", c), Status: status, At: at}
	}
	if err := st.SaveResults(ctx, id, rs); err != nil {
		return err
	}
	if i%10 == 0 {
		return st.SetDeviceTags(ctx, id, []string{"vip", fmt.Sprintf("etage-%d", i%4)})
	}
	return nil
}

// BenchmarkDeviceList: pages and filters of the device list at 10,000
// devices on SQLite.
func BenchmarkDeviceList(b *testing.B) { benchDeviceList(b, storetest.NewSQLite(b)) }

// BenchmarkDeviceListPostgres is the same on PostgreSQL; skipped without
// WACHT_TEST_POSTGRES.
func BenchmarkDeviceListPostgres(b *testing.B) { benchDeviceList(b, storetest.NewPostgres(b)) }
