package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// fakeServer speaks the server side of the agent protocol.
type fakeServer struct {
	t        *testing.T
	srv      *httptest.Server
	pub      ed25519.PublicKey
	deviceID int64
	signer   *actionkey.Signer // the server's action key
	// unpinned starts the agent without a pinned action key (enrolled
	// before servers handed it out).
	unpinned bool

	// blobs, if set, serves the blob route (package files).
	blobs  atomic.Pointer[http.Handler]
	ack    atomic.Bool // acknowledge results batches
	silent atomic.Bool // answer no heartbeats
	refuse atomic.Pointer[protocol.Refused]
	// inventory, if set, answers inventory reports.
	inventory atomic.Pointer[fakeInventory]
	// patches, if set, answers patch reports.
	patches atomic.Pointer[fakePatches]
	// support, if set, answers support requests.
	support atomic.Pointer[fakeSupport]
	conns   atomic.Int32
	beats   atomic.Int32
	badAuth atomic.Int32

	mu       sync.Mutex
	received []core.Result
	goodbyes []string
	closes   []websocket.StatusCode
	cmdOut   chan protocol.Envelope
	commands chan protocol.Envelope // sent to the agent after welcome
}

func newFakeServer(t *testing.T, pub ed25519.PublicKey) *fakeServer {
	_, actionKey, _ := ed25519.GenerateKey(rand.Reader)
	fs := &fakeServer{t: t, pub: pub, deviceID: 42, signer: actionkey.NewSigner(actionKey, nil),
		cmdOut: make(chan protocol.Envelope, 8), commands: make(chan protocol.Envelope, 8)}
	fs.ack.Store(true)
	fs.srv = httptest.NewTLSServer(http.HandlerFunc(fs.serveWS))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fakeServer) send(ctx context.Context, c *websocket.Conn, typ, id string, data any) error {
	b, err := protocol.Encode(typ, id, data)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}

func (fs *fakeServer) read(ctx context.Context, c *websocket.Conn) (protocol.Envelope, error) {
	_, b, err := c.Read(ctx)
	if err != nil {
		return protocol.Envelope{}, err
	}
	return protocol.Decode(b)
}

