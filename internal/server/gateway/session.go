package gateway

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/wacht-rmm/wacht/internal/release"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/preauth"
)

// statusRefused closes a refused session (policy violation, 4003).
const statusRefused websocket.StatusCode = 4003

// session is one agent connection.
type session struct {
	g      *Gateway
	conn   *websocket.Conn
	source netip.Prefix // the peer's, for the caps on unauthenticated sessions
	remote string       // the peer's address, kept as a device's public address
	log    *slog.Logger
	ctx    context.Context // ends with the connection; aborts store calls
	cancel context.CancelFunc
	done   chan struct{} // closed when the session goroutine returns
	// welcomed is closed once the welcome was written; nothing else may be
	// sent to the agent before.
	welcomed chan struct{}

	deviceID int64 // set once authenticated
	// disabled is the agent's local lock list from its auth frame; mux
	// carries its streams (both set once authenticated).
	disabled []string
	mux      *mux.Mux
	channels atomic.Uint32 // the last stream channel ID used
	// scriptSigner is the agent's lock-mode key from its auth frame.
	scriptSigner []byte

	// procMu is held while one message is processed, so that Shutdown can
	// wait for a results batch in flight to be committed and acked.
	procMu  sync.Mutex
	closing bool // under procMu: process nothing more

	policyMu  sync.Mutex
	policyRev string // under policyMu: the revision the agent was sent

	supportMu sync.Mutex // serializes pushSupportState

	keyMu sync.Mutex
	keyFP string // under keyMu: the newest action key the agent trusts
}

func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request) {
	if g.hub.isClosing() {
		writeError(w, http.StatusServiceUnavailable, "server is shutting down", "shutting_down")
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		g.refused.Add("upgrade_failed")
		g.log.Debug("websocket upgrade failed", "remote", clientIP(r), "err", err)
		return
	}
	// Until the agent authenticated, a frame larger than an auth frame ends
	// the connection; authenticate raises the limit.
	conn.SetReadLimit(maxAuthBytes)
	// The request context is not used after the hijack (coder/websocket's
	// advice); the session has its own.
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{
		g:      g,
		conn:   conn,
		source: preauth.Source(r.RemoteAddr),
		remote: clientIP(r),
		log:    g.log.With("remote", clientIP(r)),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),

		welcomed: make(chan struct{}),
	}
	if !g.hub.begin(s) {
		cancel()
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer g.hub.end(s)
	defer close(s.done)
	defer func() {
		// Every stream of the connection ends with it.
		if s.mux != nil {
			s.mux.Close()
		}
	}()
	defer cancel()
	defer conn.CloseNow() // no-op after a close handshake
	defer func() {
		// One misbehaving connection must never take the server down.
		if v := recover(); v != nil {
			s.log.Error("panic in agent session", "device", s.deviceID, "panic", v, "stack", string(debug.Stack()))
			conn.CloseNow()
		}
	}()
	s.run()
}

func (s *session) run() {
	if !s.authenticate() {
		return
	}
	s.log.Info("agent connected")
	idle := 3 * s.g.opts.Heartbeat
	var buf []byte // reused for stream data (mux.Reader)
	// Three missed heartbeats end a dead session: the reader closes the
	// connection. So does the end of the session's context.
	r := mux.NewReader(s.conn)
	defer r.Stop()
	defer context.AfterFunc(s.ctx, func() { s.conn.CloseNow() })()
	for {
		typ, b, err := r.Read(idle, buf)
		if err != nil {
			s.logReadError(err, r.Expired())
			return
		}
		if !s.process(typ, b) {
			return
		}
		if typ == websocket.MessageBinary {
			buf = b
		}
	}
}

func (s *session) logReadError(err error, idle bool) {
	switch code := websocket.CloseStatus(err); {
	case code == websocket.StatusMessageTooBig:
		s.log.Warn("agent connection closed: message too large", "err", err)
	case code == websocket.StatusNormalClosure || code == websocket.StatusGoingAway:
		s.log.Info("agent disconnected", "code", code)
	case code != -1:
		s.log.Info("agent connection closed", "code", code, "err", err)
	case idle:
		s.log.Warn("agent connection closed: no message within three heartbeat intervals")
	case s.ctx.Err() != nil:
		s.log.Info("agent connection closed by server")
	default:
		s.log.Info("agent connection lost", "err", err)
	}
}

