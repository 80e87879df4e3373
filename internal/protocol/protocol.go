// Package protocol defines the messages between wacht-agent and the server:
// the versioned websocket envelope {v, type, id, data}, its payloads, the
// enrollment request over HTTPS and the enrollment token format. Decoders are
// strict about size and version and are fuzz-tested; unknown message types
// decode fine and are ignored by both sides.
package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Version is the envelope version this build speaks.
const Version = 1

// MaxMessageBytes bounds one websocket message; larger ones close the
// connection. A results batch of MaxBatch results fits comfortably.
const MaxMessageBytes = 4 << 20

// MaxBatch is the most results an agent sends in one batch.
const MaxBatch = 500

// Paths on the server's one HTTPS port.
const (
	PathEnroll = "/api/agent/enroll"
	PathWS     = "/api/agent/ws"
)

// Message types. TypePolicy and the remote actions after it carry an
// actionkey.Signed message.
const (
	TypeChallenge     = "challenge"      // server → agent, first frame
	TypeAuth          = "auth"           // agent → server, answers the challenge
	TypeWelcome       = "welcome"        // server → agent, session accepted
	TypeRefused       = "refused"        // server → agent, then close
	TypeHeartbeat     = "heartbeat"      // agent → server
	TypeHeartbeatAck  = "heartbeat_ack"  // server → agent
	TypeResults       = "results"        // agent → server
	TypeAck           = "ack"            // server → agent, id = the results envelope id
	TypeCommand       = "command"        // server → agent
	TypeCommandResult = "command_result" // agent → server, id = the command id
)

// Envelope is one websocket message.
type Envelope struct {
	V    int             `json:"v"`
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Errors from Decode.
var (
	ErrTooLarge    = errors.New("message too large")
	ErrBadVersion  = errors.New("unsupported protocol version")
	ErrMalformed   = errors.New("malformed message")
	ErrMissingType = errors.New("message without type")
)

// Encode builds an envelope around data.
func Encode(typ, id string, data any) ([]byte, error) {
	env := Envelope{V: Version, Type: typ, ID: id}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("encoding %s: %w", typ, err)
		}
		env.Data = b
	}
	return json.Marshal(env)
}

// Decode parses one envelope. It rejects oversized input, other versions and
// messages without a type; the payload is left for DecodeData.
func Decode(b []byte) (Envelope, error) {
	var env Envelope
	if len(b) > MaxMessageBytes {
		return env, ErrTooLarge
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return env, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.V != Version {
		return env, fmt.Errorf("%w: %d", ErrBadVersion, env.V)
	}
	if env.Type == "" {
		return env, ErrMissingType
	}
	return env, nil
}

// DecodeData parses an envelope's payload into v, rejecting unknown fields
// only where that matters is left to validation; trailing data is an error.
func DecodeData(env Envelope, v any) error {
	if len(env.Data) == 0 {
		return fmt.Errorf("%w: %s without data", ErrMalformed, env.Type)
	}
	dec := json.NewDecoder(bytes.NewReader(env.Data))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrMalformed, env.Type, err)
	}
	return nil
}

// Challenge is the server's first frame; the agent signs Nonce.
type Challenge struct {
	Nonce []byte `json:"nonce"`
}

// Auth proves possession of the device's enrolled private key.
type Auth struct {
	DeviceID     int64  `json:"device_id"`
	Signature    []byte `json:"signature"`
	AgentVersion string `json:"agent_version"`
	Hostname     string `json:"hostname"`
	// Disabled lists the capabilities locked on this device (Lock… in
	// action.go); the agent refuses their actions whatever the server says.
	Disabled []string `json:"disabled,omitempty"`
	// ActionKey is the fingerprint (actionkey.Fingerprint) of the newest
	// action key the agent trusts; after a rotation the server announces
	// the new key to an agent that reports an older one.
	ActionKey string `json:"action_key,omitempty"`
	// ScriptSigner is the public key (ed25519) every script must be
	// signed with on this device (lock mode), nil without lock mode.
	ScriptSigner []byte `json:"script_signer,omitempty"`
	// Update is the outcome of the newest self-update (update.go), sent
	// until a Welcome answers it; nil without one.
	Update *UpdateReport `json:"update,omitempty"`
	// ReleaseKey is the fingerprint (release.Fingerprint) of the release
	// key the agent trusts, "" for none.
	ReleaseKey string `json:"release_key,omitempty"`
}

// AuthMessage is what the agent signs: a fixed context string, the nonce and
// its device ID, so a signature cannot be replayed elsewhere.
func AuthMessage(nonce []byte, deviceID int64) []byte {
	m := []byte("wacht-agent-auth/1\x00")
	m = append(m, nonce...)
	m = append(m, 0)
	return strconv.AppendInt(m, deviceID, 10)
}

