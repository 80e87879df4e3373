package api_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
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
	q := api.NewAuditQueue(&flakyAudit{AuditStore: st, failures: 2}, nil)
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
	q := api.NewAuditQueue(&flakyAudit{AuditStore: storetest.NewSQLite(t), failures: -1}, nil)
	q.Add(core.AuditEntry{Actor: "user:a@example.com", Action: "device.run-checks", Target: "device:1"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := q.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want the deadline", err)
	}
}
