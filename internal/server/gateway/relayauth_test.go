package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestRelayAuth sends requests to a cluster node's relay route over TLS:
// only one with a valid MAC, fresh, addressed to that node and not seen
// before is served; a forged, an expired, a future, a replayed and a
// tampered one get 401, one for another node 410.
func TestRelayAuth(t *testing.T) {
	e := clusterEnvs(t, 1, nil)[0]
	n := e.gw.hub.node
	key := n.auth.key
	client := newRelayClient(n.client.Transport.(*http.Transport).TLSClientConfig)
	body, _ := json.Marshal(relayRequest{DeviceID: 4711, Name: "exec", WaitMS: 1000})
	send := func(r *http.Request) (int, relayReply) {
		t.Helper()
		resp, err := client.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep relayReply
		b, _ := io.ReadAll(resp.Body)
		json.Unmarshal(b, &rep)
		return resp.StatusCode, rep
	}
	req := func(a *relayAuth, to string, signed, sent []byte) *http.Request {
		r, err := http.NewRequest(http.MethodPost, e.relay.URL+pathRelayCommand, bytes.NewReader(sent))
		if err != nil {
			t.Fatal(err)
		}
		a.sign(r, "asking-node", to, signed)
		return r
	}
	good := newRelayAuth(key, nil)
	first := req(good, n.id, body, body)
	replay := first.Clone(first.Context())
	if code, rep := send(first); code != http.StatusOK || rep.Failure == nil || !rep.Failure.Offline {
		t.Fatalf("valid request: %d %+v, want 200 and the device offline", code, rep)
	}
	replay.Body = io.NopCloser(bytes.NewReader(body))
	other := make([]byte, 32)
	rand.Read(other)
	tampered := bytes.Replace(body, []byte("4711"), []byte("4712"), 1)
	for name, r := range map[string]*http.Request{
		"replayed":        replay,
		"forged":          req(newRelayAuth(other, nil), n.id, body, body),
		"expired":         req(newRelayAuth(key, func() time.Time { return time.Now().Add(-2 * relayValidity) }), n.id, body, body),
		"from the future": req(newRelayAuth(key, func() time.Time { return time.Now().Add(2 * relayValidity) }), n.id, body, body),
		"tampered":        req(good, n.id, body, tampered),
		"without MAC":     func() *http.Request { r := req(good, n.id, body, body); r.Header.Del(hdrMAC); return r }(),
	} {
		if code, _ := send(r); code != http.StatusUnauthorized {
			t.Errorf("%s request: %d, want 401", name, code)
		}
	}
	if code, _ := send(req(good, "another-node", body, body)); code != http.StatusGone {
		t.Errorf("request for another node: %d, want 410", code)
	}
}

// TestRelayWrongKey: a node whose secret.key differs is refused by the
// others, and the error says what to check.
func TestRelayWrongKey(t *testing.T) {
	nodes := clusterEnvs(t, 2, nil)
	a, b := nodes[0], nodes[1]
	ag := b.enrollAgent("m1")
	b.connected(ag)
	other := make([]byte, 32)
	rand.Read(other)
	a.gw.hub.node.auth = newRelayAuth(other, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := a.gw.Hub().Command(ctx, ag.id, protocol.Command{Name: "exec"})
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "secret.key") {
		t.Errorf("command from a node with another key: %v, want a 401 that names secret.key", err)
	}
	if _, err := a.gw.Hub().OpenStream(ctx, ag.id, "file-download", nil); err == nil || !strings.Contains(err.Error(), "secret.key") {
		t.Errorf("stream from a node with another key: %v, want a 401 that names secret.key", err)
	}
}
