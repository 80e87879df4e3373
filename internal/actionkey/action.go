package actionkey

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// MaxTTL is the longest validity of a signed action or stream opening: a
// captured one is worthless after at most MaxTTL + MaxSkew.
const MaxTTL = 5 * time.Minute

// ErrArgsMismatch refuses an action whose arguments are not the ones signed.
var ErrArgsMismatch = errors.New("arguments do not match their signed digest")

// Claim is the payload of a signed action: its name (exec, file-download…)
// and the SHA-256 of its canonical arguments. Together with the Header it
// covers {device, kind, name, argument digest, issued-at, expiry, nonce}.
type Claim struct {
	Name       string `json:"name"`
	ArgsSHA256 string `json:"args_sha256"`
}

// SignedAction is a signed Claim with the arguments beside it; the
// arguments may be re-encoded in transit, their canonical form may not
// change.
type SignedAction struct {
	Signed
	Args json.RawMessage `json:"args,omitempty"`
}

// Canonical is the form of JSON arguments that their digest covers: compact,
// object keys sorted, numbers as written, no HTML escaping; no arguments are
// "null".
func Canonical(args json.RawMessage) ([]byte, error) {
	if len(bytes.TrimSpace(args)) == 0 {
		return []byte("null"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(args))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: arguments: %v", ErrMalformed, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: arguments: trailing data", ErrMalformed)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // maps encode with sorted keys
		return nil, fmt.Errorf("%w: arguments: %v", ErrMalformed, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// ArgsDigest is the hex SHA-256 of the canonical arguments.
func ArgsDigest(args json.RawMessage) (string, error) {
	c, err := Canonical(args)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(c)
	return hex.EncodeToString(sum[:]), nil
}

// SignAction signs the action name with args for one device as a message
// of type kind (an action request or a stream opening), valid for ttl
// (at most MaxTTL).
func (s *Signer) SignAction(kind string, deviceID int64, name string, args json.RawMessage, ttl time.Duration) (SignedAction, error) {
	if ttl > MaxTTL {
		return SignedAction{}, fmt.Errorf("signing %s %s: validity %v exceeds %v", kind, name, ttl, MaxTTL)
	}
	d, err := ArgsDigest(args)
	if err != nil {
		return SignedAction{}, fmt.Errorf("signing %s %s: %w", kind, name, err)
	}
	signed, err := s.Sign(kind, deviceID, Claim{Name: name, ArgsSHA256: d}, ttl)
	if err != nil {
		return SignedAction{}, err
	}
	return SignedAction{Signed: signed, Args: args}, nil
}

// VerifyAction checks sa as a signed action of type kind for this device
// and returns its header and action name. Besides Verify's refusals it
// refuses a validity longer than MaxTTL and arguments that do not match the
// signed digest; a refused message does not use up its nonce.
func (v *Verifier) VerifyAction(sa SignedAction, kind string) (Header, string, error) {
	var c Claim
	h, err := v.verify(sa.Signed, kind, &c, func(h Header, c0 any) error {
		c := c0.(*Claim)
		if h.Expires.Sub(h.Issued) > MaxTTL {
			return fmt.Errorf("%w: valid for %v, at most %v", ErrMalformed, h.Expires.Sub(h.Issued), MaxTTL)
		}
		if c.Name == "" || len(c.Name) > 64 || len(c.ArgsSHA256) != 2*sha256.Size {
			return fmt.Errorf("%w: not an action claim", ErrMalformed)
		}
		d, err := ArgsDigest(sa.Args)
		if err != nil {
			return err
		}
		if d != c.ArgsSHA256 {
			return ErrArgsMismatch
		}
		return nil
	})
	return h, c.Name, err
}
