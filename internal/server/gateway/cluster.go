package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// ClusterStore lets several server nodes on one database reach each
// other's agents (store.DB on PostgreSQL): heartbeat rows tell which nodes
// live, agent_sessions which node holds which agent, and published
// messages reach every node.
type ClusterStore interface {
	NodeBeat(ctx context.Context, node string, now, deadBefore time.Time) error
	NodeLeave(ctx context.Context, node string) error
	AttachSession(ctx context.Context, deviceID int64, node string) error
	DetachSession(ctx context.Context, deviceID int64, node string) error
	SessionNode(ctx context.Context, deviceID int64, aliveSince time.Time) (string, error)
	Publish(ctx context.Context, payload []byte) error
	Listen(ctx context.Context, ready func(), fn func(payload []byte)) error
}

// Cluster timing: a node refreshes its row every nodeBeat; one not seen for
// nodeDead is dead, and its agents count as offline (they reconnect to a
// live node, through the load balancer, within their backoff).
const (
	nodeBeat = 5 * time.Second
	nodeDead = 20 * time.Second
	// acceptWait bounds the wait for the holding node to confirm that it
	// got a relayed command: a node that died moments ago, before its row
	// went stale, must not keep the caller waiting for the full timeout.
	acceptWait = 3 * time.Second
)

// Relayed message kinds.
const (
	relayCommand    = "command"    // to the node holding the device
	relayAccepted   = "accepted"   // the holder got it, back to the asker
	relayResult     = "result"     // its answer, back to the asking node
	relayPolicy     = "policy"     // every node: push changed policies
	relayDisconnect = "disconnect" // every node: close the device's session
)

// relay is one message between nodes, JSON in a NOTIFY payload.
type relay struct {
	Kind     string                  `json:"k"`
	From     string                  `json:"f"`
	To       string                  `json:"t,omitempty"` // "" = every node
	ID       string                  `json:"i,omitempty"`
	DeviceID int64                   `json:"d,omitempty"`
	Command  *protocol.Command       `json:"c,omitempty"`
	Wait     int64                   `json:"w,omitempty"` // ms the asker waits
	Result   *protocol.CommandResult `json:"r,omitempty"`
	Offline  bool                    `json:"o,omitempty"`
	Timeout  bool                    `json:"late,omitempty"` // the agent did not answer in time
	Err      string                  `json:"e,omitempty"`
	Reason   string                  `json:"why,omitempty"`
}

// node is the hub's membership in a cluster.
type node struct {
	h     *Hub
	st    ClusterStore
	id    string
	ready chan struct{} // closed once this node listens
	done  chan struct{} // closed when run returned

	mu      sync.Mutex
	pending map[string]chan relay // remote commands awaiting "accepted" and results

	// Attach and detach of one device are serialized, so that an ended
	// session's detach never removes the row of the device's newer one.
	stripes [64]sync.Mutex
}

func newNode(h *Hub, st ClusterStore) *node {
	return &node{h: h, st: st, id: uuid.NewString(), ready: make(chan struct{}), done: make(chan struct{}), pending: map[string]chan relay{}}
}

