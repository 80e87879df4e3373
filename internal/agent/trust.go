package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TrustFile in the agent's data folder holds the action keys the agent
// trusts after a rotation of the server's key: the new key, and the keys
// trusted before until the end of their grace period. Without it the key
// pinned in agent.json is the only one. The server writes agent.json never,
// so what rotations teach the agent lives here.
const TrustFile = "actionkeys.json"

type trustFile struct {
	// Pinned is the key of agent.json the rotations started from; after a
	// re-enrollment pins another one, the file no longer applies.
	Pinned []byte              `json:"pinned"`
	Keys   []actionkey.Trusted `json:"keys"`
}

func init() {
	RegisterAction(protocol.CommandActionKey, Action{
		Do: func(ctx context.Context, a *Agent, args json.RawMessage) (any, error) {
			var ann protocol.ActionKeyAnnouncement
			if err := json.Unmarshal(args, &ann); err != nil || len(ann.Key) != ed25519.PublicKeySize || ann.Until.IsZero() {
				return nil, Errorf(protocol.CodeBadArgs, "The announcement names no action key and grace period.",
					"Die Ankündigung nennt keinen Aktionsschlüssel und keine Übergangsfrist.")
			}
			return a.adoptActionKey(ann, signedBy(ctx))
		},
	})
}

// trustedKeys returns the action keys to verify with: those of the trust
// file if it derives from the pinned key, else the pinned key alone.
func trustedKeys(dir string, pinned ed25519.PublicKey) ([]actionkey.Trusted, error) {
	if len(pinned) == 0 {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, TrustFile))
	if errors.Is(err, fs.ErrNotExist) {
		return []actionkey.Trusted{{Key: pinned}}, nil
	}
	var f trustFile
	if err == nil {
		err = json.Unmarshal(b, &f)
	}
	if err != nil {
		return []actionkey.Trusted{{Key: pinned}}, fmt.Errorf("reading the rotated action keys: %w", err)
	}
	if !bytes.Equal(f.Pinned, pinned) || len(f.Keys) == 0 {
		return []actionkey.Trusted{{Key: pinned}}, nil
	}
	return f.Keys, nil
}

// currentKey is the newest trusted action key: the one without an end.
func currentKey(keys []actionkey.Trusted) ed25519.PublicKey {
	for _, k := range keys {
		if k.Until.IsZero() {
			return k.Key
		}
	}
	return nil
}

// adoptActionKey trusts the announced key from now on, and every key
// trusted so far until the announced end of the grace period at the
// latest. Only the newest trusted key may announce its successor: a key
// already retired here, although still accepted for actions, announces
// nothing (whoever stole it cannot take over agents that moved on). A
// trust file that cannot be written is reported: the key is then trusted
// for this run only, and the server announces it again at the next
// connection.
func (a *Agent) adoptActionKey(ann protocol.ActionKeyAnnouncement, by actionkey.Trusted) (any, error) {
	a.trustMu.Lock()
	defer a.trustMu.Unlock()
	v := a.verify.Load()
	if cur := currentKey(v.Keys()); cur == nil || !cur.Equal(by.Key) || !by.Until.IsZero() {
		return nil, Errorf(protocol.CodeBadSignature,
			"Refused: a new action key is announced only with the newest trusted one; this announcement is signed with the retired key %.16s.",
			"Abgelehnt: Ein neuer Aktionsschlüssel wird nur mit dem neuesten vertrauten angekündigt; diese Ankündigung ist mit dem abgelösten Schlüssel %.16s signiert.",
			actionkey.Fingerprint(by.Key))
	}
	now := a.serverNow()
	keys := []actionkey.Trusted{{Key: ann.Key}}
	for _, k := range v.Keys() {
		if k.Key.Equal(ed25519.PublicKey(ann.Key)) {
			continue
		}
		if k.Until.IsZero() || ann.Until.Before(k.Until) {
			k.Until = ann.Until
		}
		if now.Before(k.Until) {
			keys = append(keys, k)
		}
	}
	fp := actionkey.Fingerprint(ann.Key)
	changed := !slices.EqualFunc(keys, v.Keys(), func(x, y actionkey.Trusted) bool { return x.Key.Equal(y.Key) && x.Until.Equal(y.Until) })
	if !changed {
		return protocol.ActionKeyConfirmation{Fingerprint: fp}, nil
	}
	a.verify.Store(v.WithKeys(keys))
	b, err := json.MarshalIndent(trustFile{Pinned: a.cfg.ActionKey, Keys: keys}, "", "  ")
	if err == nil {
		err = writeFileAtomic(filepath.Join(a.opts.DataDir, TrustFile), append(b, '\n'))
	}
	if err != nil {
		a.log.Error("cannot store the server's new action key; trusting it for this run only", "err", err)
		return nil, Errorf(protocol.CodeFailed, "The new action key is trusted for this run only: %v", "Der neue Aktionsschlüssel gilt nur bis zum Neustart: %v", err)
	}
	a.log.Info("trusting the server's new action key", "fingerprint", fp[:16], "previous_until", ann.Until)
	return protocol.ActionKeyConfirmation{Fingerprint: fp}, nil
}