// authenticate sends the challenge and checks the signed answer. Until
// the answer arrived the session is one of the gateway's waiting ones,
// which the caps on unauthenticated sessions may close.
func (s *session) authenticate() bool {
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		s.log.Error("generating challenge", "err", err)
		s.close(websocket.StatusInternalError, "internal error")
		return false
	}
	waiting, _ := s.g.waiting.Add(s.source, func() {
		s.g.refused.Add("dropped_waiting")
		s.conn.CloseNow()
	})
	if err := s.send(s.ctx, protocol.TypeChallenge, "", protocol.Challenge{Nonce: nonce}); err != nil {
		if s.g.waiting.Remove(waiting) {
			s.refusal("no_auth", "sending challenge", "err", err)
		}
		return false
	}
	actx, cancel := context.WithTimeout(s.ctx, s.g.opts.AuthTimeout)
	typ, b, err := s.conn.Read(actx)
	cancel()
	if !s.g.waiting.Remove(waiting) {
		return false // dropped, and counted
	}
	if err != nil {
		switch {
		case errors.Is(err, websocket.ErrMessageTooBig):
			s.refusal("auth_too_large", "agent sent a message larger than an auth frame", "err", err)
		case errors.Is(actx.Err(), context.DeadlineExceeded):
			s.refusal("auth_timeout", "agent did not authenticate in time")
		default:
			s.refusal("no_auth", "agent did not authenticate", "err", err)
		}
		return false
	}
	env, ok := s.decode(typ, b)
	if !ok {
		return false
	}
	var a protocol.Auth
	if env.Type != protocol.TypeAuth {
		s.refusal("not_auth", "agent sent a message before authenticating", "type", env.Type)
		s.close(websocket.StatusPolicyViolation, "authenticate first")
		return false
	}
	if err := protocol.DecodeData(env, &a); err != nil {
		s.refusal("malformed", "closing agent connection: malformed auth", "err", err)
		s.close(websocket.StatusUnsupportedData, "malformed auth")
		return false
	}
	dev, err := s.g.opts.Store.GetDevice(s.ctx, a.DeviceID)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return s.refuse(a.DeviceID, protocol.RefusedUnknown, "unknown device")
	case err != nil:
		s.log.Error("looking up device", "device", a.DeviceID, "err", err)
		s.close(websocket.StatusTryAgainLater, "try again later")
		return false
	// The signature is checked before the state so that only the key's
	// holder learns that its device was revoked.
	case !protocol.VerifyAuth(dev.PublicKey, nonce, a.DeviceID, a.Signature):
		return s.refuse(a.DeviceID, protocol.RefusedBadProof, "bad signature")
	case dev.State == core.DeviceRetired:
		return s.refuse(a.DeviceID, protocol.RefusedRetired, "device has been retired; uninstall")
	case dev.State == core.DeviceRevoked:
		return s.refuse(a.DeviceID, protocol.RefusedRevoked, "device has been revoked")
	case dev.State != core.DeviceActive:
		return s.refuse(a.DeviceID, protocol.RefusedRevoked, "device is not active")
	}
	s.deviceID = dev.ID
	s.disabled = a.Disabled
	s.scriptSigner = a.ScriptSigner
	s.mux = mux.New(s)
	s.log = s.log.With("device", dev.ID)
	s.conn.SetReadLimit(protocol.MaxMessageBytes)
	if err := s.g.opts.Store.TouchDevice(s.ctx, dev.ID, s.g.opts.Now(), truncate(a.AgentVersion, 64)); err != nil {
		s.log.Error("recording agent contact", "err", err)
	}
	if a.ActionKey != "" {
		s.noteActionKey(s.ctx, truncate(a.ActionKey, 64))
	}
	s.noteUpdate(a)
	// Registered before the welcome, so that an agent that got its welcome
	// counts as connected; commands wait for welcomed.
	if !s.g.hub.register(s) {
		s.close(websocket.StatusGoingAway, "server shutting down")
		return false
	}
	err = s.send(s.ctx, protocol.TypeWelcome, "", protocol.Welcome{
		DeviceID: dev.ID, HeartbeatSeconds: int(s.g.opts.Heartbeat / time.Second),
		Time: s.g.opts.Now(), ActionKey: s.g.opts.ActionKey.Public(), ReleaseKeys: s.g.releaseKeys(),
	})
	close(s.welcomed)
	switch {
	case err == nil && s.needsAnnouncement():
		// After a rotation, an agent that trusts only the retired key
		// learns the new one first: the policy is signed with it. The
		// agent's answer arrives through this goroutine, so wait for it
		// in another one.
		go func() {
			s.announceActionKey()
			s.pushPolicy()
			s.pushSupportState(false)
		}()
	case err == nil:
		// The policy is the next frame after welcome, before anything else;
		// then the state of the device's support requests, if it has any.
		s.pushPolicy()
		s.pushSupportState(false)
		if f := s.g.opts.Connected; f != nil {
			f(dev.ID)
		}
	}
	return err == nil
}

