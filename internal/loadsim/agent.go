package loadsim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// simAgent is one simulated agent.
type simAgent struct {
	s      *Sim
	idx    int
	device atomic.Int64 // 0 until enrolled
	online atomic.Bool  // has a welcomed session now
	key    ed25519.PrivateKey

	fromCache bool // enrolled by an earlier run

	// actionKey is the server's action key, pinned at enrollment (or from
	// the first welcome, for agents of an older cache); verify checks
	// every request with it against the server's clock (skew: server
	// minus local, from the welcome), as the real agent does.
	actionKey ed25519.PublicKey
	verify    atomic.Pointer[actionkey.Verifier]
	skew      atomic.Int64

	mu       sync.Mutex
	runs     map[string]*scriptRun // script runs by run ID: the agent's journal
	queue    []core.Result         // produced, not yet acked; a prefix may be in flight
	attached bool                  // connected at least once in this process
	kick     chan struct{}         // cap 1: the queue grew
}

// errKind tags an error with the kind it is counted under.
type errKind struct {
	kind string
	err  error
}

func (e *errKind) Error() string { return e.kind + ": " + e.err.Error() }
func (e *errKind) Unwrap() error { return e.err }

func kindOf(err error) string {
	var k *errKind
	if errors.As(err, &k) {
		return k.kind
	}
	return "other"
}

var (
	errAckTimeout  = errors.New("no ack in time")
	errUnknownDev  = errors.New("server does not know the cached device")
	errRefusedOnce = errors.New("session refused")
)

func (a *simAgent) enqueue(rs []core.Result) {
	a.mu.Lock()
	a.queue = append(a.queue, rs...)
	a.mu.Unlock()
	a.s.produced.Add(int64(len(rs)))
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// take returns up to n results from the head of the queue (not removing
// them); in flood mode an empty queue is refilled with a full batch.
func (a *simAgent) take(n int) []core.Result {
	a.mu.Lock()
	if len(a.queue) == 0 && a.s.o.Flood && !a.s.stopProducing.Load() {
		a.mu.Unlock()
		// A backlog of rounds of the same checks, as an agent that was
		// offline sends it: realistic for the server's check-state upserts.
		rs := make([]core.Result, 0, n)
		for len(rs) < n {
			rs = append(rs, makeResults(schedule, min(a.s.o.Checks, n-len(rs)), a.s.o.FailRate, nowMS())...)
		}
		a.enqueue(rs)
		a.mu.Lock()
	}
	defer a.mu.Unlock()
	n = min(n, len(a.queue))
	return a.queue[:n:n]
}

// acked drops the first n results, which the server committed.
func (a *simAgent) acked(n int) {
	a.mu.Lock()
	a.queue = a.queue[n:]
	if len(a.queue) == 0 {
		a.queue = nil // let the backing array go
	}
	a.mu.Unlock()
	a.s.acked.Add(int64(n))
}

// run enrolls if needed and keeps a session up until ctx ends, reconnecting
// with the real agent's jittered exponential backoff.
func (a *simAgent) run(ctx, prodCtx context.Context, delay time.Duration) {
	if !sleepCtx(ctx, delay) {
		return
	}
	s := a.s
	backoff := s.o.BackoffMin
	next := func() bool {
		wait := jitter(backoff)
		backoff = min(backoff*2, s.o.BackoffMax)
		return sleepCtx(ctx, wait)
	}
	for a.device.Load() == 0 {
		if err := a.enroll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.countError("enroll")
			s.o.Log.Warn("enrollment failed", "agent", a.idx, "err", err)
			if !next() {
				return
			}
			continue
		}
		s.enrolled.Add(1)
		backoff = s.o.BackoffMin
	}
	for ctx.Err() == nil {
		start := time.Now()
		welcomed, err := a.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errUnknownDev) && s.secret != "" {
			// The server lost the device (a fresh database): enroll anew.
			a.device.Store(0)
			for a.device.Load() == 0 && ctx.Err() == nil {
				if err := a.enroll(ctx); err != nil {
					s.countError("enroll")
					if !next() {
						return
					}
					continue
				}
				s.enrolled.Add(1)
			}
			continue
		}
		if err != nil {
			s.countError(kindOf(err))
			s.o.Log.Debug("session ended", "agent", a.idx, "err", err)
		}
		if welcomed && time.Since(start) >= 30*time.Second {
			backoff = s.o.BackoffMin
		}
		if !next() {
			return
		}
	}
}

