package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Hub tracks the connected agents, one session per device, and routes
// commands to them and their answers back.
type Hub struct {
	log            *slog.Logger
	commandTimeout time.Duration
	signer         *actionkey.Signer
	node           *node   // nil on a single server
	metrics        Metrics // nil: none

	mu       sync.Mutex
	sessions map[int64]*session
	pending  map[string]*pendingCommand
	live     map[*session]struct{} // every open connection, authenticated or not
	closing  bool
	running  sync.WaitGroup // session goroutines, for Shutdown
	stopped  chan struct{}  // closed by Shutdown; ends background loops
	stopOnce sync.Once
}

type pendingCommand struct {
	deviceID int64
	reply    chan protocol.CommandResult
}

func newHub(log *slog.Logger, commandTimeout time.Duration, signer *actionkey.Signer, m Metrics) *Hub {
	return &Hub{
		log:            log,
		metrics:        m,
		commandTimeout: commandTimeout,
		signer:         signer,
		sessions:       map[int64]*session{},
		pending:        map[string]*pendingCommand{},
		live:           map[*session]struct{}{},
		stopped:        make(chan struct{}),
	}
}

// begin tracks a new connection; false once Shutdown began.
func (h *Hub) begin(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.live[s] = struct{}{}
	h.running.Add(1)
	return true
}

// end forgets a connection whose goroutine is about to return.
func (h *Hub) end(s *session) {
	h.mu.Lock()
	delete(h.live, s)
	current := s.deviceID != 0 && h.sessions[s.deviceID] == s
	if current {
		delete(h.sessions, s.deviceID)
	}
	h.mu.Unlock()
	if current && h.node != nil {
		h.node.detach(s.deviceID)
	}
	h.running.Done()
}

// register makes s the device's session, replacing (and closing) an older
// one. It fails once Shutdown began.
func (h *Hub) register(s *session) bool {
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		return false
	}
	old := h.sessions[s.deviceID]
	h.sessions[s.deviceID] = s
	h.mu.Unlock()
	if old != nil {
		h.log.Info("agent session replaced by a newer one", "device", s.deviceID)
		go old.close(websocket.StatusNormalClosure, "replaced by a newer session")
	}
	if h.node != nil {
		h.node.attach(s)
	}
	return true
}

func (h *Hub) session(deviceID int64) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[deviceID]
}

// Connected reports whether the device has a session on this server.
func (h *Hub) Connected(deviceID int64) bool { return h.session(deviceID) != nil }

// Sessions counts the agents connected to this server.
func (h *Hub) Sessions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Disconnect closes the device's session, if any, on this server or
// another node, giving reason to the agent. It does not wait for the
// connection to end.
func (h *Hub) Disconnect(deviceID int64, reason string) {
	h.disconnectLocal(deviceID, reason)
	if h.node != nil {
		go h.node.broadcast(relay{Kind: relayDisconnect, DeviceID: deviceID, Reason: reason})
	}
}

func (h *Hub) disconnectLocal(deviceID int64, reason string) {
	if s := h.session(deviceID); s != nil {
		h.log.Info("disconnecting agent", "device", deviceID, "reason", reason)
		// The close handshake waits for the agent; callers must not.
		go s.close(websocket.StatusNormalClosure, reason)
	}
}

// Command sends cmd to the device and waits for its result, relaying it to
// the node that holds the agent's session when that is another one. It
// returns core.ErrOffline when the device is not connected or its
// connection ends before it answers, and the context's error on timeout;
// a ctx without deadline gets the gateway's command timeout (30 s by
// default).
func (h *Hub) Command(ctx context.Context, deviceID int64, cmd protocol.Command) (res protocol.CommandResult, err error) {
	if h.metrics != nil {
		start := time.Now()
		defer func() { h.metrics.CommandDone(time.Since(start), err) }()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.commandTimeout)
		defer cancel()
	}
	if h.node != nil && h.session(deviceID) == nil {
		return h.node.command(ctx, deviceID, cmd)
	}
	return h.localCommand(ctx, deviceID, cmd)
}

// localCommand is Command for an agent connected to this server; ctx has a
// deadline. It signs here, on the node that holds the session: every node
// has the same action key, and this node is the one that announces a
// rotated key to its agents, so what it signs is what they trust.
func (h *Hub) localCommand(ctx context.Context, deviceID int64, cmd protocol.Command) (protocol.CommandResult, error) {
	signed, err := h.signer.SignAction(protocol.TypeCommand, deviceID, cmd.Name, cmd.Args, protocol.CommandTTL)
	if err != nil {
		return protocol.CommandResult{}, fmt.Errorf("signing command %s to device %d: %w", cmd.Name, deviceID, err)
	}
	return h.signedCommand(ctx, deviceID, cmd.Name, signed)
}

// signedCommand sends a signed command to the device's agent connected to
// this server and waits for its answer; ctx has a deadline.
func (h *Hub) signedCommand(ctx context.Context, deviceID int64, name string, signed actionkey.SignedAction) (protocol.CommandResult, error) {
	s := h.session(deviceID)
	if s == nil {
		return protocol.CommandResult{}, fmt.Errorf("command %s to device %d: %w", name, deviceID, core.ErrOffline)
	}
	select {
	case <-s.welcomed:
	case <-s.done:
		return protocol.CommandResult{}, fmt.Errorf("command %s to device %d: %w", name, deviceID, core.ErrOffline)
	case <-ctx.Done():
		return protocol.CommandResult{}, fmt.Errorf("command %s to device %d: %w", name, deviceID, ctx.Err())
	}
	return h.request(ctx, s, protocol.TypeCommand, name, signed)
}

// deliver hands a command result to its waiting caller. Results for unknown
// IDs, or from a device the command was not sent to, are dropped.
func (h *Hub) deliver(deviceID int64, id string, res protocol.CommandResult) bool {
	h.mu.Lock()
	p := h.pending[id]
	if p == nil || p.deviceID != deviceID {
		h.mu.Unlock()
		return false
	}
	delete(h.pending, id)
	h.mu.Unlock()
	p.reply <- res // buffered, and removed from pending: never blocks
	return true
}

// Shutdown stops accepting sessions, lets every results batch in flight
// commit and be acked, then closes each session with StatusGoingAway and
// waits for the session goroutines to end. When ctx ends first, the
// remaining sessions are cut off at once (unacked batches are redelivered
// by the agents later, so nothing is lost).
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	h.stopOnce.Do(func() { close(h.stopped) })
	sessions := make([]*session, 0, len(h.live))
	for s := range h.live {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()

	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop(ctx)
		}()
	}
	wg.Wait()

	all := make(chan struct{})
	go func() {
		h.running.Wait()
		if h.node != nil {
			<-h.node.done // left the cluster
		}
		close(all)
	}()
	select {
	case <-all:
		return nil
	case <-ctx.Done():
		h.mu.Lock()
		for s := range h.live {
			s.abort()
		}
		h.mu.Unlock()
		return fmt.Errorf("closing agent sessions: %w", ctx.Err())
	}
}

func (h *Hub) isClosing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closing
}
