package report_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// BenchmarkDailyReport measures loading, building and rendering one
// client's report over a busy day: BENCH_DEVICES devices (default 50), each
// with a disk failing every 5 minutes all day (288 results) and an
// event-log result with three events every 15 minutes (96 results).
// PostgreSQL too with WACHT_TEST_POSTGRES.
func BenchmarkDailyReport(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("BENCH_DEVICES")); err == nil && v > 0 {
		n = v
	}
	for _, e := range []struct {
		name string
		open func(testing.TB) *store.DB
	}{{"sqlite", func(t testing.TB) *store.DB { return storetest.NewSQLite(t) }}, {"postgres", func(t testing.TB) *store.DB { return storetest.NewPostgres(t) }}} {
		b.Run(e.name, func(b *testing.B) {
			st := e.open(b)
			c := core.Client{Name: "Bench GmbH", Contact: core.Contact{ContactEmail: "it@bench.example", ReportLang: "de"}}
			if err := st.CreateClient(ctx, &c); err != nil {
				b.Fatal(err)
			}
			site := core.Site{ClientID: c.ID, Name: "Zentrale"}
			if err := st.CreateSite(ctx, &site); err != nil {
				b.Fatal(err)
			}
			for i := range n {
				host := fmt.Sprintf("pc%03d", i)
				secret := []byte("s-" + host)
				if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, ClientID: c.ID, SiteID: site.ID}); err != nil {
					b.Fatal(err)
				}
				d := core.Device{Hostname: host, OS: "windows", MachineID: host, PublicKey: []byte(host), Role: "workstation"}
				if err := st.Enroll(ctx, secret, &d, now.Add(-48*time.Hour)); err != nil {
					b.Fatal(err)
				}
				var rs []core.Result
				for m := 0; m < 24*60; m += 5 {
					at := now.Add(-time.Duration(m+1) * time.Minute)
					rs = append(rs, core.Result{ID: fmt.Sprintf("%s-d-%d", host, m), Check: "disk", Key: "C:", Status: core.StatusFailure,
						Value: fp(97.5), Unit: "%", Message: core.Text{EN: "C: 97.5% used", DE: "C: 97,5 % belegt"}, At: at})
					if m%15 == 0 {
						r := eventResult(b, core.StatusFailure, at, 3, event(at, "disk", "7", "bad block"),
							event(at, "Service Control Manager", "7000", "Veeam"), event(at, "app", fmt.Sprint(m), "crash"))
						r.ID = fmt.Sprintf("%s-e-%d", host, m)
						rs = append(rs, r)
					}
				}
				if err := st.SaveResults(ctx, d.ID, rs); err != nil {
					b.Fatal(err)
				}
			}
			env, err := report.LoadEnv(ctx, st)
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				d, err := report.Load(ctx, st, env, c, nil, now)
				if err != nil {
					b.Fatal(err)
				}
				r := report.Build(d, "de")
				if r.EventCount != n*96*3 || len(r.Failed) != n {
					b.Fatalf("events %d, failed %d", r.EventCount, len(r.Failed))
				}
				if _, err := report.Render(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
