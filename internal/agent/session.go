package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// RefusedError is the server's refusal of a session (protocol.Refused).
type RefusedError struct {
	Code, Reason string
}

func (e *RefusedError) Error() string {
	if e.Reason == "" {
		return "server refused the session: " + e.Code
	}
	return fmt.Sprintf("server refused the session (%s): %s", e.Code, e.Reason)
}

var (
	errAckTimeout = errors.New("no ack for a results batch in time; reconnecting")
	errDead       = errors.New("no message from the server in time; reconnecting")
)

// Timeouts of single steps, independent of the caller's context so that
// stopping the agent closes the websocket normally instead of tearing it.
const (
	dialTimeout      = 30 * time.Second
	handshakeTimeout = 30 * time.Second
	writeTimeout     = 15 * time.Second
)

// connectLoop keeps a session up until ctx ends, reconnecting with jittered
// exponential backoff. A refused device retries at the maximum delay only.
func (a *Agent) connectLoop(ctx context.Context) {
	backoff := a.opts.BackoffMin
	for ctx.Err() == nil {
		start := time.Now()
		welcomed, err := a.session(ctx)
		if ctx.Err() != nil {
			return
		}
		var refused *RefusedError
		var wait time.Duration
		switch {
		case errors.As(err, &refused) && refused.Code == protocol.RefusedRetired:
			a.log.Warn("the server retired this device; uninstalling")
			a.retire()
			return
		case errors.As(err, &refused):
			wait = a.opts.BackoffMax
			a.log.Error("server refused this agent", "code", refused.Code, "reason", refused.Reason, "retry_in", wait)
		default:
			if welcomed && time.Since(start) >= a.opts.HealthyAfter {
				backoff = a.opts.BackoffMin
			}
			wait = backoff
			backoff = min(backoff*2, a.opts.BackoffMax)
			a.log.Warn("session ended", "err", err, "retry_in", wait)
		}
		wait = jitter(wait)
		a.state.update(func(s *State) {
			if s.Connected {
				s.Since = time.Now().UTC()
			}
			s.Connected = false
			s.Revoked = refused != nil && refused.Code == protocol.RefusedRevoked
			msg := fmt.Sprint(err)
			if refused != nil {
				msg += fmt.Sprintf(" (retrying every %v)", a.opts.BackoffMax)
			}
			s.LastError = msg
		})
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// jitter spreads reconnects of many agents over [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// wsURL turns the server URL into the websocket URL.
func wsURL(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil {
		return "", fmt.Errorf("server URL: %w", err)
	}
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	case "http":
		u.Scheme = "ws"
	}
	// Keep a base path (a server behind a reverse proxy), as enrollment does.
	u.Path = strings.TrimRight(u.Path, "/") + protocol.PathWS
	return u.String(), nil
}

// conn wraps the websocket with the agent's own per-operation timeouts.
// cork, if not nil, is the websocket's connection (see corkConn).
type conn struct {
	ws   *websocket.Conn
	cork *corkConn
	r    *mux.Reader
}

func (c conn) send(typ, id string, data any) error {
	b, err := protocol.Encode(typ, id, data)
	if err != nil {
		return err
	}
	return c.write(typ, b)
}

// write sends an encoded envelope of type typ.
func (c conn) write(typ string, b []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("sending %s: %w", typ, err)
	}
	return nil
}

// Send and WriteBinary make conn the streams' mux.Writer.
func (c conn) Send(_ context.Context, typ string, data any) error { return c.send(typ, "", data) }

func (c conn) WriteBinary(_ context.Context, b []byte) error {
	var err error
	if c.cork == nil {
		ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
		err = c.ws.Write(ctx, websocket.MessageBinary, b)
		cancel()
	} else {
		// Corked, the frame goes into memory and the flush has the
		// deadline: a context per frame, with its timer, cost a bulk
		// transfer more than the frame's encryption. A control message
		// the frame waits for is bounded by its own timeout.
		c.cork.cork()
		err = c.ws.Write(context.Background(), websocket.MessageBinary, b)
		if uerr := c.cork.uncork(); uerr != nil && err == nil {
			c.ws.CloseNow() // a record written in part: the TLS stream is broken
			err = uerr
		}
	}
	if err != nil {
		return fmt.Errorf("sending stream data: %w", err)
	}
	return nil
}

// read returns the next envelope, failing after timeout. Malformed frames
// are errors; the caller decides what types it expects.
func (c conn) read(timeout time.Duration) (protocol.Envelope, error) {
	env, _, err := c.readFrame(timeout, nil)
	return env, err
}