// SignAuth and VerifyAuth wrap ed25519 over AuthMessage.
func SignAuth(key ed25519.PrivateKey, nonce []byte, deviceID int64) []byte {
	return ed25519.Sign(key, AuthMessage(nonce, deviceID))
}

func VerifyAuth(pub ed25519.PublicKey, nonce []byte, deviceID int64, sig []byte) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, AuthMessage(nonce, deviceID), sig)
}

// Welcome accepts a session.
type Welcome struct {
	DeviceID         int64 `json:"device_id"`
	HeartbeatSeconds int   `json:"heartbeat_seconds"`
	// Time is the server's clock: the agent checks the validity of signed
	// messages against it, so that a wrong local clock does not refuse them.
	Time time.Time `json:"time"`
	// ActionKey is the server's action public key. An agent enrolled before
	// enrollment handed it out pins it from here once (trust on first use
	// over the already authenticated session); an agent with a pinned key
	// ignores it.
	ActionKey []byte `json:"action_key"`
	// ReleaseKeys are the release public keys (ed25519) that sign agent
	// builds. An agent that trusts none pins them from here once (as
	// ActionKey); one with a pinned or locally configured key ignores them.
	ReleaseKeys [][]byte `json:"release_keys,omitempty"`
}

// Refusal codes.
const (
	RefusedRevoked = "revoked"
	// RefusedRetired refuses a retired device; the agent uninstalls itself.
	RefusedRetired  = "retired"
	RefusedUnknown  = "unknown_device"
	RefusedBadProof = "bad_signature"
)

// Refused tells the agent why its session was refused.
type Refused struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Results is a batch of check results; the server acks it by envelope ID
// after commit.
type Results struct {
	Results []core.Result `json:"results"`
}

// Validate checks a batch before it reaches the store.
func (r Results) Validate() error {
	if len(r.Results) == 0 {
		return fmt.Errorf("%w: empty results batch", ErrMalformed)
	}
	if len(r.Results) > MaxBatch {
		return fmt.Errorf("%w: %d results in one batch (max %d)", ErrMalformed, len(r.Results), MaxBatch)
	}
	for i, res := range r.Results {
		switch {
		case res.ID == "" || len(res.ID) > 64:
			return fmt.Errorf("%w: result %d: bad id", ErrMalformed, i)
		case res.Check == "" || len(res.Check) > 64 || len(res.Key) > 256:
			return fmt.Errorf("%w: result %d: bad check name or key", ErrMalformed, i)
		case res.At.IsZero():
			return fmt.Errorf("%w: result %d: no time", ErrMalformed, i)
		case len(res.Message.EN) > 4096 || len(res.Message.DE) > 4096 || len(res.Unit) > 32:
			return fmt.Errorf("%w: result %d: message too long", ErrMalformed, i)
		}
		if err := ValidateData(res.Data); err != nil {
			return fmt.Errorf("%w: result %d: %v", ErrMalformed, i, err)
		}
	}
	return nil
}

// Ack confirms a committed batch.
type Ack struct {
	Stored int `json:"stored"`
}

// Command names.
const (
	CommandRunChecks = "run-checks"
	// CommandUninstall tells the agent of a retired device to answer, then
	// remove its service and data.
	CommandUninstall = "uninstall"
	// CommandActionKey announces the server's new action key after a
	// rotation (`wacht actionkey rotate`), signed with the retired key the
	// agent trusts; its arguments are an ActionKeyAnnouncement and its
	// reply an ActionKeyConfirmation.
	CommandActionKey = "action-key"
)

// RunChecksStarted is an agent's answer to CommandRunChecks: it answers at
// once and runs the Checks checks of its plan in the background; their
// results arrive as usual. Agents before it answered {"results": n} after
// the run.
type RunChecksStarted struct {
	Checks int `json:"checks"`
	// At is the agent's clock when the run started, to the millisecond:
	// the run's results are at or after it. The server counts the checks
	// that reported against it rather than its own clock, so a device
	// whose clock is behind still shows its run finish. Zero from agents
	// before it.
	At time.Time `json:"at,omitzero"`
}

// ActionKeyAnnouncement gives the agent the new action key; the keys it
// trusted before stay valid until Until at the latest (the end of the
// grace period).
type ActionKeyAnnouncement struct {
	Key   []byte    `json:"key"`
	Until time.Time `json:"until"`
}

// ActionKeyConfirmation is the agent's answer to an ActionKeyAnnouncement:
// the fingerprint (actionkey.Fingerprint) of the key it now trusts as the
// server's current one.
type ActionKeyConfirmation struct {
	Fingerprint string `json:"fingerprint"`
}

// CommandTTL is how long a signed command is valid: the agent refuses it
// after that (plus actionkey.MaxSkew), so a captured command cannot be
// replayed later.
const CommandTTL = 2 * time.Minute

