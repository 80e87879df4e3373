package alert

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// BenchmarkFailureToMail measures the time from a failing result reaching
// the server (just before the batch is stored, as the gateway does) to the
// mail being accepted by a real SMTP server (STARTTLS), under load: in each
// round every device sends a batch of 20 results at once, one of which
// flips between failure and ok, so each round mails one outage or recovery
// per device. Reports p50/p95/max in ms. BENCH_DEVICES sets the device
// count (default 200); WACHT_TEST_POSTGRES adds a PostgreSQL run.
//
//	go test ./internal/alert -run '^$' -bench FailureToMail -benchtime 5x
func BenchmarkFailureToMail(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchFailureToMail(b, storetest.NewSQLite(b)) })
	if os.Getenv(storetest.PostgresEnv) != "" {
		b.Run("postgres", func(b *testing.B) { benchFailureToMail(b, storetest.NewPostgres(b)) })
	}
}

func benchFailureToMail(b *testing.B, st *store.DB) {
	devices := 200
	if v := os.Getenv("BENCH_DEVICES"); v != "" {
		fmt.Sscan(v, &devices)
	}
	ctx := context.Background()
	srv := alerttest.Start(b, alerttest.Options{Mode: "starttls"})
	s := Settings{SMTP: smtpConfig(srv, "starttls"), FlapChanges: 1 << 20}
	if err := SaveSettings(ctx, st, s); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateRecipient(ctx, &core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail,
		Target: "noc@provider.example", Lang: "en", Hours: core.HoursAlways}); err != nil {
		b.Fatal(err)
	}
	var devs []core.Device
	for i := range devices {
		_, site, err := st.EnsureClientSite(ctx, fmt.Sprintf("Client %d", i%20), "Main")
		if err != nil {
			b.Fatal(err)
		}
		secret := fmt.Sprintf("bench-%d", i)
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: []byte(secret), SiteID: site.ID}); err != nil {
			b.Fatal(err)
		}
		d := core.Device{Hostname: fmt.Sprintf("bench-%04d", i), MachineID: secret, PublicKey: []byte(secret), Role: core.DeviceRoleServer}
		if err := st.Enroll(ctx, []byte(secret), &d, time.Now()); err != nil {
			b.Fatal(err)
		}
		devs = append(devs, d)
	}
	e := New(Options{Store: st, SMTPTLS: srv.CertPool})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(rctx); close(done) }()
	defer func() { cancel(); <-done }()

	var lat, commits []time.Duration
	sent := 0
	b.ResetTimer()
	for round := range b.N {
		status := core.StatusFailure
		if round%2 == 1 {
			status = core.StatusOK
		}
		start := make(map[string]time.Time, len(devs))
		var mu sync.Mutex
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32) // concurrent agent sessions storing batches
		for _, d := range devs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				now := time.Now()
				rs := make([]core.Result, 0, 20)
				for k := range 19 {
					rs = append(rs, core.Result{ID: fmt.Sprintf("%d-%d-%d", d.ID, round, k), Check: fmt.Sprintf("c%02d", k),
						Status: core.StatusOK, At: now})
				}
				v := 97.0
				rs = append(rs, core.Result{ID: fmt.Sprintf("%d-%d-disk", d.ID, round), Check: "disk", Key: "/",
					Status: status, Value: &v, Unit: "%", Message: core.Text{EN: "full", DE: "voll"}, At: now})
				mu.Lock()
				start[d.Hostname] = now
				mu.Unlock()
				if err := st.SaveResults(ctx, d.ID, rs); err != nil {
					b.Error(err)
					return
				}
				e.OnResults(d.ID, rs)
				mu.Lock()
				commits = append(commits, time.Since(now))
				mu.Unlock()
			}()
		}
		wg.Wait()
		sent += len(devs)
		mails := srv.WaitFor(b, sent, 5*time.Minute)
		for _, m := range mails[sent-len(devs) : sent] {
			subj := m.Header("Subject")
			i := strings.Index(subj, "bench-")
			if i < 0 {
				b.Fatalf("unexpected mail %q", subj)
			}
			host := subj[i : i+len("bench-0000")]
			lat = append(lat, m.At.Sub(start[host]))
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(commits)
	pct := func(ds []time.Duration, p float64) float64 {
		return float64(ds[int(p*float64(len(ds)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(lat, 0.50), "p50_ms")
	b.ReportMetric(pct(lat, 0.95), "p95_ms")
	b.ReportMetric(pct(lat, 1), "max_ms")
	// The share of it spent storing the batch (the ack waits for that only).
	b.ReportMetric(pct(commits, 0.95), "commit_p95_ms")
	b.ReportMetric(float64(len(lat)), "mails")
}
