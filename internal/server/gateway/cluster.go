package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/mux"
)

// ClusterStore lets several server nodes on one database reach each
// other's agents (store.DB on PostgreSQL): heartbeat rows tell which nodes
// live and where they are reached, agent_sessions which node holds which
// agent, and published messages (broadcast signals) reach every node.
type ClusterStore interface {
	NodeBeat(ctx context.Context, node, url string, now, deadBefore time.Time) error
	NodeLeave(ctx context.Context, node string) error
	AttachSession(ctx context.Context, deviceID int64, node string) error
	DetachSession(ctx context.Context, deviceID int64, node string) error
	SessionNode(ctx context.Context, deviceID int64, aliveSince time.Time) (node, url string, err error)
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

// Broadcast signals, to every node through NOTIFY. Actions and streams for
// one agent go to its node directly (relay.go).
const (
	relayPolicy     = "policy"     // every node: push changed policies
	relayDisconnect = "disconnect" // every node: close the device's session
	relaySupport    = "support"    // every node: send the device its support requests
)

// relay is one broadcast signal between nodes, JSON in a NOTIFY payload.
type relay struct {
	Kind     string `json:"k"`
	From     string `json:"f"`
	DeviceID int64  `json:"d,omitempty"`
	Reason   string `json:"why,omitempty"`
}

// node is the hub's membership in a cluster.
type node struct {
	h     *Hub
	st    ClusterStore
	id    string
	ready chan struct{} // closed once this node listens
	done  chan struct{} // closed when run returned

	url    string       // where the other nodes reach this one
	auth   *relayAuth   // MACs of requests between nodes
	client *http.Client // to the other nodes

	relayMu sync.Mutex
	relays  map[*mux.Mux]struct{} // relayed streams' connections to other nodes, both ways

	// Attach and detach of one device are serialized, so that an ended
	// session's detach never removes the row of the device's newer one.
	stripes [64]sync.Mutex
}

func newNode(h *Hub, st ClusterStore, o RelayOptions) *node {
	return &node{h: h, st: st, id: uuid.NewString(), ready: make(chan struct{}), done: make(chan struct{}),
		url: o.URL, auth: newRelayAuth(o.Key, nil), client: newRelayClient(o.TLS), relays: map[*mux.Mux]struct{}{}}
}

// run beats and listens until the hub shuts down; a lost listening
// connection is reopened.
func (n *node) run() {
	defer close(n.done)
	n.h.log.Info("joined the cluster", "node", n.id)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-n.h.stopped; cancel() }()
	beat := func() {
		now := time.Now()
		if err := n.st.NodeBeat(ctx, n.id, n.url, now, now.Add(-nodeDead)); err != nil && ctx.Err() == nil {
			n.h.log.Error("cluster heartbeat", "err", err)
		}
	}
	// The first beat comes before the node listens (ready): until this
	// node's row exists, the others find none of its agents' sessions and
	// answer them offline.
	beat()
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(nodeBeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			beat()
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
	n.client.CloseIdleConnections()
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
	if m.From == n.id {
		return
	}
	switch m.Kind {
	case relayPolicy:
		n.h.pushLocal()
	case relayDisconnect:
		n.h.disconnectLocal(m.DeviceID, m.Reason)
	case relaySupport:
		n.h.pushSupportLocal(m.DeviceID)
	}
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