// jitter spreads reconnects over [d/2, d], as the agent does.
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// enroll registers the agent as its own device and caches it.
func (a *simAgent) enroll(ctx context.Context) error {
	s := a.s
	select {
	case s.enrollMu <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.enrollMu }()
	seed := make([]byte, ed25519.SeedSize)
	if _, err := crand.Read(seed); err != nil {
		return err
	}
	key := ed25519.NewKeyFromSeed(seed)
	host := fmt.Sprintf("%s-%05d", s.o.Name, a.idx)
	req := protocol.EnrollRequest{
		Token: s.secret, PublicKey: key.Public().(ed25519.PublicKey), Hostname: host,
		OS: "windows", Platform: "Microsoft Windows Server 2022 Standard", Arch: "amd64",
		MachineID: host, Role: "server", AgentVersion: "loadsim",
	}
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, s.server+protocol.PathEnroll, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(hreq)
	if err != nil {
		return fmt.Errorf("enrolling: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("enrolling: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(rb))
	}
	var out protocol.EnrollResponse
	if err := json.Unmarshal(rb, &out); err != nil || out.DeviceID == 0 {
		return fmt.Errorf("enrolling: unexpected answer %q", rb)
	}
	a.key, a.actionKey = key, out.ActionKey
	a.verify.Store(nil) // a new device: a new verifier
	a.device.Store(out.DeviceID)
	return s.cache.add(cacheEntry{Server: s.server, FP: s.fp, Index: a.idx, Device: out.DeviceID, Seed: seed, AK: out.ActionKey})
}

const writeTimeout = 15 * time.Second

func send(ws *websocket.Conn, typ, id string, data any) error {
	b, err := protocol.Encode(typ, id, data)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		return &errKind{"write", err}
	}
	return nil
}

func read(ws *websocket.Conn, timeout time.Duration) (protocol.Envelope, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, b, err := ws.Read(ctx)
	if err != nil {
		switch st := websocket.CloseStatus(err); {
		case st == websocket.StatusGoingAway:
			return protocol.Envelope{}, &errKind{"server_going_away", err}
		case st != -1:
			return protocol.Envelope{}, &errKind{"closed_by_server", err}
		case ctx.Err() != nil:
			return protocol.Envelope{}, &errKind{"read_timeout", err}
		}
		return protocol.Envelope{}, &errKind{"read", err}
	}
	env, err := protocol.Decode(b)
	if err != nil {
		return env, &errKind{"protocol", err}
	}
	return env, nil
}