// actionKeyFingerprint is what the agent reports in its auth frame: the
// fingerprint of the newest action key it trusts ("" without one).
func (a *Agent) actionKeyFingerprint() string {
	if k := currentKey(a.verify.Load().Keys()); k != nil {
		return actionkey.Fingerprint(k)
	}
	return ""
}

// serverNow is the local clock corrected by the offset the last welcome
// showed: signed messages are checked against the server's clock, so that
// a wrong clock on this machine does not make them look expired.
func (a *Agent) serverNow() time.Time {
	return time.Now().Add(time.Duration(a.clockOffset.Load()))
}

// newVerifier checks messages signed with the trusted action keys.
func (a *Agent) newVerifier(keys []actionkey.Trusted) *actionkey.Verifier {
	return actionkey.NewVerifierKeys(keys, a.cfg.DeviceID, a.serverNow)
}

// welcomed takes what the agent trusts from an accepted session: the
// server's clock and, for an agent enrolled before servers handed out the
// action key, that key (trust on first use over the session that the pinned
// certificate and the device key already authenticated). A pinned key is
// never replaced from here: only an announcement signed with a trusted key
// adds another (adoptActionKey).
func (a *Agent) welcomed(w protocol.Welcome) {
	if !w.Time.IsZero() {
		a.clockOffset.Store(int64(time.Until(w.Time)))
	}
	switch {
	case len(a.cfg.ActionKey) != 0:
		if len(w.ActionKey) != 0 && !slices.ContainsFunc(a.verify.Load().Keys(), func(k actionkey.Trusted) bool { return bytes.Equal(k.Key, w.ActionKey) }) {
			// After a rotation the announcement follows the welcome.
			a.log.Warn("the server presents an action key this agent does not trust (yet); what it signs is refused " +
				"until the server announces that key signed with a trusted one (wacht actionkey rotate) or this agent is re-enrolled")
		}
	case len(w.ActionKey) == ed25519.PublicKeySize:
		cfg := a.cfg
		cfg.ActionKey = w.ActionKey
		if err := SaveConfig(a.opts.DataDir, cfg); err != nil {
			a.log.Error("cannot store the server's action key; pinning it for this run only", "err", err)
		}
		a.cfg.ActionKey = cfg.ActionKey
		a.verify.Store(a.newVerifier([]actionkey.Trusted{{Key: cfg.ActionKey}}))
		a.log.Warn("pinned the server's action key on first use (this agent was enrolled before the server signed policies)")
	default:
		a.log.Error("the server sent no action key; policies cannot be verified and will be refused")
	}
	a.pinReleaseKeys(w.ReleaseKeys)
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
