package gateway

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Requests between cluster nodes carry a MAC (HMAC-SHA256 with
// RelayOptions.Key, derived from the secret.key every node has) over the
// method, the request URI, the sending and the receiving node's IDs, a
// timestamp, a random nonce and the body's SHA-256. The receiver accepts
// a request only within relayValidity of its timestamp, addressed to
// itself, and only once (it keeps the nonces it accepted until they
// expire): a captured request is worthless elsewhere, later or again.
const (
	hdrFrom  = "Wacht-Node-From"
	hdrTo    = "Wacht-Node-To"
	hdrTime  = "Wacht-Node-Time" // Unix milliseconds
	hdrNonce = "Wacht-Node-Nonce"
	hdrMAC   = "Wacht-Node-Mac"

	relayValidity = 30 * time.Second
	// maxRelayNonces bounds the replay cache; only requests with a valid
	// MAC enter it, so only a node can fill it.
	maxRelayNonces = 1 << 16
	macContext     = "wacht-relay/1\x00"
)

// Why a request between nodes is refused (logged, never told the caller).
var (
	errRelayUnsigned = errors.New("no relay MAC")
	errRelayExpired  = errors.New("relay request expired or from the future")
	errRelayForged   = errors.New("relay MAC does not verify")
	errRelayReplayed = errors.New("relay request replayed")
	errRelayBusy     = errors.New("too many relay requests to remember")
)

// relayAuth signs and verifies requests between nodes.
type relayAuth struct {
	key []byte
	now func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time // nonce → when it expires
}

func newRelayAuth(key []byte, now func() time.Time) *relayAuth {
	if now == nil {
		now = time.Now
	}
	return &relayAuth{key: key, now: now, seen: map[string]time.Time{}}
}

func (a *relayAuth) mac(method, uri, from, to, ts, nonce string, body []byte) []byte {
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(macContext))
	for _, f := range []string{method, uri, from, to, ts, nonce, hex.EncodeToString(sum[:])} {
		m.Write([]byte(f))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// sign sets the headers of a request from node from to node to; body is
// the request's body (nil for none).
func (a *relayAuth) sign(r *http.Request, from, to string, body []byte) {
	b := make([]byte, 16)
	rand.Read(b)
	nonce := hex.EncodeToString(b)
	ts := strconv.FormatInt(a.now().UnixMilli(), 10)
	r.Header.Set(hdrFrom, from)
	r.Header.Set(hdrTo, to)
	r.Header.Set(hdrTime, ts)
	r.Header.Set(hdrNonce, nonce)
	r.Header.Set(hdrMAC, hex.EncodeToString(a.mac(r.Method, r.URL.RequestURI(), from, to, ts, nonce, body)))
}

// verify checks a received request and uses up its nonce; it returns the
// sending node and the node the request is addressed to.
func (a *relayAuth) verify(r *http.Request, body []byte) (from, to string, err error) {
	from, to = r.Header.Get(hdrFrom), r.Header.Get(hdrTo)
	ts, nonce := r.Header.Get(hdrTime), r.Header.Get(hdrNonce)
	got, err := hex.DecodeString(r.Header.Get(hdrMAC))
	if from == "" || to == "" || ts == "" || len(nonce) != 32 || err != nil || len(got) != sha256.Size {
		return "", "", errRelayUnsigned
	}
	if !hmac.Equal(got, a.mac(r.Method, r.RequestURI, from, to, ts, nonce, body)) {
		return "", "", errRelayForged
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", "", errRelayForged
	}
	at, now := time.UnixMilli(ms), a.now()
	if now.Sub(at) > relayValidity || at.Sub(now) > relayValidity {
		return "", "", errRelayExpired
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.seen[nonce]; ok {
		return "", "", errRelayReplayed
	}
	if len(a.seen) >= maxRelayNonces {
		for n, exp := range a.seen {
			if now.After(exp) {
				delete(a.seen, n)
			}
		}
		if len(a.seen) >= maxRelayNonces {
			return "", "", errRelayBusy
		}
	}
	// Once at is more than relayValidity ago the timestamp refuses it.
	a.seen[nonce] = at.Add(relayValidity)
	return from, to, nil
}