func (s *session) refuse(deviceID int64, code, reason string) bool {
	if code == protocol.RefusedUnknown || code == protocol.RefusedBadProof {
		// Anyone can claim a device ID.
		s.refusal(code, "agent session refused", "device", deviceID)
	} else {
		// Signed by the device's key: its agent, told to stop.
		s.log.Warn("agent session refused", "device", deviceID, "code", code)
	}
	_ = s.send(s.ctx, protocol.TypeRefused, "", protocol.Refused{Code: code, Reason: reason})
	s.close(statusRefused, reason)
	return false
}

// refusal logs why a session is refused or failed: for an authenticated
// agent as a warning; before authentication, where anyone can cause it, as
// a count of kind in the gateway's summary line (and at debug level).
func (s *session) refusal(kind, msg string, args ...any) {
	if s.deviceID != 0 {
		s.log.Warn(msg, args...)
		return
	}
	s.g.refused.Add(kind)
	s.log.Debug(msg, args...)
}

// decode parses a frame, closing the connection on anything malformed.
func (s *session) decode(typ websocket.MessageType, b []byte) (protocol.Envelope, bool) {
	if typ != websocket.MessageText {
		s.refusal("malformed", "closing agent connection: binary frame")
		s.close(websocket.StatusUnsupportedData, "text frames only")
		return protocol.Envelope{}, false
	}
	env, err := protocol.Decode(b)
	switch {
	case err == nil:
		return env, true
	case errors.Is(err, protocol.ErrBadVersion):
		s.refusal("bad_version", "closing agent connection: unsupported protocol version", "err", err)
		s.close(websocket.StatusProtocolError, "unsupported protocol version")
	case errors.Is(err, protocol.ErrTooLarge):
		s.refusal("too_large", "closing agent connection: message too large")
		s.close(websocket.StatusMessageTooBig, "message too large")
	default:
		s.refusal("malformed", "closing agent connection: malformed message", "err", err)
		s.close(websocket.StatusUnsupportedData, "malformed message")
	}
	return env, false
}

// process handles one message after authentication; false ends the session.
func (s *session) process(typ websocket.MessageType, b []byte) bool {
	s.procMu.Lock()
	defer s.procMu.Unlock()
	if s.closing {
		// Shutting down: an unacked batch is redelivered after reconnect.
		s.close(websocket.StatusGoingAway, "server shutting down")
		return false
	}
	if typ == websocket.MessageBinary {
		if err := s.mux.Data(b); err != nil {
			s.log.Warn("closing agent connection: malformed stream data", "err", err)
			s.close(websocket.StatusUnsupportedData, "malformed stream data")
			return false
		}
		return true
	}
	env, ok := s.decode(typ, b)
	if !ok {
		return false
	}
	switch env.Type {
	case protocol.TypeStreamWindow:
		var w protocol.StreamWindow
		if err := protocol.DecodeData(env, &w); err != nil {
			s.close(websocket.StatusUnsupportedData, "malformed stream window")
			return false
		}
		s.mux.Window(w)
		return true
	case protocol.TypeStreamClose:
		var c protocol.StreamClose
		if err := protocol.DecodeData(env, &c); err != nil {
			s.close(websocket.StatusUnsupportedData, "malformed stream close")
			return false
		}
		s.mux.Closed(c)
		return true
	case protocol.TypeHeartbeat:
		s.g.seen.note(s.deviceID, s.g.opts.Now())
		return s.send(s.ctx, protocol.TypeHeartbeatAck, env.ID, nil) == nil
	case protocol.TypeResults:
		return s.results(env)
	case protocol.TypeInventory:
		return s.inventory(env)
	case protocol.TypePatchReport:
		return s.patchReport(env)
	case protocol.TypeSupportRequest:
		return s.supportRequest(env)
	case protocol.TypeGoodbye:
		var g protocol.Goodbye
		err := protocol.DecodeData(env, &g)
		if err == nil {
			err = g.Validate()
		}
		if err != nil {
			s.log.Warn("ignoring malformed goodbye", "err", err)
			return true
		}
		s.log.Info("agent says goodbye", "reason", g.Reason)
		if h := s.g.opts.Alerts; h != nil {
			if err := h.Goodbye(s.ctx, s.deviceID, g.Reason); err != nil {
				s.log.Error("recording goodbye", "err", err)
			}
		}
		return true
	case protocol.TypeCommandResult:
		var res protocol.CommandResult
		if err := protocol.DecodeData(env, &res); err != nil {
			s.log.Warn("closing agent connection: malformed command result", "err", err)
			s.close(websocket.StatusUnsupportedData, "malformed command result")
			return false
		}
		if !s.g.hub.deliver(s.deviceID, env.ID, res) {
			s.log.Debug("command result nobody waits for", "id", env.ID)
		}
		return true
	default:
		s.log.Debug("ignoring unknown message type", "type", env.Type)
		return true
	}
}

