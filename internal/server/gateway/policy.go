package gateway

import (
	"context"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// PolicySource computes the effective policy of a device
// (policy.Resolver implements it).
type PolicySource interface {
	AgentPolicy(ctx context.Context, deviceID int64) (protocol.Policy, error)
}

// policyTimeout bounds computing and sending one device's policy.
const policyTimeout = 30 * time.Second

// pushPolicy sends the device's effective policy unless the agent already
// has this revision. Calls per session are serialized, so an older policy
// never overtakes a newer one.
func (s *session) pushPolicy() {
	src := s.g.opts.Policy
	if src == nil {
		return
	}
	s.policyMu.Lock()
	defer s.policyMu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, policyTimeout)
	defer cancel()
	p, err := src.AgentPolicy(ctx, s.deviceID)
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Error("computing the device's policy", "err", err)
		}
		return
	}
	if p.Revision == s.policyRev {
		return
	}
	signed, err := s.g.opts.ActionKey.Sign(protocol.TypePolicy, s.deviceID, p, protocol.PolicyTTL)
	if err != nil {
		s.log.Error("signing the device's policy", "err", err)
		return
	}
	if err := s.send(ctx, protocol.TypePolicy, "", signed); err != nil {
		s.log.Info("sending policy", "err", err)
		return
	}
	s.policyRev = p.Revision
	s.log.Info("policy sent", "revision", p.Revision, "checks", len(p.Checks), "tasks", len(p.Tasks), "software", len(p.Software))
}

// PushPolicies recomputes the effective policy of every connected agent,
// on this server and on the other nodes of a cluster, and sends those that
// changed, in the background; it returns at once. Agents that are offline
// get theirs when they connect.
func (h *Hub) PushPolicies() {
	h.pushLocal()
	if h.node != nil {
		go h.node.broadcast(relay{Kind: relayPolicy})
	}
}

// pushLocal is PushPolicies for the agents connected to this server.
func (h *Hub) pushLocal() {
	h.mu.Lock()
	sessions := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	// Each push resolves the device's policy (a few ms of queries); a
	// bounded number at a time keeps a change on a large installation from
	// flooding the database.
	sem := make(chan struct{}, pushConcurrency)
	for _, s := range sessions {
		go func() {
			select {
			case <-s.welcomed:
			case <-s.done:
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			s.pushPolicy()
		}()
	}
}

// resyncPolicies calls PushPolicies every interval until Shutdown.
func (h *Hub) resyncPolicies(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stopped:
			return
		case <-t.C:
			h.pushLocal()
		}
	}
}

// pushConcurrency bounds the policy pushes of one PushPolicies call.
const pushConcurrency = 8