// run beats and listens until the hub shuts down; a lost listening
// connection is reopened.
func (n *node) run() {
	defer close(n.done)
	n.h.log.Info("joined the cluster", "node", n.id)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-n.h.stopped; cancel() }()
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(nodeBeat)
		defer t.Stop()
		for {
			now := time.Now()
			if err := n.st.NodeBeat(ctx, n.id, now, now.Add(-nodeDead)); err != nil && ctx.Err() == nil {
				n.h.log.Error("cluster heartbeat", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	var once sync.Once
	for ctx.Err() == nil {
		err := n.st.Listen(ctx, func() { once.Do(func() { close(n.ready) }) }, n.receive)
		if err != nil && ctx.Err() == nil {
			n.h.log.Error("cluster listener lost; reconnecting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	wg.Wait()
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer lcancel()
	if err := n.st.NodeLeave(lctx, n.id); err != nil {
		n.h.log.Warn("leaving the cluster", "err", err)
	}
}

func (n *node) publish(ctx context.Context, m relay) error {
	m.From = n.id
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return n.st.Publish(ctx, b)
}

// receive handles one message from the listener; it must not block.
func (n *node) receive(payload []byte) {
	var m relay
	if err := json.Unmarshal(payload, &m); err != nil {
		n.h.log.Warn("malformed cluster message", "err", err)
		return
	}
	if m.From == n.id || (m.To != "" && m.To != n.id) {
		return
	}
	switch m.Kind {
	case relayCommand:
		if m.Command != nil {
			go n.runCommand(m)
		}
	case relayAccepted, relayResult:
		n.mu.Lock()
		ch := n.pending[m.ID]
		n.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m: // buffered for both
			default:
			}
		}
	case relayPolicy:
		n.h.pushLocal()
	case relayDisconnect:
		n.h.disconnectLocal(m.DeviceID, m.Reason)
	}
}

// runCommand runs a command another node relayed to an agent of this one
// and publishes the answer.
func (n *node) runCommand(m relay) {
	wait := time.Duration(m.Wait) * time.Millisecond
	if wait <= 0 || wait > n.h.commandTimeout {
		wait = n.h.commandTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := n.publish(ctx, relay{Kind: relayAccepted, To: m.From, ID: m.ID}); err != nil {
		n.h.log.Error("confirming a relayed command", "device", m.DeviceID, "err", err)
	}
	res, err := n.h.localCommand(ctx, m.DeviceID, *m.Command)
	out := relay{Kind: relayResult, To: m.From, ID: m.ID}
	switch {
	case errors.Is(err, core.ErrOffline):
		out.Offline = true
	case errors.Is(err, context.DeadlineExceeded):
		out.Timeout = true
	case err != nil:
		out.Err = err.Error()
	default:
		out.Result = &res
	}
	pctx, pcancel := context.WithTimeout(context.Background(), writeTimeout)
	defer pcancel()
	if err := n.publish(pctx, out); err != nil {
		n.h.log.Error("relaying a command result", "device", m.DeviceID, "err", err)
	}
}

// command sends cmd to the device's agent on another node and waits for
// its answer; core.ErrOffline when no live node holds the device.
func (n *node) command(ctx context.Context, deviceID int64, cmd protocol.Command) (protocol.CommandResult, error) {
	holder, err := n.st.SessionNode(ctx, deviceID, time.Now().Add(-nodeDead))
	if errors.Is(err, core.ErrNotFound) || (err == nil && holder == n.id) {
		return protocol.CommandResult{}, core.ErrOffline
	}
	if err != nil {
		return protocol.CommandResult{}, fmt.Errorf("finding the node of device %d: %w", deviceID, err)
	}
	dl, _ := ctx.Deadline()
	m := relay{Kind: relayCommand, To: holder, ID: uuid.NewString(), DeviceID: deviceID, Command: &cmd,
		Wait: time.Until(dl).Milliseconds()}
	ch := make(chan relay, 2)
	n.mu.Lock()
	n.pending[m.ID] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pending, m.ID)
		n.mu.Unlock()
	}()
	if err := n.publish(ctx, m); err != nil {
		return protocol.CommandResult{}, fmt.Errorf("relaying command %s to device %d: %w", cmd.Name, deviceID, err)
	}
	accept := time.NewTimer(acceptWait)
	defer accept.Stop()
	var r relay
	for r.Kind != relayResult {
		select {
		case r = <-ch:
		case <-accept.C:
			return protocol.CommandResult{}, fmt.Errorf("command %s to device %d: its node %s does not answer: %w", cmd.Name, deviceID, holder, core.ErrOffline)
		case <-ctx.Done():
			return protocol.CommandResult{}, fmt.Errorf("command %s to device %d on another node: %w", cmd.Name, deviceID, ctx.Err())
		}
		accept.Stop() // accepted or answered: wait for the agent as long as ctx allows
	}
	switch {
	case r.Offline:
		return protocol.CommandResult{}, fmt.Errorf("command %s to device %d: %w", cmd.Name, deviceID, core.ErrOffline)
	case r.Timeout:
		return protocol.CommandResult{}, fmt.Errorf("command %s to device %d on another node: %w", cmd.Name, deviceID, context.DeadlineExceeded)
	case r.Err != "":
		return protocol.CommandResult{}, fmt.Errorf("command %s to device %d on another node: %s", cmd.Name, deviceID, r.Err)
	case r.Result == nil:
		return protocol.CommandResult{}, fmt.Errorf("command %s to device %d: empty answer from another node", cmd.Name, deviceID)
	}
	return *r.Result, nil
}

// broadcast tells every other node something; failures are logged (the
// periodic policy resync and the agent's refusal at its next connect are
// the fallbacks).
func (n *node) broadcast(m relay) {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := n.publish(ctx, m); err != nil {
		n.h.log.Error("telling the other server nodes", "kind", m.Kind, "err", err)
	}
}

// attach records that this node holds s's device, unless s was replaced
// meanwhile.
func (n *node) attach(s *session) {
	mu := &n.stripes[uint64(s.deviceID)%uint64(len(n.stripes))]
	mu.Lock()
	defer mu.Unlock()
	if n.h.session(s.deviceID) != s {
		return
	}
	if err := n.st.AttachSession(s.ctx, s.deviceID, n.id); err != nil && s.ctx.Err() == nil {
		s.log.Error("recording the session's node", "err", err)
	}
}

// detach forgets the device's session on this node unless a newer one
// took its place here.
func (n *node) detach(deviceID int64) {
	mu := &n.stripes[uint64(deviceID)%uint64(len(n.stripes))]
	mu.Lock()
	defer mu.Unlock()
	if n.h.session(deviceID) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	if err := n.st.DetachSession(ctx, deviceID, n.id); err != nil {
		n.h.log.Warn("forgetting the session's node", "device", deviceID, "err", err)
	}
}