// session runs one connection until it fails or ctx ends.
func (a *simAgent) session(ctx context.Context) (welcomed bool, err error) {
	s := a.s
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	ws, _, err := websocket.Dial(dctx, s.wsURL, &websocket.DialOptions{HTTPClient: s.client})
	cancel()
	if err != nil {
		return false, &errKind{"dial", err}
	}
	defer ws.CloseNow()
	ws.SetReadLimit(protocol.MaxMessageBytes)

	// Handshake: sign the challenge, wait for welcome.
	env, err := read(ws, 30*time.Second)
	if err != nil {
		return false, &errKind{"handshake", err}
	}
	var ch protocol.Challenge
	if env.Type != protocol.TypeChallenge || protocol.DecodeData(env, &ch) != nil {
		return false, &errKind{"handshake", fmt.Errorf("expected challenge, got %q", env.Type)}
	}
	dev := a.device.Load()
	auth := protocol.Auth{
		DeviceID: dev, Signature: protocol.SignAuth(a.key, ch.Nonce, dev),
		AgentVersion: "loadsim", Hostname: fmt.Sprintf("%s-%05d", s.o.Name, a.idx),
	}
	if err := send(ws, protocol.TypeAuth, "", auth); err != nil {
		return false, &errKind{"handshake", err}
	}
	if env, err = read(ws, 30*time.Second); err != nil {
		return false, &errKind{"handshake", err}
	}
	var w protocol.Welcome
	switch env.Type {
	case protocol.TypeWelcome:
		if err := protocol.DecodeData(env, &w); err != nil {
			return false, &errKind{"handshake", err}
		}
	case protocol.TypeRefused:
		var r protocol.Refused
		_ = protocol.DecodeData(env, &r)
		ws.Close(websocket.StatusNormalClosure, "refused")
		if r.Code == protocol.RefusedUnknown {
			return false, &errKind{"refused_" + r.Code, errUnknownDev}
		}
		return false, &errKind{"refused_" + r.Code, errRefusedOnce}
	default:
		return false, &errKind{"handshake", fmt.Errorf("expected welcome, got %q", env.Type)}
	}
	a.pin(w)
	a.countAttach()
	s.connected.Add(1)
	a.online.Store(true)
	defer func() {
		a.online.Store(false)
		s.connected.Add(-1)
	}()

	hb := time.Duration(w.HeartbeatSeconds) * time.Second
	if hb <= 0 {
		hb = 30 * time.Second
	}
	events := make(chan protocol.Envelope, 16)
	rerr := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			env, err := read(ws, hb*5/2)
			if err != nil {
				rerr <- err
				return
			}
			select {
			case events <- env:
			case <-done:
				return
			}
		}
	}()
	hbT := time.NewTicker(hb)
	defer hbT.Stop()
	ackT := time.NewTimer(time.Hour)
	ackT.Stop()
	var inflight struct {
		id string
		n  int
		at time.Time
	}
	for {
		if inflight.id == "" {
			if batch := a.take(s.o.Batch); len(batch) > 0 {
				id := uuid.NewString()
				if err := send(ws, protocol.TypeResults, id, protocol.Results{Results: batch}); err != nil {
					return true, cause(err, rerr)
				}
				inflight.id, inflight.n, inflight.at = id, len(batch), time.Now()
				s.sent.Add(int64(len(batch)))
				ackT.Reset(s.o.AckTimeout)
			}
		}
		select {
		case <-ctx.Done():
			ws.Close(websocket.StatusNormalClosure, "loadsim stopping")
			return true, nil
		case <-a.kick:
		case <-hbT.C:
			if err := send(ws, protocol.TypeHeartbeat, "", struct{}{}); err != nil {
				return true, cause(err, rerr)
			}
		case err := <-rerr:
			return true, err
		case <-ackT.C:
			return true, &errKind{"ack_timeout", errAckTimeout}
		case env := <-events:
			switch env.Type {
			case protocol.TypeAck:
				if env.ID == inflight.id {
					ackT.Stop()
					s.AckLatency.Record(time.Since(inflight.at))
					s.batches.Add(1)
					a.acked(inflight.n)
					inflight.id = ""
				}
			case protocol.TypeCommand:
				if err := a.command(ws, env); err != nil {
					return true, cause(err, rerr)
				}
			}
		}
	}
}

// cause reports why a write failed: a write fails because the connection
// closed, and the reader learns why (the server's close frame, say), so its
// error is preferred when it arrives soon after.
func cause(werr error, rerr <-chan error) error {
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case err := <-rerr:
		return err
	case <-t.C:
		return werr
	}
}

// countAttach counts an agent the first time it connects in this process:
// as re-attached when it came from the cache.
func (a *simAgent) countAttach() {
	a.mu.Lock()
	first := !a.attached
	a.attached = true
	a.mu.Unlock()
	if first && a.fromCache {
		a.s.reattached.Add(1)
	}
}
