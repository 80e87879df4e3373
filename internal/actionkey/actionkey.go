// Package actionkey signs what the server asks of one agent (policy pushes,
// and the remote actions and stream openings built on them) with the
// server's ed25519 action key, and verifies it on the agent.
//
// A Signed message covers a Header naming the message type, the one device
// it is for, a random ID, when it was issued and until when it is valid, and
// the payload. A Verifier, holding the public key the agent pinned at
// enrollment, refuses unsigned messages, bad signatures, other devices,
// other types, expired or not yet valid messages and IDs it accepted before
// within their validity. Actions and stream openings are signed as a Claim
// (action name and SHA-256 of the canonical arguments) with the arguments
// beside it, valid at most MaxTTL (action.go). Rotate replaces the key and
// keeps the old one for a grace period, in which it signs only the
// announcement of the new key and agents accept both (rotate.go). The
// package is portable and imports nothing of the server; the agent uses it
// as well.
package actionkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/keyfile"
)

// File is the name of the key file in the server's data folder: the 32-byte
// ed25519 seed. With several server nodes, every node needs the same file.
const File = "action.key"

// MaxSkew is how far the issue time may lie ahead of the verifier's clock
// and how long after its expiry a message is still accepted.
const MaxSkew = 2 * time.Minute

// maxSeen bounds the IDs a Verifier remembers; beyond it, unexpired
// messages are refused rather than memory growing without bound.
const maxSeen = 10_000

// context separates these signatures from every other use of ed25519 in
// Wacht (the agent's auth signatures use another key and context anyway).
const context = "wacht-action/1\x00"

// Errors from Verify; every refusal wraps exactly one of them.
var (
	ErrUnsigned     = errors.New("unsigned")
	ErrNoKey        = errors.New("no pinned action key")
	ErrBadSignature = errors.New("bad signature")
	ErrMalformed    = errors.New("malformed signed message")
	ErrOtherDevice  = errors.New("signed for another device")
	ErrWrongType    = errors.New("signed for another message type")
	ErrExpired      = errors.New("expired")
	ErrNotYetValid  = errors.New("issued in the future")
	ErrReplayed     = errors.New("replayed")
)

// Signed is a signed message as it travels: Body is the JSON of a Header
// (base64 in JSON, so that its exact bytes survive re-encoding) and Sig the
// signature over it.
type Signed struct {
	Body []byte `json:"body"`
	Sig  []byte `json:"sig"`
}

// Header is what a signature covers.
type Header struct {
	Type    string          `json:"type"`
	Device  int64           `json:"device"`
	ID      string          `json:"id"`  // random, unique per message
	Issued  time.Time       `json:"iat"` // the signer's clock
	Expires time.Time       `json:"exp"`
	Payload json.RawMessage `json:"payload"`
	// SignedBy is the trusted key whose signature Verify accepted; it is
	// not part of the signed body.
	SignedBy Trusted `json:"-"`
}

// Signer holds the private action key (server side): the current key,
// which signs everything, and the keys retired by a rotation, which sign
// only the announcement of the current one until their grace period ends
// (rotate.go). It is safe for concurrent use; Reload swaps the keys.
type Signer struct {
	now  func() time.Time
	path string // the key file; "" for a Signer not loaded from files
	keys atomic.Pointer[keySet]
}

type keySet struct {
	cur     ed25519.PrivateKey
	retired []retiredKey
}

type retiredKey struct {
	key   ed25519.PrivateKey
	until time.Time
}

// Load reads the key file at path, creating it (0600) if it does not exist,
// and the keys retired by rotations from path+RetiredSuffix. now is the
// clock (nil: time.Now).
func Load(path string, now func() time.Time) (*Signer, error) {
	seed, err := keyfile.LoadOrCreate(path, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("action key: %w", err)
	}
	retired, err := readRetired(path + RetiredSuffix)
	if err != nil {
		return nil, err
	}
	s := NewSigner(ed25519.NewKeyFromSeed(seed), now)
	s.path = path
	s.keys.Store(&keySet{cur: ed25519.NewKeyFromSeed(seed), retired: retired})
	return s, nil
}

// NewSigner returns a Signer for key; now is the clock (nil: time.Now).
func NewSigner(key ed25519.PrivateKey, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	s := &Signer{now: now}
	s.keys.Store(&keySet{cur: key})
	return s
}

// Public is the key agents pin.
func (s *Signer) Public() ed25519.PublicKey { return s.keys.Load().cur.Public().(ed25519.PublicKey) }

// Sign signs payload (encoded as JSON) as a message of type typ for one
// device, valid for ttl from now.
func (s *Signer) Sign(typ string, deviceID int64, payload any, ttl time.Duration) (Signed, error) {
	p, err := json.Marshal(payload)
	if err != nil {
		return Signed{}, fmt.Errorf("signing %s: %w", typ, err)
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return Signed{}, fmt.Errorf("signing %s: %w", typ, err)
	}
	now := s.now()
	key := s.keys.Load().cur
	body, err := json.Marshal(Header{
		Type: typ, Device: deviceID, ID: hex.EncodeToString(id[:]),
		Issued: now, Expires: now.Add(ttl), Payload: p,
	})
	if err != nil {
		return Signed{}, fmt.Errorf("signing %s: %w", typ, err)
	}
	return Signed{Body: body, Sig: ed25519.Sign(key, message(body))}, nil
}

