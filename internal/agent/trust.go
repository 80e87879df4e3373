package agent

import (
	"bytes"
	"crypto/ed25519"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// serverNow is the local clock corrected by the offset the last welcome
// showed: signed messages are checked against the server's clock, so that
// a wrong clock on this machine does not make them look expired.
func (a *Agent) serverNow() time.Time {
	return time.Now().Add(time.Duration(a.clockOffset.Load()))
}

// verifier checks messages signed with the pinned action key.
func (a *Agent) newVerifier(pub ed25519.PublicKey) *actionkey.Verifier {
	return actionkey.NewVerifier(pub, a.cfg.DeviceID, a.serverNow)
}

// welcomed takes what the agent trusts from an accepted session: the
// server's clock and, for an agent enrolled before servers handed out the
// action key, that key (trust on first use over the session that the pinned
// certificate and the device key already authenticated). A pinned key is
// never replaced.
func (a *Agent) welcomed(w protocol.Welcome) {
	if !w.Time.IsZero() {
		a.clockOffset.Store(int64(time.Until(w.Time)))
	}
	switch {
	case len(a.cfg.ActionKey) != 0:
		if len(w.ActionKey) != 0 && !bytes.Equal(w.ActionKey, a.cfg.ActionKey) {
			a.log.Error("the server presents another action key than the one pinned at enrollment; " +
				"its policies will be refused (re-enroll this agent if the server's action key was replaced on purpose)")
		}
	case len(w.ActionKey) == ed25519.PublicKeySize:
		cfg := a.cfg
		cfg.ActionKey = w.ActionKey
		if err := SaveConfig(a.opts.DataDir, cfg); err != nil {
			a.log.Error("cannot store the server's action key; pinning it for this run only", "err", err)
		}
		a.cfg.ActionKey = cfg.ActionKey
		a.verify.Store(a.newVerifier(cfg.ActionKey))
		a.log.Warn("pinned the server's action key on first use (this agent was enrolled before the server signed policies)")
	default:
		a.log.Error("the server sent no action key; policies cannot be verified and will be refused")
	}
}

// receivePolicy verifies a signed policy and applies it; anything invalid
// is refused with a log line and the current policy keeps running.
func (a *Agent) receivePolicy(env protocol.Envelope) {
	var s actionkey.Signed
	var p protocol.Policy
	err := protocol.DecodeData(env, &s)
	var h actionkey.Header
	if err == nil {
		h, err = a.verify.Load().Verify(s, protocol.TypePolicy, &p)
	}
	if err == nil {
		err = a.applyPolicy(p, h.Issued)
	}
	if err != nil {
		a.log.Warn("refusing a policy; the current one keeps running", "err", err)
	}
}
