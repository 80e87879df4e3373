package gateway

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func TestSeenBufferKeepsNewestAndRetries(t *testing.T) {
	t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	var writes []map[int64]time.Time
	fail := true
	b := newSeenBuffer(func(_ context.Context, m map[int64]time.Time) error {
		writes = append(writes, maps.Clone(m))
		if fail {
			return errors.New("database is locked")
		}
		return nil
	}, slog.New(slog.DiscardHandler))
	b.flush(context.Background()) // nothing noted: no write
	b.note(1, t0.Add(time.Second))
	b.note(1, t0) // older: ignored
	b.note(2, t0)
	b.flush(context.Background()) // fails: kept
	b.note(2, t0.Add(time.Minute))
	fail = false
	b.flush(context.Background())
	b.flush(context.Background()) // nothing new
	want := []map[int64]time.Time{
		{1: t0.Add(time.Second), 2: t0},
		{1: t0.Add(time.Second), 2: t0.Add(time.Minute)},
	}
	if len(writes) != len(want) || !maps.Equal(writes[0], want[0]) || !maps.Equal(writes[1], want[1]) {
		t.Errorf("writes = %v, want %v", writes, want)
	}
}

// TestHeartbeatsReachLastSeen: a heartbeat's time is written by the next
// flush, and the last ones by Shutdown.
func TestHeartbeatsReachLastSeen(t *testing.T) {
	st := storetest.NewSQLite(t)
	now := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	e := newEnv(t, st, nil, func(o *Options) {
		o.Heartbeat = 300 * time.Millisecond
		o.Now = func() time.Time { return *clock.Load() }
	})
	a := e.enrollAgent("m1")
	e.connected(a)
	heartbeat := func(at time.Time) {
		clock.Store(&at)
		a.send(protocol.TypeHeartbeat, "hb", nil)
		if env := a.read(); env.Type != protocol.TypeHeartbeatAck {
			t.Fatalf("got %s, want heartbeat_ack", env.Type)
		}
	}
	lastSeen := func() time.Time {
		d, err := st.GetDevice(context.Background(), a.id)
		if err != nil {
			t.Fatal(err)
		}
		return d.LastSeen
	}
	heartbeat(now.Add(time.Minute))
	waitFor(t, "the flush of last_seen", func() bool { return !lastSeen().Before(now.Add(time.Minute)) })
	heartbeat(now.Add(2 * time.Minute))
	if err := e.gw.Hub().Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := lastSeen(); !got.Equal(now.Add(2 * time.Minute)) {
		t.Errorf("last_seen after shutdown = %v, want the last heartbeat's %v", got, now.Add(2*time.Minute))
	}
}