// readFrame is read that also accepts binary frames (stream data), which it
// returns undecoded in data, read into buf (mux.Reader).
func (c conn) readFrame(timeout time.Duration, buf []byte) (env protocol.Envelope, data []byte, err error) {
	typ, b, err := c.r.Read(timeout, buf)
	if err != nil {
		if c.r.Expired() {
			return env, nil, errDead
		}
		return env, nil, err
	}
	if typ == websocket.MessageBinary {
		return env, b, nil
	}
	env, err = protocol.Decode(b)
	return env, nil, err
}

// session runs one connection: handshake, then heartbeats, result batches
// and commands until it fails or ctx ends. welcomed reports whether the
// server accepted the session.
func (a *Agent) session(ctx context.Context) (welcomed bool, err error) {
	u, err := wsURL(a.cfg.ServerURL)
	if err != nil {
		return false, err
	}
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	ws, cork, err := a.dialWebsocket(dctx, u)
	cancel()
	if err != nil {
		return false, fmt.Errorf("connecting to %s: %w", u, err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(protocol.MaxMessageBytes)
	c := conn{ws: ws, cork: cork, r: mux.NewReader(ws)}
	defer c.r.Stop()

	welcome, err := a.handshake(c)
	if err != nil {
		var refused *RefusedError
		if errors.As(err, &refused) {
			ws.Close(websocket.StatusNormalClosure, "refused")
		}
		return false, err
	}
	hb := time.Duration(welcome.HeartbeatSeconds) * time.Second
	if a.opts.Heartbeat > 0 {
		hb = a.opts.Heartbeat
	}
	if hb <= 0 {
		hb = 30 * time.Second
	}
	a.log.Info("connected", "server", a.cfg.ServerURL, "device", a.cfg.DeviceID, "heartbeat", hb)
	a.state.update(func(s *State) {
		s.Connected, s.Since, s.LastError, s.Revoked = true, time.Now().UTC(), "", false
	})

	sctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	acks := make(chan string, 16)
	// Streams end with the session: their handlers' context ends and
	// blocked reads and writes return.
	m := mux.New(c)
	defer m.Close()
	// The inventory goes out on this session from its own goroutine.
	link := &invLink{c: c, done: sctx.Done()}
	a.invLink.Store(link)
	defer a.invLink.CompareAndSwap(link, nil)
	a.inv.wake()
	a.patch.wakeSend()
	a.patch.wake() // a restart may wait for a session to say goodbye on
	a.support.wake()
	var wg sync.WaitGroup
	wg.Go(func() { stop(a.readLoop(sctx, c, m, hb, acks)) })
	wg.Go(func() { stop(a.heartbeatLoop(sctx, c, hb)) })
	wg.Go(func() { stop(a.sendLoop(sctx, c, acks)) })
	<-sctx.Done()
	if ctx.Err() != nil {
		// Stopping: announce it, so the server does not raise an offline
		// alert, then close properly; this also ends the reader.
		if err := c.send(protocol.TypeGoodbye, "", protocol.Goodbye{Reason: goodbyeReason()}); err != nil {
			a.log.Debug("could not say goodbye", "err", err)
		}
		ws.Close(websocket.StatusNormalClosure, "agent stopping")
	} else {
		ws.CloseNow()
	}
	m.Close()
	wg.Wait()
	return true, context.Cause(sctx)
}

// handshake answers the challenge and waits for welcome or refused.
func (a *Agent) handshake(c conn) (protocol.Welcome, error) {
	var w protocol.Welcome
	env, err := c.read(handshakeTimeout)
	if err != nil {
		return w, fmt.Errorf("waiting for challenge: %w", err)
	}
	if env.Type != protocol.TypeChallenge {
		return w, fmt.Errorf("expected challenge, got %q", env.Type)
	}
	var ch protocol.Challenge
	if err := protocol.DecodeData(env, &ch); err != nil {
		return w, err
	}
	if len(ch.Nonce) < 16 {
		return w, fmt.Errorf("challenge nonce too short (%d bytes)", len(ch.Nonce))
	}
	host, _ := os.Hostname()
	auth := protocol.Auth{
		DeviceID: a.cfg.DeviceID, Signature: protocol.SignAuth(a.key, ch.Nonce, a.cfg.DeviceID),
		AgentVersion: Version, Hostname: host, Disabled: a.cfg.Disable, ActionKey: a.actionKeyFingerprint(),
		ScriptSigner: a.cfg.ScriptSigner, ReleaseKey: a.releaseKeyFingerprint(), Update: a.upd.pendingReport(),
	}
	if err := c.send(protocol.TypeAuth, "", auth); err != nil {
		return w, err
	}
	env, err = c.read(handshakeTimeout)
	if err != nil {
		return w, fmt.Errorf("waiting for welcome: %w", err)
	}
	switch env.Type {
	case protocol.TypeWelcome:
		if err := protocol.DecodeData(env, &w); err != nil {
			return w, err
		}
		a.welcomed(w)
		a.updateWelcomed(auth.Update)
		return w, nil
	case protocol.TypeRefused:
		var r protocol.Refused
		if err := protocol.DecodeData(env, &r); err != nil {
			return w, err
		}
		return w, &RefusedError{Code: r.Code, Reason: r.Reason}
	default:
		return w, fmt.Errorf("expected welcome, got %q", env.Type)
	}
}

// readLoop dispatches server messages. Silence longer than 2.5 heartbeats
// means the connection is dead (the server answers every heartbeat).
func (a *Agent) readLoop(ctx context.Context, c conn, m *mux.Mux, hb time.Duration, acks chan<- string) error {
	dead := hb * 5 / 2
	var buf []byte // reused for stream data
	for {
		env, data, err := c.readFrame(dead, buf)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		a.lastContact.Store(time.Now().UnixNano())
		if data != nil {
			if err := m.Data(data); err != nil {
				return err
			}
			buf = data
			continue
		}
		switch env.Type {
		case protocol.TypeAck:
			select {
			case acks <- env.ID:
			default: // nobody waits for it: a late ack of an abandoned batch
			}
		case protocol.TypeInventoryAck:
			select {
			case a.inv.acks <- env:
			default: // nobody waits for it: a late ack of an abandoned report
			}
		case protocol.TypePatchAck:
			select {
			case a.patch.acks <- env:
			default: // nobody waits for it: a late ack of a replaced report
			}
		case protocol.TypeSupportAck:
			select {
			case a.support.acks <- env:
			default: // nobody waits for it: a late ack
			}
		case protocol.TypeSupportState:
			var st protocol.SupportState
			if err := protocol.DecodeData(env, &st); err != nil {
				a.log.Warn("ignoring a malformed support state", "err", err)
				continue
			}
			a.support.merge(st, a.now())
		case protocol.TypeCommand:
			a.cmds.Go(func() { a.handleAction(ctx, c, env) })
		case protocol.TypeStreamOpen:
			a.cmds.Go(func() { a.openStream(ctx, c, m, env) })
		case protocol.TypeStreamWindow:
			var w protocol.StreamWindow
			if err := protocol.DecodeData(env, &w); err != nil {
				return err
			}
			m.Window(w)
		case protocol.TypeStreamClose:
			var sc protocol.StreamClose
			if err := protocol.DecodeData(env, &sc); err != nil {
				return err
			}
			m.Closed(sc)
		case protocol.TypePolicy:
			a.receivePolicy(env)
		case protocol.TypeHeartbeatAck:
		default:
			a.log.Debug("ignoring unknown message type", "type", env.Type)
		}
	}
}

func (a *Agent) heartbeatLoop(ctx context.Context, c conn, hb time.Duration) error {
	t := time.NewTicker(hb)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := c.send(protocol.TypeHeartbeat, "", struct{}{}); err != nil {
				return err
			}
		}
	}
}

