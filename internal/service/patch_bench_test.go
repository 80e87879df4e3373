package service_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// BenchmarkPatchCompliance measures the compliance and vulnerability view
// of one client of WACHT_BENCH_DEVICES devices (default 500) with 40
// missing updates each (400 distinct), under a patch policy: every device
// is judged under its own effective policy. It reports p95 per call.
func BenchmarkPatchCompliance(b *testing.B) {
	n := 500
	if v, err := strconv.Atoi(os.Getenv("WACHT_BENCH_DEVICES")); err == nil && v > 0 {
		n = v
	}
	for _, eng := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", storetest.NewSQLite}, {"postgres", storetest.NewPostgres}} {
		b.Run(eng.name, func(b *testing.B) {
			st := eng.open(b)
			ctx := context.Background()
			_, site, err := st.EnsureClientSite(ctx, "Bench GmbH", "HQ")
			if err != nil {
				b.Fatal(err)
			}
			p := core.Policy{Name: "Patches", Checks: []core.PolicyCheck{}, Patch: &core.PatchPolicy{Enabled: true,
				AutoApprove: []core.PatchRule{{Classification: core.ClassSecurity}}}}
			if err := st.CreatePolicy(ctx, &p); err != nil {
				b.Fatal(err)
			}
			if err := st.SetAssignments(ctx, core.LevelClient, site.ClientID, []int64{p.ID}); err != nil {
				b.Fatal(err)
			}
			now := time.Now().UTC().Truncate(time.Second)
			for i := range n {
				secret := auth.NewSecret("")
				if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
					b.Fatal(err)
				}
				d := core.Device{Hostname: fmt.Sprintf("pc-%05d", i), OS: "linux", MachineID: fmt.Sprintf("m%d", i), PublicKey: make([]byte, 32)}
				if err := st.Enroll(ctx, auth.HashSecret(secret), &d, now); err != nil {
					b.Fatal(err)
				}
				var r core.PatchReport
				r.ScannedAt = now
				for j := range 40 {
					k := (i*7 + j*10) % 400
					class := core.ClassUpdate
					if k%4 == 0 {
						class = core.ClassSecurity
					}
					id := fmt.Sprintf("pkg%03d", k)
					r.Missing = append(r.Missing, core.MissingUpdate{Update: core.Update{Key: core.UpdateKey(core.SourceApt, id, "2"), Source: core.SourceApt,
						ID: id, Version: "2", Title: id, Classification: class, Severity: core.SeverityImportant, CVEs: []string{"CVE-2026-" + strconv.Itoa(10000+k)}},
						FirstSeen: now.Add(-time.Duration(k) * time.Hour)})
				}
				if err := st.SavePatchReport(ctx, d.ID, r, now); err != nil {
					b.Fatal(err)
				}
			}
			svc := service.New(service.Deps{Store: st})
			var times []time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				cs, err := svc.PatchCompliance(ctx, service.CLI, site.ClientID)
				times = append(times, time.Since(start))
				if err != nil || len(cs) != 1 || cs[0].Devices != n {
					b.Fatalf("compliance = %+v, %v", cs, err)
				}
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			b.ReportMetric(float64(times[len(times)*95/100].Milliseconds()), "p95-ms")
		})
	}
}
