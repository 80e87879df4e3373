package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func wantRefused(t *testing.T, a *agent, env protocol.Envelope, code string) {
	t.Helper()
	var r protocol.Refused
	if env.Type != protocol.TypeRefused || protocol.DecodeData(env, &r) != nil || r.Code != code {
		t.Fatalf("got %s %s, want refused %s", env.Type, env.Data, code)
	}
	if st := a.closed(); st != 4003 {
		t.Fatalf("closed with %d, want 4003", st)
	}
}

func TestSessionRefusals(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)

	t.Run("unknown device", func(t *testing.T) {
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		a := &agent{t: t, id: 999, key: key}
		wantRefused(t, a, e.connect(a, nil), protocol.RefusedUnknown)
	})
	t.Run("forged key", func(t *testing.T) {
		a := e.enrollAgent("forged")
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		wantRefused(t, a, e.connect(a, other), protocol.RefusedBadProof)
		if e.gw.Hub().Connected(a.id) {
			t.Fatal("forged session registered")
		}
	})
	t.Run("revoked device", func(t *testing.T) {
		a := e.enrollAgent("revoked")
		if err := e.st.RevokeDevice(context.Background(), a.id); err != nil {
			t.Fatal(err)
		}
		wantRefused(t, a, e.connect(a, nil), protocol.RefusedRevoked)
	})
	t.Run("message before auth", func(t *testing.T) {
		a := e.enrollAgent("early")
		c, err := e.dial()
		if err != nil {
			t.Fatal(err)
		}
		a.conn = c
		a.read() // challenge
		a.send(protocol.TypeHeartbeat, "", nil)
		if st := a.closed(); st != websocket.StatusPolicyViolation {
			t.Fatalf("closed with %d, want policy violation", st)
		}
	})
}

func TestAuthTimeout(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) { o.AuthTimeout = 50 * time.Millisecond })
	c, err := e.dial()
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{t: t, conn: c}
	a.read() // challenge; then say nothing
	if _, err := a.tryRead(); err == nil {
		t.Fatal("silent client kept its connection")
	}
}

func TestResultsStoredOnceAndAcked(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		rec := &metricsRec{}
		e := newEnv(t, st, nil, func(o *Options) { o.Metrics = rec })
		a := e.enrollAgent("m1")
		e.connected(a)
		if !e.gw.Hub().Connected(a.id) {
			t.Fatal("not connected after welcome")
		}
		ctx := context.Background()
		d, err := st.GetDevice(ctx, a.id)
		if err != nil || d.LastSeen.IsZero() || d.AgentVersion != "1.2.3" {
			t.Fatalf("after auth: %+v, %v", d, err)
		}

		rs := batch(3, "b1")
		a.sendBatch("batch-1", rs)
		a.sendBatch("batch-1", rs) // redelivery after a lost ack
		if n, err := st.CountResults(ctx, a.id); err != nil || n != 3 {
			t.Fatalf("stored %d results (%v), want 3", n, err)
		}
		// Both commits reached the metrics before their acks.
		rec.mu.Lock()
		if !slices.Equal(rec.results, []int{3, 3}) {
			t.Errorf("batches recorded %v, want [3 3]", rec.results)
		}
		rec.mu.Unlock()
		states, err := st.ListCheckStates(ctx, a.id)
		if err != nil || len(states) != 3 {
			t.Fatalf("%d check states (%v), want 3", len(states), err)
		}

		// Unknown types are ignored; the session goes on.
		a.send("from-the-future", "x", map[string]int{"a": 1})
		a.send(protocol.TypeHeartbeat, "hb", nil)
		if env := a.read(); env.Type != protocol.TypeHeartbeatAck {
			t.Fatalf("got %s, want heartbeat_ack", env.Type)
		}
	})
}

// TestStructuredDataStored: a result with structured data and one without
// (an older agent) are stored together; the data comes back for the
// report.
func TestStructuredDataStored(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		e := newEnv(t, st, nil, nil)
		a := e.enrollAgent("m1")
		e.connected(a)
		data, err := protocol.EncodeEvents(protocol.Events{Total: 1, Events: []protocol.Event{{Time: protocol.Now(), Source: "disk", ID: "7", Text: "bad block"}}})
		if err != nil {
			t.Fatal(err)
		}
		rs := batch(2, "sd")
		rs.Results[0].Check, rs.Results[0].Data = "eventlog", data
		rs.Results[1].Check = "eventlog"
		rs.Results[1].Key = "old agent"
		a.sendBatch("batch-sd", rs)
		ctx := context.Background()
		d, err := st.GetDevice(ctx, a.id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.(core.ReportStore).ListClientResults(ctx, core.ResultQuery{ClientID: d.ClientID,
			Since: protocol.Now().Add(-time.Hour), Until: protocol.Now().Add(time.Hour), Names: []string{"eventlog"}})
		if err != nil || len(got) != 2 {
			t.Fatalf("stored %+v, %v", got, err)
		}
		for _, r := range got {
			ev, ok := protocol.ReadEvents(r.Data)
			switch r.ID {
			case "sd-0":
				if !ok || len(ev.Events) != 1 || ev.Events[0].Text != "bad block" {
					t.Errorf("structured result: %s", r.Data)
				}
			case "sd-1":
				if r.Data != nil {
					t.Errorf("older agent's result has data %s", r.Data)
				}
			}
		}
	})
}