func (fs *fakeServer) serveWS(w http.ResponseWriter, r *http.Request) {
	if h := fs.blobs.Load(); h != nil && strings.HasPrefix(r.URL.Path, blobPath) {
		(*h).ServeHTTP(w, r)
		return
	}
	if r.URL.Path != protocol.PathWS {
		http.NotFound(w, r)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(protocol.MaxMessageBytes)
	fs.conns.Add(1)
	ctx := r.Context()
	nonce := make([]byte, 32)
	rand.Read(nonce)
	if err := fs.send(ctx, c, protocol.TypeChallenge, "", protocol.Challenge{Nonce: nonce}); err != nil {
		return
	}
	env, err := fs.read(ctx, c)
	if err != nil || env.Type != protocol.TypeAuth {
		fs.badAuth.Add(1)
		return
	}
	var auth protocol.Auth
	if protocol.DecodeData(env, &auth) != nil || auth.DeviceID != fs.deviceID || !protocol.VerifyAuth(fs.pub, nonce, auth.DeviceID, auth.Signature) {
		fs.badAuth.Add(1)
		fs.send(ctx, c, protocol.TypeRefused, "", protocol.Refused{Code: protocol.RefusedBadProof})
		c.Close(4003, "bad signature")
		return
	}
	if ref := fs.refuse.Load(); ref != nil {
		fs.send(ctx, c, protocol.TypeRefused, "", ref)
		c.Close(4003, ref.Code)
		return
	}
	if err := fs.send(ctx, c, protocol.TypeWelcome, "", protocol.Welcome{DeviceID: fs.deviceID, HeartbeatSeconds: 30,
		Time: time.Now(), ActionKey: fs.signer.Public()}); err != nil {
		return
	}
	// A message type from a future server version: must be ignored.
	fs.send(ctx, c, "future_feature", "x1", map[string]int{"answer": 42})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case cmd := <-fs.commands:
				fs.send(ctx, c, cmd.Type, cmd.ID, json.RawMessage(cmd.Data))
			}
		}
	}()
	for {
		env, err := fs.read(ctx, c)
		if err != nil {
			fs.mu.Lock()
			fs.closes = append(fs.closes, websocket.CloseStatus(err))
			fs.mu.Unlock()
			return
		}
		switch env.Type {
		case protocol.TypeHeartbeat:
			fs.beats.Add(1)
			if !fs.silent.Load() {
				fs.send(ctx, c, protocol.TypeHeartbeatAck, "", struct{}{})
			}
		case protocol.TypeResults:
			var rs protocol.Results
			if err := protocol.DecodeData(env, &rs); err != nil || rs.Validate() != nil {
				fs.t.Errorf("bad batch: %v %v", err, rs.Validate())
				return
			}
			fs.mu.Lock()
			fs.received = append(fs.received, rs.Results...)
			fs.mu.Unlock()
			if fs.ack.Load() {
				fs.send(ctx, c, protocol.TypeAck, env.ID, protocol.Ack{Stored: len(rs.Results)})
			}
		case protocol.TypeInventory:
			if fi := fs.inventory.Load(); fi != nil {
				if ack := fi.receive(fs.t, env); ack != nil {
					fs.send(ctx, c, protocol.TypeInventoryAck, env.ID, ack)
				}
			}
		case protocol.TypeGoodbye:
			var g protocol.Goodbye
			if protocol.DecodeData(env, &g) == nil {
				fs.mu.Lock()
				fs.goodbyes = append(fs.goodbyes, g.Reason)
				fs.mu.Unlock()
			}
		case protocol.TypePatchReport:
			if fp := fs.patches.Load(); fp != nil {
				switch fp.receive(fs.t, env) {
				case patchAck:
					fs.send(ctx, c, protocol.TypePatchAck, env.ID, protocol.PatchAck{Status: protocol.PatchStored})
				case patchReject:
					fs.send(ctx, c, protocol.TypePatchAck, env.ID, protocol.PatchAck{Status: protocol.PatchRejected, Reason: "malformed"})
				case patchDrop:
					c.Close(websocket.StatusGoingAway, "restarting")
					return
				}
			}
		case protocol.TypeSupportRequest:
			if f := fs.support.Load(); f != nil {
				switch f.receive(fs.t, env) {
				case patchAck:
					fs.send(ctx, c, protocol.TypeSupportAck, env.ID, protocol.SupportAck{Status: protocol.SupportStored})
				case patchReject:
					fs.send(ctx, c, protocol.TypeSupportAck, env.ID, protocol.SupportAck{Status: protocol.SupportRejected, Reason: "malformed"})
				case patchDrop:
					c.Close(websocket.StatusGoingAway, "restarting")
					return
				}
			}
		case protocol.TypeCommandResult:
			fs.cmdOut <- env
		}
	}
}

func (fs *fakeServer) results() []core.Result {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]core.Result(nil), fs.received...)
}

// fakeCheck reports n results per run.
type fakeCheck struct {
	n    int
	runs atomic.Int32
}

func (f *fakeCheck) Run(_ context.Context, r check.Reporter) error {
	f.runs.Add(1)
	for i := range f.n {
		r.Report(check.Result{Key: fmt.Sprint(i), Status: core.StatusOK, Value: check.Float(float64(i)), Unit: "%",
			Message: core.Text{EN: "ok", DE: "ok"}})
	}
	return nil
}

type failingCheck struct{ err error }

func (f failingCheck) Run(context.Context, check.Reporter) error { return f.err }

