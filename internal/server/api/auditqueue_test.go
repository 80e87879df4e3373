package api_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// flakyAudit fails the first failures writes, or every write if negative.
type flakyAudit struct {
	core.AuditStore
	failures int32
	calls    atomic.Int32
}

func (f *flakyAudit) Audit(ctx context.Context, e core.AuditEntry) error {
	if n := f.calls.Add(1); f.failures < 0 || n <= f.failures {
		return errors.New("database unavailable")
	}
	return f.AuditStore.Audit(ctx, e)
}

// The queue writes every entry once, in the order added, with the time it
// was added, retrying failed writes; Close waits for all of them.
func TestAuditQueueWritesEveryEntryInOrder(t *testing.T) {
	st := storetest.NewSQLite(t)
	q := service.NewAuditQueue(&flakyAudit{AuditStore: st, failures: 2}, nil)
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	const n = 50
	for i := range n {
		q.Add(core.AuditEntry{At: at.Add(time.Duration(i) * time.Millisecond), Actor: "user:a@example.com",
			Action: "device.run-checks", Target: fmt.Sprintf("device:%d", i), Result: core.AuditOK})
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	es, err := st.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != n {
		t.Fatalf("%d entries written, want %d", len(es), n)
	}
	for i, e := range es { // newest first
		want := n - 1 - i
		if e.Target != fmt.Sprintf("device:%d", want) || !e.At.Equal(at.Add(time.Duration(want)*time.Millisecond)) {
			t.Fatalf("entry %d: %s at %v, want device:%d at its own time", i, e.Target, e.At, want)
		}
	}
	if bad, checked, err := st.VerifyAudit(ctx); err != nil || bad != 0 || checked != n {
		t.Fatalf("chain: %d checked, first bad %d, %v", checked, bad, err)
	}
}

// A store that never recovers: Close gives up at its deadline and says so
// instead of hanging.
func TestAuditQueueCloseGivesUp(t *testing.T) {
	q := service.NewAuditQueue(&flakyAudit{AuditStore: storetest.NewSQLite(t), failures: -1}, nil)
	q.Add(core.AuditEntry{Actor: "user:a@example.com", Action: "device.run-checks", Target: "device:1"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want the deadline", err)
	}
}

// BenchmarkRunChecks measures the server's own share of a command round
// trip (the agent answers at once), with the audit entry written before
// the reply and through the AuditQueue, on an idle store and while
// another goroutine ingests results as agents do.
func BenchmarkRunChecks(b *testing.B) {
	for _, e := range engines {
		for _, load := range []string{"idle", "ingest"} {
			for _, queued := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/%s/queued=%v", e.name, load, queued), func(b *testing.B) {
					benchRunChecks(b, e.open(b), load == "ingest", queued)
				})
			}
		}
	}
}

func benchRunChecks(b *testing.B, st *store.DB, ingest, queued bool) {
	ctx := context.Background()
	_, site, err := st.EnsureClientSite(ctx, "Acme", "HQ")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: []byte("s"), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		b.Fatal(err)
	}
	var devs [2]core.Device
	for i := range devs {
		devs[i] = core.Device{Hostname: fmt.Sprint("pc", i), OS: "linux", MachineID: fmt.Sprint("m", i), PublicKey: make([]byte, 32)}
		if err := st.Enroll(ctx, []byte("s"), &devs[i], time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	u := core.User{Email: "admin@example.com", PasswordHash: "x", Role: core.RoleAdmin}
	if err := st.CreateUser(ctx, &u); err != nil {
		b.Fatal(err)
	}
	var q *service.AuditQueue
	if queued {
		q = service.NewAuditQueue(st, nil)
	}
	svc := service.New(service.Deps{Store: st, Commander: &fakeCommander{res: protocol.CommandResult{OK: true}}, Audits: q})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ingest; n++ {
			select {
			case <-stop:
				return
			default:
			}
			rs := make([]core.Result, 100)
			for i := range rs {
				v := float64(i)
				rs[i] = core.Result{ID: fmt.Sprintf("r%d-%d", n, i), Check: fmt.Sprint("c", i%15), Status: core.StatusOK, Value: &v, At: time.Now()}
			}
			st.SaveResults(ctx, devs[1].ID, rs)
		}
	}()
	for b.Loop() {
		if _, err := svc.RunChecks(ctx, u, devs[0].ID); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	<-done
	if q != nil {
		if err := q.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
