package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

const (
	benchSupportRequests = 10000
	benchSupportClients  = 20
	benchSupportDevices  = 1000
)

// benchSupportList fills st with 10,000 support requests from 1,000
// devices of 20 clients over a year, saved as the gateway saves them (one
// outbox item each, four sessions at once): the older ones done, a few
// in progress, the newest new; one in twenty with a 64 KiB screenshot.
// Then it measures the dashboard's list pages (limit 50) and a device's
// requests, reporting p50 and p95. The setup is not timed.
func benchSupportList(b *testing.B, st *store.DB) {
	ctx := context.Background()
	start := time.Now()
	devices := make([]int64, benchSupportDevices)
	var clients []int64
	for c := range benchSupportClients {
		_, site, err := st.EnsureClientSite(ctx, fmt.Sprintf("Kunde %02d GmbH", c), "Zentrale")
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, site.ClientID)
		secret := []byte(fmt.Sprint("bench", c))
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, ClientID: site.ClientID, SiteID: site.ID}); err != nil {
			b.Fatal(err)
		}
		for i := c; i < benchSupportDevices; i += benchSupportClients {
			d := core.Device{Hostname: fmt.Sprintf("pc-%04d", i), OS: "windows", MachineID: fmt.Sprint("m", i), PublicKey: make([]byte, 32)}
			if err := st.Enroll(ctx, secret, &d, start); err != nil {
				b.Fatal(err)
			}
			devices[i] = d.ID
		}
	}
	shot := make([]byte, 64<<10)
	for i := range shot {
		shot[i] = byte(i * 7919)
	}
	now := time.Now()
	first := now.Add(-365 * 24 * time.Hour)
	step := 365 * 24 * time.Hour / benchSupportRequests
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < benchSupportRequests; i += 4 {
				at := first.Add(time.Duration(i) * step)
				r := core.SupportRequest{DeviceID: devices[(i*7919)%benchSupportDevices], Ref: fmt.Sprint("req-", i),
					OSUser: `KUNDE\user`, Contact: core.SupportContact{Name: "Anna Muster", Email: "anna@kunde.example"},
					Message: "Mein Drucker druckt nicht. Seit heute früh kommt beim Drucken eine Fehlermeldung.",
					Lang:    "de", CreatedAt: at, ReceivedAt: at}
				var png []byte
				if i%20 == 0 {
					png = shot
				}
				mail := core.OutboxItem{DedupeKey: fmt.Sprint("support:", i), Channel: "email", Target: "techs@msp.example",
					Payload: []byte(`{"subject":"Supportanfrage"}`), CreatedAt: at}
				if _, err := st.SaveSupportRequest(ctx, &r, png, []core.OutboxItem{mail}); err != nil {
					errs <- err
					return
				}
				state := core.SupportDone
				switch {
				case i >= benchSupportRequests-100:
					state = core.SupportNew
				case i >= benchSupportRequests-400 || i%50 == 0:
					state = core.SupportInProgress
				}
				if state != core.SupportNew {
					u := core.SupportUpdate{State: state, Reply: core.SupportReply{Author: "Ben", Body: "Wir kümmern uns."}, At: at.Add(time.Hour)}
					if _, err := st.UpdateSupportRequest(ctx, r.ID, u); err != nil {
						errs <- err
						return
					}
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
		// What autovacuum does after a load like this in production.
		if _, err := st.SQL().ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: setup of %d support requests in %v", st.Dialect(), benchSupportRequests, time.Since(start).Round(time.Second))

	page := func(f core.SupportFilter) func() int {
		return func() int {
			f.Limit = 50
			rs, _, err := st.ListSupportRequests(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			return len(rs)
		}
	}
	b.Run("client", func(b *testing.B) { measure(b, page(core.SupportFilter{ClientID: clients[3]})) })
	b.Run("client-done", func(b *testing.B) {
		measure(b, page(core.SupportFilter{ClientID: clients[3], State: core.SupportDone}))
	})
	b.Run("client-new", func(b *testing.B) { measure(b, page(core.SupportFilter{ClientID: clients[3], State: core.SupportNew})) })
	b.Run("fleet-new", func(b *testing.B) { measure(b, page(core.SupportFilter{State: core.SupportNew})) })
	b.Run("fleet", func(b *testing.B) { measure(b, page(core.SupportFilter{})) })
	b.Run("scope-5", func(b *testing.B) { measure(b, page(core.SupportFilter{Scope: core.Only(clients[:5]...)})) })
	b.Run("device", func(b *testing.B) {
		i := 0
		measure(b, func() int {
			i++
			rs, err := st.DeviceSupportRequests(ctx, devices[(i*7919)%benchSupportDevices], first, 20)
			if err != nil {
				b.Fatal(err)
			}
			return len(rs)
		})
	})
}

// BenchmarkSupportList: the support request lists over 10,000 requests
// on SQLite.
func BenchmarkSupportList(b *testing.B) { benchSupportList(b, storetest.NewSQLite(b)) }

// BenchmarkSupportListPostgres is the same on PostgreSQL; skipped without
// WACHT_TEST_POSTGRES.
func BenchmarkSupportListPostgres(b *testing.B) { benchSupportList(b, storetest.NewPostgres(b)) }
