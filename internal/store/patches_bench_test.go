package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

const (
	benchPatchDevices = 10000
	benchPatchClients = 20
	benchPatches      = 400
	benchMissing      = 40
)

// benchPatchCatalog is 400 distinct updates with a spread of sources,
// classifications and severities like a mixed Windows/Linux fleet's: most
// from Windows Update, a quarter third-party applications, the rest apt;
// about a third rated important or critical, with CVEs.
func benchPatchCatalog() []core.Update {
	r := rand.New(rand.NewPCG(19, 400))
	severities := []string{core.SeverityCritical, core.SeverityImportant, core.SeverityImportant, core.SeverityModerate,
		core.SeverityLow, "", "", "", "", ""}
	out := make([]core.Update, benchPatches)
	for i := range out {
		u := core.Update{Severity: severities[r.IntN(len(severities))], SizeBytes: int64(r.IntN(500 << 20)),
			ReleasedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(300)) * 24 * time.Hour)}
		switch {
		case i%4 == 1:
			u.Source, u.ID, u.Version = core.SourceWinget, fmt.Sprintf("Vendor%d.App%d", i%37, i), fmt.Sprintf("%d.%d", i%9, i%13)
			u.Title, u.Classification, u.Product = fmt.Sprintf("Application %d", i), core.ClassApplication, fmt.Sprint("product", i%30)
		case i%8 == 2:
			u.Source, u.ID, u.Version = core.SourceApt, fmt.Sprintf("libpkg%d", i), fmt.Sprintf("1.%d-1~deb12u1", i)
			u.Title, u.Classification = u.ID, core.ClassUpdate
			if u.Severity != "" {
				u.Classification = core.ClassSecurity
			}
		default:
			kb := 5030000 + i
			u.Source, u.ID, u.Version = core.SourceWindowsUpdate, fmt.Sprintf("%08x-4a7e-9b0a-3c7a-1c0e1e4f%04x", i*7919, i), "200"
			u.KB = fmt.Sprintf("KB%d", kb)
			u.Title = fmt.Sprintf("2026-%02d Cumulative Update for Windows 11 Version 24H2 for x64-based Systems (KB%d)", 1+i%12, kb)
			u.Classification = []string{core.ClassSecurity, core.ClassCritical, core.ClassDefinition, core.ClassUpdate,
				core.ClassDriver, core.ClassRollup}[r.IntN(6)]
			u.Reboot = core.RebootMay
		}
		if core.SeverityRank(u.Severity) >= 3 || u.Classification == core.ClassSecurity {
			for range 1 + r.IntN(6) {
				u.CVEs = append(u.CVEs, fmt.Sprintf("CVE-2026-%05d", r.IntN(40000)))
			}
		}
		u.Key = core.UpdateKey(u.Source, u.ID, u.Version)
		out[i] = u
	}
	return out
}

// benchReport is device i's report: 40 of the catalogue's updates, drawn
// with a skew (the first updates are missed by many devices, the last by
// few), first seen up to 60 days ago, one in ten failed once.
func benchReport(catalog []core.Update, i int, now time.Time) core.PatchReport {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	seen := map[int]bool{}
	rep := core.PatchReport{ScannedAt: now,
		Sources: []core.PatchSourceStatus{{Source: core.SourceWindowsUpdate, Status: core.ScanOK, ScannedAt: now, Missing: benchMissing}}}
	for len(rep.Missing) < benchMissing {
		// The square of a uniform draw favours low indexes.
		f := r.Float64()
		k := int(f * f * benchPatches)
		if seen[k] {
			continue
		}
		seen[k] = true
		m := core.MissingUpdate{Update: catalog[k], FirstSeen: now.Add(-time.Duration(r.IntN(60*24)) * time.Hour)}
		if r.IntN(10) == 0 {
			m.Failures, m.LastError = 1, &core.Text{EN: "0x80070643: installation failed", DE: "0x80070643: Installation fehlgeschlagen"}
		}
		rep.Missing = append(rep.Missing, m)
	}
	return rep
}