// sendLoop sends one batch at a time and deletes it from the spool on its
// ack. Without an ack in time the session is dropped; the batch stays
// spooled and is sent again on the next connection.
func (a *Agent) sendLoop(ctx context.Context, c conn, acks <-chan string) error {
	poll := time.NewTicker(30 * time.Second) // also retries after read errors
	defer poll.Stop()
	for {
		batch, err := a.out.batch(protocol.MaxBatch)
		if err != nil {
			a.log.Error("reading spool", "err", err)
		}
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-a.kick:
			case <-poll.C:
			}
			continue
		}
		id := uuid.NewString()
		if err := c.send(protocol.TypeResults, id, protocol.Results{Results: batch}); err != nil {
			return err
		}
		timeout := time.NewTimer(a.opts.AckTimeout)
	wait:
		for {
			select {
			case <-ctx.Done():
				timeout.Stop()
				return nil
			case <-timeout.C:
				return errAckTimeout
			case got := <-acks:
				if got == id {
					timeout.Stop()
					break wait
				}
			}
		}
		ids := make([]string, len(batch))
		for i, r := range batch {
			ids[i] = r.ID
		}
		if err := a.out.ack(ids); err != nil {
			a.log.Error("deleting acked results", "err", err)
		}
		a.checkStates.acked(ids)
		a.state.update(func(s *State) { s.SpoolLen = a.spool.Len() })
	}
}

// retire runs the Uninstall hook once, after the device was retired.
func (a *Agent) retire() {
	a.retireOnce.Do(func() {
		if a.opts.Uninstall == nil {
			a.log.Warn("device retired, but this agent has no uninstall hook")
			return
		}
		go a.opts.Uninstall()
	})
}