func TestBadFramesCloseOnlyThatConnection(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	good := e.enrollAgent("good")
	e.connected(good)

	cases := []struct {
		name  string
		frame func(a *agent)
		want  websocket.StatusCode
	}{
		{"malformed json", func(a *agent) { a.raw([]byte(`{"v":1,"type":`)) }, websocket.StatusUnsupportedData},
		{"wrong version", func(a *agent) { a.raw([]byte(`{"v":2,"type":"heartbeat"}`)) }, websocket.StatusProtocolError},
		{"bad batch", func(a *agent) { a.send(protocol.TypeResults, "b", protocol.Results{}) }, websocket.StatusUnsupportedData},
		{"data without kind", func(a *agent) {
			rs := batch(1, "nokind")
			rs.Results[0].Data = json.RawMessage(`{"events":[]}`)
			a.send(protocol.TypeResults, "b", rs)
		}, websocket.StatusUnsupportedData},
		{"binary", func(a *agent) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			a.conn.Write(ctx, websocket.MessageBinary, []byte("{}"))
		}, websocket.StatusUnsupportedData},
		{"oversized", func(a *agent) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// The server may close before the whole frame is written.
			_ = a.conn.Write(ctx, websocket.MessageText, bytes.Repeat([]byte("x"), protocol.MaxMessageBytes+1))
		}, websocket.StatusMessageTooBig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := e.enrollAgent("bad-" + strings.ReplaceAll(c.name, " ", "-"))
			bad.t = t
			e.connected(bad)
			c.frame(bad)
			if st := bad.closed(); st != c.want {
				t.Fatalf("closed with %d, want %d", st, c.want)
			}
		})
	}

	good.sendBatch("after", batch(2, "good"))
	if n, _ := e.st.CountResults(context.Background(), good.id); n != 2 {
		t.Fatalf("good agent has %d results stored, want 2", n)
	}
}

// panicStore panics while storing results of one device.
type panicStore struct {
	Store
	device int64
}

func (p panicStore) SaveResults(ctx context.Context, id int64, rs []core.Result) error {
	if id == p.device {
		panic("boom")
	}
	return p.Store.SaveResults(ctx, id, rs)
}

func TestPanicEndsOnlyThatSession(t *testing.T) {
	ps := &panicStore{}
	e := newEnv(t, storetest.NewSQLite(t), func(s Store) Store { ps.Store = s; return ps }, nil)
	bad, good := e.enrollAgent("bad"), e.enrollAgent("good")
	ps.device = bad.id
	e.connected(bad)
	e.connected(good)
	bad.send(protocol.TypeResults, "b", batch(1, "bad"))
	if _, err := bad.tryRead(); err == nil {
		t.Fatal("session survived a panic")
	}
	good.sendBatch("g", batch(1, "good"))
}

// metricsRec records what the gateway tells its Metrics.
type metricsRec struct {
	mu       sync.Mutex
	results  []int
	commands []error
}

func (m *metricsRec) ResultsCommitted(n int, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.results = append(m.results, n)
}

func (m *metricsRec) CommandDone(_ time.Duration, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.commands = append(m.commands, err)
}