func message(body []byte) []byte { return append([]byte(context), body...) }

// Verifier checks signed messages for one device (agent side). It is safe
// for concurrent use.
type Verifier struct {
	keys   []Trusted
	device int64
	now    func() time.Time

	mu      sync.Mutex
	seen    map[string]time.Time // accepted IDs until their expiry
	pruneAt int                  // prune seen when it grows to this size
}

// NewVerifier returns a Verifier for messages to deviceID signed with pub
// (nil: every message is refused with ErrNoKey). now is the clock (nil:
// time.Now); the agent passes the server's clock as the welcome told it.
func NewVerifier(pub ed25519.PublicKey, deviceID int64, now func() time.Time) *Verifier {
	var keys []Trusted
	if pub != nil {
		keys = []Trusted{{Key: pub}}
	}
	return NewVerifierKeys(keys, deviceID, now)
}

// Trusted is a public action key a Verifier accepts until Until (zero: no
// end): during a rotation the agent trusts the new key and, until the end
// of the grace period, the old one.
type Trusted struct {
	Key   ed25519.PublicKey `json:"key"`
	Until time.Time         `json:"until,omitzero"`
}

// NewVerifierKeys is NewVerifier for several trusted keys; keys of a wrong
// size are ignored.
func NewVerifierKeys(keys []Trusted, deviceID int64, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	var ok []Trusted
	for _, k := range keys {
		if len(k.Key) == ed25519.PublicKeySize {
			ok = append(ok, k)
		}
	}
	return &Verifier{keys: ok, device: deviceID, now: now, seen: map[string]time.Time{}}
}

// WithKeys returns a Verifier like v that trusts keys instead; it keeps
// the IDs v accepted, so that a key change opens no window for replays.
func (v *Verifier) WithKeys(keys []Trusted) *Verifier {
	n := NewVerifierKeys(keys, v.device, v.now)
	v.mu.Lock()
	defer v.mu.Unlock()
	maps.Copy(n.seen, v.seen)
	n.pruneAt = v.pruneAt
	return n
}

// Keys returns the keys v trusts.
func (v *Verifier) Keys() []Trusted { return slices.Clone(v.keys) }

// signedBy finds the trusted key that signed body; a key past its Until is
// refused by name.
func (v *Verifier) signedBy(s Signed, now time.Time) (Trusted, error) {
	for _, k := range v.keys {
		if !ed25519.Verify(k.Key, message(s.Body), s.Sig) {
			continue
		}
		if !k.Until.IsZero() && now.After(k.Until) {
			return k, fmt.Errorf("%w: signed with the action key %s, retired at %s", ErrBadSignature,
				Fingerprint(k.Key)[:16], k.Until.UTC().Format(time.RFC3339))
		}
		return k, nil
	}
	return Trusted{}, ErrBadSignature
}

// Verify checks s as a message of type typ and decodes its payload into v.
// Each ID is accepted once.
func (v *Verifier) Verify(s Signed, typ string, payload any) (Header, error) {
	return v.verify(s, typ, payload, nil)
}

// verify is Verify with a further check of the header and decoded payload
// before the ID is remembered.
func (v *Verifier) verify(s Signed, typ string, payload any, check func(Header, any) error) (Header, error) {
	var h Header
	now := v.now()
	switch {
	case len(s.Sig) == 0 && len(s.Body) == 0:
		return h, ErrUnsigned
	case len(v.keys) == 0:
		return h, ErrNoKey
	}
	by, err := v.signedBy(s, now)
	if err != nil {
		return h, err
	}
	if err := json.Unmarshal(s.Body, &h); err != nil {
		return h, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	h.SignedBy = by
	switch {
	case h.ID == "" || len(h.ID) > 64:
		return h, fmt.Errorf("%w: bad id", ErrMalformed)
	case h.Device != v.device:
		return h, fmt.Errorf("%w: device %d, this is device %d", ErrOtherDevice, h.Device, v.device)
	case h.Type != typ:
		return h, fmt.Errorf("%w: %q, want %q", ErrWrongType, h.Type, typ)
	case now.Add(MaxSkew).Before(h.Issued):
		return h, fmt.Errorf("%w: issued %s, now %s", ErrNotYetValid, h.Issued.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case h.Expires.Add(MaxSkew).Before(now):
		return h, fmt.Errorf("%w: at %s, now %s", ErrExpired, h.Expires.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if err := json.Unmarshal(h.Payload, payload); err != nil {
		return h, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if check != nil {
		if err := check(h, payload); err != nil {
			return h, err
		}
	}
	return h, v.remember(h, now)
}

// remember records h's ID until it expires; a known ID is a replay.
func (v *Verifier) remember(h Header, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.seen[h.ID]; ok {
		return fmt.Errorf("%w: id %s", ErrReplayed, h.ID)
	}
	if len(v.seen) >= v.pruneAt {
		for id, exp := range v.seen {
			if exp.Add(MaxSkew).Before(now) {
				delete(v.seen, id)
			}
		}
		v.pruneAt = max(64, 2*len(v.seen))
	}
	if len(v.seen) >= maxSeen {
		return fmt.Errorf("%w: too many unexpired messages to track", ErrReplayed)
	}
	v.seen[h.ID] = h.Expires
	return nil
}