type testAgent struct {
	*Agent
	dir    string
	fs     *fakeServer
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// startAgent enrolls a data folder against fs's address and runs an agent.
func startAgent(t *testing.T, checks []NamedCheck, tweak func(*Options), fs func(ed25519.PublicKey) *fakeServer) *testAgent {
	t.Helper()
	dir := t.TempDir()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	srv := fs(pub)
	if err := SaveKey(dir, key); err != nil {
		t.Fatal(err)
	}
	cfg := Config{ServerURL: srv.srv.URL, Fingerprint: protocol.Fingerprint(srv.srv.Certificate().Raw), DeviceID: srv.deviceID}
	if !srv.unpinned {
		cfg.ActionKey = srv.signer.Public()
	}
	if err := SaveConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	return runAgentIn(t, dir, srv, checks, tweak)
}

// runAgentIn runs an agent over the enrolled data folder dir.
func runAgentIn(t *testing.T, dir string, srv *fakeServer, checks []NamedCheck, tweak func(*Options)) *testAgent {
	t.Helper()
	opts := Options{
		DataDir: dir, Interval: time.Hour, Checks: checks,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		AckTimeout: 5 * time.Second, HealthyAfter: time.Hour,
		Inventory: fixedInventory,
	}
	if tweak != nil {
		tweak(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, dir: dir, fs: srv, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

func (ta *testAgent) stop(t *testing.T) {
	ta.once.Do(func() {
		ta.cancel()
		select {
		case err := <-ta.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("agent did not stop")
		}
	})
}

// waitFor polls cond; tests wait for events, never for wall-clock speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSessionDeliversAndDeletes(t *testing.T) {
	fc := &fakeCheck{n: 3}
	// The session counts as dead after 2.5 heartbeats of silence; a busy test
	// machine must not reach that while the agent says goodbye, which asks
	// systemctl about a shutdown first.
	ta := startAgent(t, []NamedCheck{{"fake", fc}, {"broken", failingCheck{errors.New("no access")}}, {"alien", failingCheck{fmt.Errorf("wmi: %w", errors.ErrUnsupported)}}},
		func(o *Options) { o.Heartbeat = 400 * time.Millisecond },
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	waitFor(t, "5 results delivered and acked", func() bool {
		return len(ta.fs.results()) >= 5 && ta.Spool().Len() == 0
	})
	waitFor(t, "heartbeats", func() bool { return ta.fs.beats.Load() >= 3 })
	got := map[string]core.Result{}
	for _, r := range ta.fs.results() {
		got[r.Check+"/"+r.Key] = r
	}
	if len(got) != 5 {
		t.Fatalf("results: %v", got)
	}
	if r := got["fake/2"]; r.Status != core.StatusOK || *r.Value != 2 || r.ID == "" || r.At.IsZero() {
		t.Errorf("fake/2 = %+v", r)
	}
	if r := got["broken/"]; r.Status != core.StatusError || !strings.Contains(r.Message.EN, "no access") {
		t.Errorf("failing check = %+v", r)
	}
	if r := got["alien/"]; r.Status != core.StatusUnsupported {
		t.Errorf("unsupported check = %+v", r)
	}
	if n := ta.fs.conns.Load(); n != 1 {
		t.Errorf("%d connections; the unknown message type must not break the session", n)
	}
	if ta.fs.badAuth.Load() != 0 {
		t.Error("server rejected the agent's proof")
	}
	st, err := ReadState(ta.dir)
	if err != nil || !st.Connected || st.DeviceID != 42 || st.Server != ta.fs.srv.URL || !st.Running {
		t.Errorf("state %+v, %v", st, err)
	}

	ta.stop(t)
	ta.fs.mu.Lock()
	closes := append([]websocket.StatusCode(nil), ta.fs.closes...)
	ta.fs.mu.Unlock()
	if len(closes) != 1 || closes[0] != websocket.StatusNormalClosure {
		t.Errorf("close statuses %v, want a normal closure", closes)
	}
	st, _ = ReadState(ta.dir)
	if st.Connected || st.Running {
		t.Errorf("state after stop %+v", st)
	}
}

func TestSessionResendsUnackedAfterReconnect(t *testing.T) {
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 4}}},
		func(o *Options) { o.AckTimeout = 100 * time.Millisecond },
		func(pub ed25519.PublicKey) *fakeServer {
			fs := newFakeServer(t, pub)
			fs.ack.Store(false)
			return fs
		})
	waitFor(t, "a second connection after the missing ack", func() bool { return ta.fs.conns.Load() >= 2 })
	if n := ta.Spool().Len(); n != 4 {
		t.Fatalf("spool holds %d, want all 4 unacked results", n)
	}
	ta.fs.ack.Store(true)
	waitFor(t, "spool drained", func() bool { return ta.Spool().Len() == 0 })
	seen := map[string]int{}
	for _, r := range ta.fs.results() {
		seen[r.ID]++
	}
	if len(seen) != 4 {
		t.Fatalf("%d distinct results, want 4", len(seen))
	}
	for id, n := range seen {
		if n < 2 {
			t.Errorf("result %s sent %d times; the unacked batch must be resent", id, n)
		}
	}
}