func TestCommandRoundTrip(t *testing.T) {
	rec := &metricsRec{}
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) { o.Metrics = rec })
	hub := e.gw.Hub()
	a := e.enrollAgent("m1")

	ctx := context.Background()
	if _, err := hub.Command(ctx, a.id, protocol.Command{Name: protocol.CommandRunChecks}); !errors.Is(err, core.ErrOffline) {
		t.Fatalf("command to an offline device: %v, want ErrOffline", err)
	}
	if n := hub.Sessions(); n != 0 {
		t.Fatalf("%d sessions before the agent connected", n)
	}
	e.connected(a)
	if n := hub.Sessions(); n != 1 {
		t.Fatalf("%d sessions with one agent connected", n)
	}

	// The in-test agent answers one command, echoing its arguments.
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, b, err := a.conn.Read(ctx)
		if err != nil {
			return
		}
		env, err := protocol.Decode(b)
		if err != nil {
			return
		}
		cmd, err := e.command(a.id, env)
		if err != nil {
			t.Errorf("in-test agent: %v", err)
			return
		}
		out, _ := protocol.Encode(protocol.TypeCommandResult, env.ID, protocol.CommandResult{OK: true, Output: cmd.Args})
		a.conn.Write(ctx, websocket.MessageText, out)
	}()
	res, err := hub.Command(ctx, a.id, protocol.Command{Name: protocol.CommandRunChecks, Args: json.RawMessage(`{"check":"disk"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || string(res.Output) != `{"check":"disk"}` {
		t.Fatalf("result %+v", res)
	}

	// An agent that never answers: the caller's deadline wins.
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := hub.Command(tctx, a.id, protocol.Command{Name: "noop"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered command: %v", err)
	}
	// Each command's outcome reached the metrics.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if c := rec.commands; len(c) != 3 || !errors.Is(c[0], core.ErrOffline) || c[1] != nil || !errors.Is(c[2], context.DeadlineExceeded) {
		t.Errorf("commands recorded %v, want offline, ok, timeout", c)
	}
}

func TestCommandFailsWhenConnectionDrops(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	a := e.enrollAgent("m1")
	e.connected(a)
	go func() {
		a.tryRead() // the command
		a.conn.Close(websocket.StatusNormalClosure, "bye")
	}()
	if _, err := e.gw.Hub().Command(context.Background(), a.id, protocol.Command{Name: "x"}); !errors.Is(err, core.ErrOffline) {
		t.Fatalf("got %v, want ErrOffline", err)
	}
}

func TestCommandResultFromAnotherDeviceIsIgnored(t *testing.T) {
	h := newHub(testLog(t), time.Second, nil, nil)
	p := &pendingCommand{deviceID: 1, reply: make(chan protocol.CommandResult, 1)}
	h.pending["cmd"] = p
	if h.deliver(2, "cmd", protocol.CommandResult{OK: true}) {
		t.Fatal("device 2 answered device 1's command")
	}
	if !h.deliver(1, "cmd", protocol.CommandResult{OK: true}) || !(<-p.reply).OK {
		t.Fatal("device 1's answer not delivered")
	}
}

func TestNewerSessionReplacesOlder(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	old := e.enrollAgent("m1")
	e.connected(old)
	newer := &agent{t: t, id: old.id, key: old.key, actionKey: old.actionKey}
	e.connected(newer)
	if st := old.closed(); st != websocket.StatusNormalClosure {
		t.Fatalf("old session closed with %d", st)
	}
	if !e.gw.Hub().Connected(old.id) {
		t.Fatal("device not connected after the old session ended")
	}
	newer.sendBatch("b", batch(1, "n"))
}

func TestDisconnect(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	a := e.enrollAgent("m1")
	e.connected(a)
	e.gw.Hub().Disconnect(a.id, "revoked by admin")
	if st := a.closed(); st != websocket.StatusNormalClosure {
		t.Fatalf("closed with %d", st)
	}
}

// blockingStore holds SaveResults until released.
type blockingStore struct {
	Store
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingStore) SaveResults(ctx context.Context, id int64, rs []core.Result) error {
	b.once.Do(func() { close(b.entered) })
	<-b.release
	return b.Store.SaveResults(ctx, id, rs)
}

func TestShutdownAcksInFlightBatch(t *testing.T) {
	bs := &blockingStore{entered: make(chan struct{}), release: make(chan struct{})}
	st := storetest.NewSQLite(t)
	e := newEnv(t, st, func(s Store) Store { bs.Store = s; return bs }, nil)
	a := e.enrollAgent("m1")
	e.connected(a)
	idle := e.enrollAgent("m2")
	e.connected(idle)

	a.send(protocol.TypeResults, "inflight", batch(2, "f"))
	<-bs.entered

	hub := e.gw.Hub()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- hub.Shutdown(ctx)
	}()
	// The idle session closes at once; new sessions are turned away.
	if code := idle.closed(); code != websocket.StatusGoingAway {
		t.Fatalf("idle session closed with %d, want going away", code)
	}
	if _, err := e.dial(); err == nil {
		t.Fatal("new session accepted during shutdown")
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a batch was in flight", err)
	default:
	}

	close(bs.release)
	env := a.read()
	if env.Type != protocol.TypeAck || env.ID != "inflight" {
		t.Fatalf("got %s %s, want the in-flight batch's ack", env.Type, env.ID)
	}
	if code := a.closed(); code != websocket.StatusGoingAway {
		t.Fatalf("closed with %d, want going away", code)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := st.CountResults(context.Background(), a.id); n != 2 {
		t.Fatalf("stored %d, want 2", n)
	}
	if hub.Connected(a.id) {
		t.Fatal("still connected after Shutdown")
	}
	resp, err := http.Get(e.srv.URL + protocol.PathWS)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("ws route after shutdown: %d", resp.StatusCode)
		}
	}
}
