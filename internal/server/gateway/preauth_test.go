package gateway

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/logtest"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/preauth"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestReadLimitUntilAuthenticated: before authenticating, a frame larger
// than an auth frame ends the connection before the server reads it (H2:
// the 4 MiB limit applied from the first frame); afterwards an agent may
// send large frames again.
func TestReadLimitUntilAuthenticated(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	c, err := e.dial()
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, conn: c}
	a.read() // challenge
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pad := strings.Repeat("x", 64<<10)
	_ = c.Write(ctx, websocket.MessageText, []byte(`{"v":1,"type":"auth","data":{"device_id":1,"hostname":"`+pad+`"}}`))
	if st := a.closed(); st != websocket.StatusMessageTooBig {
		t.Fatalf("a 64 KiB frame before auth closed with %d, want %d (too big)", st, websocket.StatusMessageTooBig)
	}

	good := e.enrollAgent("m1")
	e.connected(good)
	good.send("from-the-future", "x", map[string]string{"pad": pad}) // ignored, not too big
	good.sendBatch("after", batch(1, "b"))
}

// waitingSocket opens an agent websocket, reads the challenge and then
// says nothing.
func (e *env) waitingSocket() *agent {
	e.t.Helper()
	c, err := e.dial()
	if err != nil {
		e.t.Fatal(err)
	}
	a := &agent{t: e.t, conn: c}
	a.read() // challenge
	return a
}

// TestUnauthenticatedCapDropsOldest: beyond the per-source cap the session
// that waited longest for its auth frame is closed, not the newcomer, and a
// real agent still gets in (H2: nothing capped unauthenticated sessions).
func TestUnauthenticatedCapDropsOldest(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) {
		o.MaxUnauthenticatedPerSource = 3
		o.AuthTimeout = time.Minute
	})
	var idle []*agent
	for range 3 {
		idle = append(idle, e.waitingSocket())
	}
	time.Sleep(preauth.MinWait) // only those waiting that long are dropped
	idle = append(idle, e.waitingSocket())
	if _, err := idle[0].tryRead(); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the oldest waiting session: %v, want it closed by the server", err)
	}
	for _, a := range idle[1:] {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, _, err := a.conn.Read(ctx)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a newer waiting session: %v, want it still open", err)
		}
	}
	good := e.enrollAgent("m1")
	e.connected(good)
	good.sendBatch("b", batch(1, "b"))
}

// TestUnauthenticatedFailuresLoggedAsSummary: failed and refused
// unauthenticated sessions write no line each (L10: log flooding), but one
// summary line with counts.
func TestUnauthenticatedFailuresLoggedAsSummary(t *testing.T) {
	log, logs := logtest.Logger()
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) {
		o.Log = log
		o.AuthTimeout = 100 * time.Millisecond
	})
	for range 20 {
		e.waitingSocket() // and the auth deadline passes
	}
	for range 5 {
		a := e.waitingSocket()
		a.conn.CloseNow()
	}
	stranger := e.waitingSocket()
	stranger.send(protocol.TypeAuth, "", protocol.Auth{DeviceID: 4711, Signature: make([]byte, 64)})
	stranger.closed()
	for range 3 {
		a := e.waitingSocket()
		a.raw([]byte(`{"v":1,"type":`))
		a.closed()
	}
	time.Sleep(300 * time.Millisecond) // the last deadlines pass
	if got := logs.String(); got != "" {
		t.Fatalf("logged before the summary interval ended:\n%s", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.gw.Hub().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	got := logs.String()
	if strings.Count(got, "\n") != 1 {
		t.Fatalf("want one summary line, got:\n%s", got)
	}
	for _, want := range []string{"auth_timeout=20", "no_auth=5", "unknown_device=1", "malformed=3"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %s", got, want)
		}
	}
}