// results stores a batch in one transaction and acks it only after commit.
func (s *session) results(env protocol.Envelope) bool {
	var batch protocol.Results
	err := protocol.DecodeData(env, &batch)
	if err == nil {
		err = batch.Validate()
	}
	if err != nil {
		s.log.Warn("closing agent connection: malformed results batch", "id", env.ID, "err", err)
		s.close(websocket.StatusUnsupportedData, "malformed results batch")
		return false
	}
	byDevice := map[int64][]core.Result{s.deviceID: batch.Results}
	if rt := s.g.opts.Results; rt != nil {
		if byDevice, err = rt.Route(s.ctx, s.deviceID, batch.Results); err != nil {
			s.log.Error("routing results", "id", env.ID, "err", err)
			s.close(websocket.StatusTryAgainLater, "could not store results")
			return false
		}
	}
	// Several devices commit one after another; a redelivery after a
	// partial failure is harmless (result IDs are idempotent).
	start, stored := time.Now(), 0
	for _, id := range slices.Sorted(maps.Keys(byDevice)) {
		stored += len(byDevice[id])
		if err := s.g.opts.Store.SaveResults(s.ctx, id, byDevice[id]); err != nil {
			// Not acked: the agent keeps the batch and sends it again.
			s.log.Error("storing results", "id", env.ID, "device", id, "count", len(byDevice[id]), "err", err)
			s.close(websocket.StatusTryAgainLater, "could not store results")
			return false
		}
	}
	if m := s.g.opts.Metrics; m != nil {
		m.ResultsCommitted(stored, time.Since(start))
	}
	if h := s.g.opts.Alerts; h != nil {
		for _, id := range slices.Sorted(maps.Keys(byDevice)) {
			h.OnResults(id, byDevice[id])
		}
	}
	return s.send(s.ctx, protocol.TypeAck, env.ID, protocol.Ack{Stored: len(batch.Results)}) == nil
}

// send writes one envelope, bounded by writeTimeout.
func (s *session) send(ctx context.Context, typ, id string, data any) error {
	b, err := protocol.Encode(typ, id, data)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := s.conn.Write(wctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("writing %s: %w", typ, err)
	}
	return nil
}

// Send and WriteBinary make the session its streams' mux.Writer.
func (s *session) Send(ctx context.Context, typ string, data any) error {
	return s.send(ctx, typ, "", data)
}

func (s *session) WriteBinary(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	if err := s.conn.Write(wctx, websocket.MessageBinary, b); err != nil {
		return fmt.Errorf("writing stream data: %w", err)
	}
	return nil
}

// close performs the close handshake (bounded by the library to a few
// seconds). Only the first close of a connection takes effect.
func (s *session) close(code websocket.StatusCode, reason string) {
	_ = s.conn.Close(code, reason)
}

// stop is Shutdown's part: wait for the message in process (a batch is
// committed and acked), then close with StatusGoingAway; if ctx ends first,
// abort.
func (s *session) stop(ctx context.Context) {
	idle := make(chan struct{})
	go func() {
		s.procMu.Lock()
		s.closing = true
		s.procMu.Unlock()
		close(idle)
	}()
	select {
	case <-idle:
	case <-ctx.Done():
		s.abort()
		return
	}
	closed := make(chan struct{})
	go func() {
		s.close(websocket.StatusGoingAway, "server shutting down")
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		s.abort()
	}
}

// abort ends the connection without handshake and cancels store calls.
func (s *session) abort() {
	s.cancel()
	s.conn.CloseNow()
}

func (s *session) isDone() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// noteUpdate records the agent's report of its newest self-update (before
// the welcome: the agent repeats it until welcomed) and logs an agent that
// pins another release key than the server's.
func (s *session) noteUpdate(a protocol.Auth) {
	if a.Update != nil && s.g.opts.Updates != nil {
		if err := s.g.opts.Updates.RecordUpdate(s.ctx, s.deviceID, *a.Update); err != nil {
			s.log.Error("recording the agent's update report", "rollout", a.Update.RolloutID, "err", err)
		}
	}
	if a.ReleaseKey == "" || len(s.g.opts.ReleaseKeys) == 0 {
		return
	}
	for _, k := range s.g.opts.ReleaseKeys {
		if release.Fingerprint(k) == a.ReleaseKey {
			return
		}
	}
	s.log.Warn("agent pins a release key the server does not have; it will refuse this server's builds until it gets the server's keys", "release_key", truncate(a.ReleaseKey, 64))
}
