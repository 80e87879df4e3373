package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// DefaultActionKeyReload is how often the action key files are re-read.
const DefaultActionKeyReload = time.Minute

// announceTimeout bounds one announcement of a new action key.
const announceTimeout = 30 * time.Second

// ReloadActionKey re-reads the action key files (after `wacht actionkey
// rotate`, or files copied from another node). When the current key
// changed, every agent connected to this node that trusts only a key the
// rotation retired gets the new key announced, signed with that retired
// key; ReloadActionKey returns when they answered. Agents that are offline
// get the announcement when they connect. The gateway calls it every
// Options.ActionKeyReload.
func (g *Gateway) ReloadActionKey() error {
	changed, err := g.opts.ActionKey.Reload()
	if err != nil {
		return fmt.Errorf("reloading the action key: %w", err)
	}
	if !changed {
		return nil
	}
	g.log.Info("the action key changed; announcing it to the connected agents",
		"fingerprint", actionkey.Fingerprint(g.opts.ActionKey.Public())[:16])
	h := g.hub
	h.mu.Lock()
	sessions := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	sem := make(chan struct{}, pushConcurrency)
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() {
			select {
			case <-s.welcomed:
			case <-s.done:
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			s.announceActionKey()
		})
	}
	wg.Wait()
	return nil
}

// reloadActionKeys calls ReloadActionKey every interval until Shutdown.
func (h *Hub) reloadActionKeys(g *Gateway, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stopped:
			return
		case <-t.C:
			if err := g.ReloadActionKey(); err != nil {
				g.log.Error("keeping the action keys in use", "err", err)
			}
		}
	}
}

// noteActionKey records the fingerprint of the newest action key the
// agent trusts.
func (s *session) noteActionKey(ctx context.Context, fp string) {
	s.keyMu.Lock()
	s.keyFP = fp
	s.keyMu.Unlock()
	if err := s.g.opts.Store.SetDeviceActionKey(ctx, s.deviceID, fp); err != nil && s.ctx.Err() == nil {
		s.log.Error("recording the agent's action key", "err", err)
	}
}

// needsAnnouncement tells whether the agent reported a key other than the
// current one (an agent that reports none predates rotation).
func (s *session) needsAnnouncement() bool {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	return s.keyFP != "" && s.keyFP != actionkey.Fingerprint(s.g.opts.ActionKey.Public())
}

// announceActionKey announces the current action key to an agent that
// trusts only a retired one, signed with that retired key, and records the
// agent's confirmation. An agent on a key this node does not hold, or
// whose grace period ended, cannot be told: it must be re-enrolled.
func (s *session) announceActionKey() {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	signer := s.g.opts.ActionKey
	cur := signer.Public()
	fp := actionkey.Fingerprint(cur)
	if s.keyFP == "" || s.keyFP == fp {
		return
	}
	old, until, ok := signer.Retiree(s.keyFP)
	if !ok {
		s.log.Error("the agent trusts an action key that is neither current nor in its grace period; "+
			"it refuses what this server signs until it is re-enrolled", "agent_key", s.keyFP[:min(16, len(s.keyFP))])
		return
	}
	args, err := json.Marshal(protocol.ActionKeyAnnouncement{Key: cur, Until: until})
	if err != nil {
		s.log.Error("encoding the action key announcement", "err", err)
		return
	}
	signed, err := old.SignAction(protocol.TypeCommand, s.deviceID, protocol.CommandActionKey, args, protocol.CommandTTL)
	if err != nil {
		s.log.Error("signing the action key announcement", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, announceTimeout)
	defer cancel()
	res, err := s.g.hub.request(ctx, s, protocol.TypeCommand, protocol.CommandActionKey, signed)
	if err == nil {
		err = res.Err()
	}
	var conf protocol.ActionKeyConfirmation
	if err == nil {
		if err = json.Unmarshal(res.Output, &conf); err == nil && conf.Fingerprint != fp {
			err = fmt.Errorf("the agent confirmed the key %.16s", conf.Fingerprint)
		}
	}
	if err != nil {
		if s.ctx.Err() == nil {
			s.log.Warn("announcing the new action key", "err", err)
		}
		return
	}
	s.keyFP = fp
	if err := s.g.opts.Store.SetDeviceActionKey(ctx, s.deviceID, fp); err != nil {
		s.log.Error("recording the agent's action key", "err", err)
	}
	s.log.Info("the agent trusts the new action key", "fingerprint", fp[:16])
}