// Command asks the agent to do something (an action: Name is its type) and
// answer with CommandResult. It travels as an actionkey.SignedAction of kind
// TypeCommand for one device (action.go); the agent refuses an unsigned or
// invalid one.
type Command struct {
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

// CommandResult answers a Command or a stream opening (action.go).
type CommandResult struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"` // = Message.EN
	// Code says why it failed, machine-readable (Code… in action.go), and
	// Message in English and German.
	Code    string          `json:"code,omitempty"`
	Message core.Text       `json:"message,omitzero"`
	Output  json.RawMessage `json:"output,omitempty"`
}

// EnrollRequest is POSTed to PathEnroll. Without DeviceID and Proof it
// always creates a new device; holding a site's token and a machine ID is
// never enough to take over an existing device.
type EnrollRequest struct {
	Token        string `json:"token"` // the token's secret part
	PublicKey    []byte `json:"public_key"`
	Hostname     string `json:"hostname"`
	OS           string `json:"os"`
	Platform     string `json:"platform"`
	Arch         string `json:"arch"`
	MachineID    string `json:"machine_id"`
	Role         string `json:"role"`
	AgentVersion string `json:"agent_version"`
	// DeviceID and Proof re-enroll (re-key) an existing device: Proof is
	// SignReenroll with the device's current key.
	DeviceID int64  `json:"device_id,omitempty"`
	Proof    []byte `json:"proof,omitempty"`
}

// EnrollResponse answers a successful enrollment.
type EnrollResponse struct {
	DeviceID int64  `json:"device_id"`
	Client   string `json:"client"`
	Site     string `json:"site"`
	// Rekeyed says that the device of the request's proof was re-keyed;
	// false: a new device was created.
	Rekeyed bool `json:"rekeyed"`
	// ActionKey is the server's ed25519 public key that signs policies and
	// actions; the agent pins it.
	ActionKey []byte `json:"action_key"`
	// ReleaseKeys are the release public keys the agent pins for its
	// self-updates (Welcome.ReleaseKeys).
	ReleaseKeys [][]byte `json:"release_keys,omitempty"`
}

// ReenrollMessage is what an agent signs with its device's current key to
// re-enroll it with the new key newKey: a fixed context string, the device
// ID and the new key, so that the proof is worth nothing for another key.
func ReenrollMessage(deviceID int64, newKey ed25519.PublicKey) []byte {
	m := []byte("wacht-agent-reenroll/1\x00")
	m = strconv.AppendInt(m, deviceID, 10)
	m = append(m, 0)
	return append(m, newKey...)
}

// SignReenroll and VerifyReenroll wrap ed25519 over ReenrollMessage.
func SignReenroll(current ed25519.PrivateKey, deviceID int64, newKey ed25519.PublicKey) []byte {
	return ed25519.Sign(current, ReenrollMessage(deviceID, newKey))
}

func VerifyReenroll(current ed25519.PublicKey, deviceID int64, newKey ed25519.PublicKey, proof []byte) bool {
	return len(current) == ed25519.PublicKeySize && ed25519.Verify(current, ReenrollMessage(deviceID, newKey), proof)
}

// Error codes in an enrollment error response.
const (
	EnrollTokenUnknown = "token_unknown"
	EnrollTokenExpired = "token_expired"
	EnrollTokenRevoked = "token_revoked"
	EnrollTokenUsedUp  = "token_used_up"
	EnrollBadRequest   = "bad_request"
)

// ErrorResponse is the JSON body of every API error.
type ErrorResponse struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// Token is the content of an enrollment token string: the server to enroll
// with, the SHA-256 fingerprint (hex) of its certificate to pin, and the
// secret. An empty fingerprint means "verify with the system's CAs" (a
// server with a publicly trusted certificate, e.g. from ACME).
type Token struct {
	URL         string `json:"u"`
	Fingerprint string `json:"f,omitempty"`
	Secret      string `json:"s"`
}

const tokenPrefix = "wacht1_"

// String encodes the token as one copy-pasteable string.
func (t Token) String() string {
	b, _ := json.Marshal(t)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParseToken decodes a token string.
func ParseToken(s string) (Token, error) {
	var t Token
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, tokenPrefix) {
		return t, errors.New("not a Wacht enrollment token (it should start with " + tokenPrefix + ")")
	}
	b, err := base64.RawURLEncoding.DecodeString(s[len(tokenPrefix):])
	if err != nil || len(b) > 4096 {
		return t, errors.New("enrollment token is damaged (was it copied completely?)")
	}
	if err := json.Unmarshal(b, &t); err != nil || t.Secret == "" || t.URL == "" {
		return t, errors.New("enrollment token is damaged (was it copied completely?)")
	}
	return t, nil
}

// Fingerprint is the hex SHA-256 of a certificate's DER: what the server
// logs, the token carries and the agent pins.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// Now is time.Now, rounded to milliseconds as the store keeps it.
func Now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
