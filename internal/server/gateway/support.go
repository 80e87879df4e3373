package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The tray app on the agents' side (issue 20): the client's branding in
// the policy (TrayPolicies), the users' support requests coming in
// (supportRequest) and their state going back to the device
// (pushSupportState, Hub.PushSupportState).

// SupportReceiver stores a validated support request of a device together
// with what notifies the technicians (the service); a request already
// stored (same device and Ref) is not stored again. An error means nothing
// is acknowledged: the agent sends the request again.
type SupportReceiver interface {
	ReceiveSupportRequest(ctx context.Context, deviceID int64, r protocol.SupportRequest) (core.SupportRequest, error)
}

// TrayPolicyStore is what TrayPolicies reads.
type TrayPolicyStore interface {
	GetDevice(ctx context.Context, id int64) (core.Device, error)
	GetBranding(ctx context.Context, clientID int64) (core.Branding, error)
}

// TrayPolicies wraps a policy source and adds the branding of the device's
// client as Policy.Tray (nil while the client has none), extending the
// revision by its hash: a changed branding reaches the agents with the
// next push (the service pushes after every change).
type TrayPolicies struct {
	Base  PolicySource
	Store TrayPolicyStore
}

// AgentPolicy implements PolicySource.
func (tp TrayPolicies) AgentPolicy(ctx context.Context, deviceID int64) (protocol.Policy, error) {
	p, err := tp.Base.AgentPolicy(ctx, deviceID)
	if err != nil {
		return p, err
	}
	d, err := tp.Store.GetDevice(ctx, deviceID)
	if err != nil {
		return protocol.Policy{}, fmt.Errorf("reading device %d: %w", deviceID, err)
	}
	b, err := tp.Store.GetBranding(ctx, d.ClientID)
	if errors.Is(err, core.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return protocol.Policy{}, fmt.Errorf("reading the branding of client %d: %w", d.ClientID, err)
	}
	p.Tray = protocol.TrayFromBranding(b)
	// The icon counts through its hash, which Validate ties to its bytes.
	t := *p.Tray
	t.Icon = nil
	j, _ := json.Marshal(t) // plain data: cannot fail
	sum := sha256.Sum256(append([]byte(p.Revision+"\ntray\n"), j...))
	p.Revision = hex.EncodeToString(sum[:12])
	return p, nil
}

// supportRequest stores a user's support request and acks it only after
// commit, like a patch report: a malformed one is answered with
// SupportRejected and its reason (the agent drops it), a store failure
// closes the session without an ack (the agent sends it again). After the
// ack the device's requests go back to the agent, so the tray shows the
// request as received.
func (s *session) supportRequest(env protocol.Envelope) bool {
	var r protocol.SupportRequest
	err := protocol.DecodeData(env, &r)
	if err == nil {
		err = r.Validate()
	}
	if err == nil && env.ID != r.Ref {
		err = fmt.Errorf("%w: support request id %q is not its ref %q", protocol.ErrMalformed, env.ID, r.Ref)
	}
	if err != nil {
		s.log.Warn("rejecting malformed support request", "id", env.ID, "err", err)
		return s.send(s.ctx, protocol.TypeSupportAck, env.ID, protocol.SupportAck{Status: protocol.SupportRejected, Reason: err.Error()}) == nil
	}
	recv := s.g.opts.Support
	if recv == nil {
		err = errors.New("this server takes no support requests")
	} else {
		_, err = recv.ReceiveSupportRequest(s.ctx, s.deviceID, r)
	}
	if err != nil {
		s.log.Error("storing the support request", "id", env.ID, "err", err)
		s.close(websocket.StatusTryAgainLater, "could not store support request")
		return false
	}
	s.log.Info("support request stored", "ref", r.Ref, "screenshot", len(r.Screenshot) > 0)
	if err := s.send(s.ctx, protocol.TypeSupportAck, env.ID, protocol.SupportAck{Status: protocol.SupportStored}); err != nil {
		return false
	}
	s.pushSupportState(true)
	return true
}

// supportTimeout bounds reading and sending one device's support state.
const supportTimeout = 30 * time.Second

// pushSupportState sends the device's support requests of the last
// protocol.SupportStateDays; with none, only if always. Calls per session
// are serialized, so an older state never overtakes a newer one.
func (s *session) pushSupportState(always bool) {
	st := s.g.opts.Store
	s.supportMu.Lock()
	defer s.supportMu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, supportTimeout)
	defer cancel()
	since := s.g.opts.Now().Add(-protocol.SupportStateDays * 24 * time.Hour)
	rs, err := st.DeviceSupportRequests(ctx, s.deviceID, since, protocol.MaxSupportState)
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("reading the device's support requests", "err", err)
		}
		return
	}
	if len(rs) == 0 && !always {
		return
	}
	state := protocol.SupportState{Requests: make([]protocol.SupportStatus, 0, len(rs))}
	for _, r := range rs {
		state.Requests = append(state.Requests, protocol.SupportStatus{Ref: r.Ref, OSUser: r.OSUser, State: r.State,
			UpdatedAt: r.UpdatedAt, Replies: r.Replies})
	}
	if err := s.send(ctx, protocol.TypeSupportState, "", state); err != nil {
		s.log.Info("sending support state", "err", err)
	}
}

// PushSupportState sends a device's support requests to its agent, on
// this server or, in a cluster, on the node that holds its session, in the
// background; it returns at once. An agent that is offline gets them when
// it connects.
func (h *Hub) PushSupportState(deviceID int64) {
	if h.pushSupportLocal(deviceID) || h.node == nil {
		return
	}
	go h.node.broadcast(relay{Kind: relaySupport, DeviceID: deviceID})
}

// pushSupportLocal is PushSupportState for a session on this server;
// false if there is none.
func (h *Hub) pushSupportLocal(deviceID int64) bool {
	s := h.session(deviceID)
	if s == nil {
		return false
	}
	go func() {
		select {
		case <-s.welcomed:
			s.pushSupportState(true)
		case <-s.done:
		}
	}()
	return true
}
