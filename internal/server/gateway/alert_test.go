package gateway

import (
	"context"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// recordingHook is an AlertHook that records its calls.
type recordingHook struct {
	mu       sync.Mutex
	batches  [][]core.Result
	goodbyes []string
}

func (h *recordingHook) OnResults(_ int64, rs []core.Result) {
	h.mu.Lock()
	h.batches = append(h.batches, rs)
	h.mu.Unlock()
}

func (h *recordingHook) Goodbye(_ context.Context, _ int64, reason string) error {
	h.mu.Lock()
	h.goodbyes = append(h.goodbyes, reason)
	h.mu.Unlock()
	return nil
}

func TestAlertHookSeesCommittedBatchesAndGoodbyes(t *testing.T) {
	h := &recordingHook{}
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) { o.Alerts = h })
	a := e.enrollAgent("m1")
	e.connected(a)
	a.sendBatch("b1", batch(2, "x")) // returns after the ack
	h.mu.Lock()
	if len(h.batches) != 1 || len(h.batches[0]) != 2 {
		t.Errorf("hook saw %d batches before the ack, want 1 of 2 results", len(h.batches))
	}
	h.mu.Unlock()
	a.send(protocol.TypeGoodbye, "", protocol.Goodbye{Reason: "nap"}) // malformed: ignored
	a.send(protocol.TypeGoodbye, "", protocol.Goodbye{Reason: protocol.GoodbyeReboot})
	a.send(protocol.TypeHeartbeat, "hb", nil)
	if env := a.read(); env.Type != protocol.TypeHeartbeatAck {
		t.Fatalf("got %s, want heartbeat_ack (the session goes on)", env.Type)
	}
	waitFor(t, "the goodbye to reach the hook", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.goodbyes) > 0
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.goodbyes) != 1 || h.goodbyes[0] != protocol.GoodbyeReboot {
		t.Errorf("goodbyes = %v, want [reboot]", h.goodbyes)
	}
}