func TestSessionRefusedSurfacesReason(t *testing.T) {
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}}, nil,
		func(pub ed25519.PublicKey) *fakeServer {
			fs := newFakeServer(t, pub)
			fs.refuse.Store(&protocol.Refused{Code: protocol.RefusedRevoked, Reason: "device was revoked by an admin"})
			return fs
		})
	// The check may run before or after the refusal arrives; wait for both.
	waitFor(t, "state shows the refusal and the result is spooled", func() bool {
		st, err := ReadState(ta.dir)
		return err == nil && st.Revoked && strings.Contains(st.LastError, "device was revoked by an admin") && ta.Spool().Len() == 1
	})
	if ta.Spool().Len() != 1 {
		t.Errorf("spool %d; a refused agent keeps its results", ta.Spool().Len())
	}
}

func TestSessionDetectsDeadConnection(t *testing.T) {
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}},
		func(o *Options) { o.Heartbeat = 20 * time.Millisecond },
		func(pub ed25519.PublicKey) *fakeServer {
			fs := newFakeServer(t, pub)
			fs.silent.Store(true)
			return fs
		})
	waitFor(t, "reconnect after silence", func() bool { return ta.fs.conns.Load() >= 2 })
}

func TestSessionRunChecksCommand(t *testing.T) {
	fc := &fakeCheck{n: 2}
	ta := startAgent(t, []NamedCheck{{"fake", fc}}, nil,
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	waitFor(t, "first run delivered", func() bool { return len(ta.fs.results()) == 2 && ta.Spool().Len() == 0 })

	ta.fs.commands <- commandEnvelope(t, ta.fs, "cmd-1", "run-checks")
	env := <-ta.fs.cmdOut
	var res protocol.CommandResult
	if err := protocol.DecodeData(env, &res); err != nil {
		t.Fatal(err)
	}
	if env.ID != "cmd-1" || !res.OK || started(t, res.Output) != `{"checks":1}` {
		t.Errorf("run-checks answered %s %+v (%s)", env.ID, res, res.Output)
	}
	waitFor(t, "second run delivered", func() bool { return len(ta.fs.results()) == 4 && ta.Spool().Len() == 0 })
	if fc.runs.Load() != 2 {
		t.Errorf("%d runs", fc.runs.Load())
	}

	ta.fs.commands <- commandEnvelope(t, ta.fs, "cmd-2", "format-disk")
	env = <-ta.fs.cmdOut
	res = protocol.CommandResult{}
	if err := protocol.DecodeData(env, &res); err != nil {
		t.Fatal(err)
	}
	if env.ID != "cmd-2" || res.OK || res.Code != protocol.CodeUnknownAction || !strings.Contains(res.Message.DE, "format-disk") {
		t.Errorf("unknown command answered %s %+v", env.ID, res)
	}
}

// TestCommandsMustBeSigned: a command that is unsigned, signed for another
// device or another message type, signed with another key, expired, with
// other arguments than signed, or replayed is refused with the reason and
// runs nothing.
func TestCommandsMustBeSigned(t *testing.T) {
	fc := &fakeCheck{n: 1}
	ta := startAgent(t, []NamedCheck{{"fake", fc}}, nil,
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	fs := ta.fs
	waitFor(t, "first run delivered", func() bool { return len(fs.results()) == 1 && ta.Spool().Len() == 0 })
	answer := func(env protocol.Envelope) protocol.CommandResult {
		t.Helper()
		fs.commands <- env
		var res protocol.CommandResult
		if err := protocol.DecodeData(<-fs.cmdOut, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	good := commandEnvelope(t, fs, "ok", protocol.CommandRunChecks)
	if res := answer(good); !res.OK {
		t.Fatalf("signed command refused: %+v", res)
	}
	_, otherKey, _ := ed25519.GenerateKey(nil)
	run := protocol.CommandRunChecks
	otherArgs := actionEnvelope(t, fs.signer, protocol.TypeCommand, fs.deviceID, "a", run, nil, protocol.CommandTTL)
	otherArgs.Data = json.RawMessage(strings.Replace(string(otherArgs.Data), "}", `,"args":{"all":true}}`, 1))
	for name, tc := range map[string]struct {
		env  protocol.Envelope
		code string
	}{
		"unsigned":        {protocol.Envelope{Type: protocol.TypeCommand, ID: "u", Data: json.RawMessage(`{"name":"run-checks"}`)}, protocol.CodeUnsigned},
		"other device":    {actionEnvelope(t, fs.signer, protocol.TypeCommand, fs.deviceID+1, "d", run, nil, protocol.CommandTTL), protocol.CodeOtherDevice},
		"stream kind":     {actionEnvelope(t, fs.signer, protocol.TypeStreamOpen, fs.deviceID, "p", run, nil, protocol.CommandTTL), protocol.CodeMalformed},
		"other key":       {actionEnvelope(t, actionkey.NewSigner(otherKey, nil), protocol.TypeCommand, fs.deviceID, "k", run, nil, protocol.CommandTTL), protocol.CodeBadSignature},
		"replayed":        {protocol.Envelope{Type: protocol.TypeCommand, ID: "r", Data: good.Data}, protocol.CodeReplayed},
		"already expired": {actionEnvelope(t, fs.signer, protocol.TypeCommand, fs.deviceID, "e", run, nil, -time.Hour), protocol.CodeExpired},
		"other arguments": {otherArgs, protocol.CodeArgsMismatch},
	} {
		res := answer(tc.env)
		if res.OK || res.Code != tc.code || !strings.Contains(res.Error, "Refused") || !strings.Contains(res.Message.DE, "Abgelehnt") {
			t.Errorf("%s command answered %+v, want refused with %s", name, res, tc.code)
		}
	}
	if n := fc.runs.Load(); n != 2 {
		t.Errorf("checks ran %d times; only the signed command may run them", n)
	}
}

func TestSpoolWriteErrorIsReported(t *testing.T) {
	ta := startAgent(t, nil, func(o *Options) { o.Checks = []NamedCheck{} },
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	waitFor(t, "connected", func() bool { st, _ := ReadState(ta.dir); return st.Connected })
	// A result the spool cannot store (no ID) stands in for a full disk.
	ta.store([]core.Result{{Check: "x", At: time.Now()}})
	waitFor(t, "spool error delivered", func() bool {
		for _, r := range ta.fs.results() {
			if r.Check == "agent" && r.Key == "spool" && r.Status == core.StatusError {
				return true
			}
		}
		return false
	})
	st, _ := ReadState(ta.dir)
	if st.LastError == "" {
		t.Error("state does not show the spool error")
	}
	waitFor(t, "error queue emptied by the ack", func() bool {
		b, _ := ta.out.batch(10)
		return len(b) == 0
	})
}

func TestStateFileDir(t *testing.T) {
	if _, err := ReadState(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing state read")
	}
}