// benchPatchFleet fills st with 10,000 devices of 20 clients, each
// missing 40 of 400 updates (400,000 device_patches rows), saved as the
// gateway saves reports, by eight sessions at once; then it measures the
// fleet view's page queries, a device's page and a 40-update report,
// reporting p50 and p95. The setup is not timed.
func benchPatchFleet(b *testing.B, st *store.DB) {
	ctx := context.Background()
	start := time.Now()
	ids := make([]int64, benchPatchDevices)
	var clients []int64
	for c := range benchPatchClients {
		_, site, err := st.EnsureClientSite(ctx, fmt.Sprintf("Kunde %02d GmbH", c), "Zentrale")
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, site.ClientID)
		secret := []byte(fmt.Sprint("bench", c))
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, ClientID: site.ClientID, SiteID: site.ID}); err != nil {
			b.Fatal(err)
		}
		for i := c; i < benchPatchDevices; i += benchPatchClients {
			d := core.Device{Hostname: fmt.Sprintf("pc-%05d", i), OS: "windows", MachineID: fmt.Sprint("m", i), PublicKey: make([]byte, 32)}
			if err := st.Enroll(ctx, secret, &d, start); err != nil {
				b.Fatal(err)
			}
			ids[i] = d.ID
		}
	}
	catalog := benchPatchCatalog()
	now := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < benchPatchDevices; i += 8 {
				if err := st.SavePatchReport(ctx, ids[i], benchReport(catalog, i, now), now); err != nil {
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
		// What autovacuum does after a load like this in production (since
		// PostgreSQL 13 inserts trigger it too): statistics for the
		// planner, and the visibility map that lets the fleet view read
		// only device_patches_patch (an index-only scan).
		if _, err := st.SQL().ExecContext(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%s: setup of %d devices × %d missing updates in %v", st.Dialect(), benchPatchDevices, benchMissing,
		time.Since(start).Round(time.Second))

	page := func(f core.PatchFilter) func() int {
		return func() int {
			f.Limit = 50
			ps, _, err := st.ListPatches(ctx, f)
			if err != nil {
				b.Fatal(err)
			}
			return len(ps)
		}
	}
	// A technician's scope: the devices of five clients (2,500 IDs).
	var scope []int64
	for i, id := range ids {
		if i%benchPatchClients < 5 {
			scope = append(scope, id)
		}
	}
	cve := catalog[0].CVEs
	for _, u := range catalog {
		if len(u.CVEs) > 0 {
			cve = u.CVEs
			break
		}
	}
	b.Run("fleet", func(b *testing.B) { measure(b, page(core.PatchFilter{})) })
	b.Run("fleet-page-5", func(b *testing.B) { measure(b, page(core.PatchFilter{Offset: 200})) })
	b.Run("client", func(b *testing.B) { measure(b, page(core.PatchFilter{ClientID: clients[3]})) })
	b.Run("important", func(b *testing.B) { measure(b, page(core.PatchFilter{MinSeverity: core.SeverityImportant})) })
	b.Run("cve", func(b *testing.B) { measure(b, page(core.PatchFilter{CVE: cve[0]})) })
	b.Run("search", func(b *testing.B) { measure(b, page(core.PatchFilter{Search: "kb50301"})) })
	b.Run("tenant-2500", func(b *testing.B) { measure(b, page(core.PatchFilter{DeviceIDs: scope})) })
	b.Run("device", func(b *testing.B) {
		i := 0
		measure(b, func() int {
			i++
			id := ids[(i*7919)%benchPatchDevices]
			dps, err := st.DevicePatches(ctx, id)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := st.DevicePatchStatus(ctx, id); err != nil {
				b.Fatal(err)
			}
			if _, err := st.PatchAttempts(ctx, id, 50); err != nil {
				b.Fatal(err)
			}
			return len(dps)
		})
	})
	b.Run("save-40", func(b *testing.B) {
		i := 0
		measure(b, func() int {
			// Another device's updates for device i: 40 rows replaced.
			i++
			d := (i * 7919) % benchPatchDevices
			rep := benchReport(catalog, d+benchPatchDevices, now)
			rep.Attempts = []core.PatchAttempt{{Key: rep.Missing[0].Key, Source: rep.Missing[0].Source, StartedAt: now.Add(time.Duration(i) * time.Millisecond),
				Result: core.PatchFailed, Code: "0x80070643"}}
			if err := st.SavePatchReport(ctx, ids[d], rep, now); err != nil {
				b.Fatal(err)
			}
			return len(rep.Missing)
		})
	})
}

// BenchmarkPatchFleet: the fleet patch view over 10,000 devices × 40
// missing updates on SQLite.
func BenchmarkPatchFleet(b *testing.B) { benchPatchFleet(b, storetest.NewSQLite(b)) }

// BenchmarkPatchFleetPostgres is the same on PostgreSQL; skipped without
// WACHT_TEST_POSTGRES.
func BenchmarkPatchFleetPostgres(b *testing.B) { benchPatchFleet(b, storetest.NewPostgres(b)) }
