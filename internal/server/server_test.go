package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/logtest"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/store"
)

var listenRE = regexp.MustCompile(`msg=listening addr=([0-9.:]+)`)

type running struct {
	addr string
	logs *logtest.Buffer
	stop func() error
}

// start runs the server on a loopback port in data.
func start(t *testing.T, data string) *running {
	t.Helper()
	return startConfig(t, Config{DataDir: data})
}

// startConfig is start with more of the configuration; it sets Listen and
// Log.
func startConfig(t *testing.T, cfg Config) *running {
	t.Helper()
	logs := &logtest.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cfg.Listen, cfg.Log = "127.0.0.1:0", slog.New(slog.NewTextHandler(logs, nil))
	go func() {
		done <- Run(ctx, cfg)
	}()
	var stopped bool
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			return errors.New("server did not stop")
		}
	}
	t.Cleanup(func() { stop() })
	for range 600 {
		if m := listenRE.FindStringSubmatch(logs.String()); m != nil {
			return &running{addr: m[1], logs: logs, stop: stop}
		}
		select {
		case err := <-done:
			t.Fatalf("server exited: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("server did not log its address:\n%s", logs.String())
	return nil
}

// pinnedClient is an HTTP client with timeout that trusts exactly the
// certificate of the server whose store st is.
func pinnedClient(t *testing.T, st *store.DB, timeout time.Duration) *http.Client {
	t.Helper()
	fp, err := st.GetSetting(context.Background(), SettingCertFingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: pinned(fp)}, Timeout: timeout}
}

// pinned is a TLS client config that trusts exactly the certificate with
// this fingerprint, as the agent does.
func pinned(fp string) *tls.Config {
	return &tls.Config{
		InsecureSkipVerify: true,
		NextProtos:         []string{"h2", "http/1.1"},
		VerifyConnection: func(cs tls.ConnectionState) error {
			if protocol.Fingerprint(cs.PeerCertificates[0].Raw) != fp {
				return errors.New("certificate fingerprint mismatch")
			}
			return nil
		},
	}
}

func TestServeEndToEnd(t *testing.T) {
	data := t.TempDir()
	srv := start(t, data)
	ctx := context.Background()

	st, err := OpenStore(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, port, _ := net.SplitHostPort(srv.addr)
	if u, err := st.GetSetting(ctx, SettingServerURL); err != nil || u != "https://localhost:"+port {
		t.Fatalf("server_url = %q, %v", u, err)
	}
	fp, err := st.GetSetting(ctx, SettingCertFingerprint)
	if err != nil {
		t.Fatal(err)
	}
	if fileFP, err := tlsconf.FingerprintFile(filepath.Join(data, "tls", tlsconf.CertFile)); err != nil || fileFP != fp {
		t.Fatalf("cert_fingerprint %q, file %q (%v)", fp, fileFP, err)
	}
	if !strings.Contains(srv.logs.String(), fp) {
		t.Error("fingerprint not logged")
	}

	// TLS: only http/1.1 over ALPN, nothing below TLS 1.2.
	c, err := tls.Dial("tcp", srv.addr, pinned(fp))
	if err != nil {
		t.Fatal(err)
	}
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN %q, want http/1.1", p)
	}
	c.Close()
	old := pinned(fp)
	old.MaxVersion = tls.VersionTLS11
	if c, err := tls.Dial("tcp", srv.addr, old); err == nil {
		c.Close()
		t.Error("TLS 1.1 accepted")
	}

	// Enroll with a token the CLI logic creates from the stored settings.
	tok, _, err := CreateToken(ctx, st, TokenOptions{Create: true, Client: "Müller GmbH", Site: "Hannover", DataDir: data}, protocol.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tok.Fingerprint != fp {
		t.Fatalf("token pins %q, want %q", tok.Fingerprint, fp)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: pinned(fp)}, Timeout: 10 * time.Second}
	base := "https://" + srv.addr
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(protocol.EnrollRequest{Token: tok.Secret, PublicKey: pub, Hostname: "pc1", OS: "linux", MachineID: "m1"})
	resp, err := hc.Post(base+protocol.PathEnroll, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var er protocol.EnrollResponse
	json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || er.DeviceID == 0 {
		t.Fatalf("enroll: %d %+v", resp.StatusCode, er)
	}

	// The API and the dashboard are mounted too.
	resp, err = hc.Get(base + "/api/v1/devices")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API without token: %d, want 401", resp.StatusCode)
	}
	resp, err = hc.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("dashboard login page: %d", resp.StatusCode)
	}
	// No metrics unless configured (issue 24), whatever the request says.
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer ")
	if resp, err = hc.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics without a metrics token configured: %d, want 404", resp.StatusCode)
	}

	// An agent session over wss, then a graceful shutdown.
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(wctx, "wss://"+srv.addr+protocol.PathWS, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	read := func() protocol.Envelope {
		t.Helper()
		_, b, err := conn.Read(wctx)
		if err != nil {
			t.Fatal(err)
		}
		env, err := protocol.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	write := func(typ, id string, v any) {
		t.Helper()
		b, _ := protocol.Encode(typ, id, v)
		if err := conn.Write(wctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	var ch protocol.Challenge
	protocol.DecodeData(read(), &ch)
	write(protocol.TypeAuth, "", protocol.Auth{DeviceID: er.DeviceID, Signature: protocol.SignAuth(key, ch.Nonce, er.DeviceID)})
	if env := read(); env.Type != protocol.TypeWelcome {
		t.Fatalf("got %s, want welcome", env.Type)
	}
	if env := read(); env.Type != protocol.TypePolicy {
		t.Fatalf("got %s, want the policy right after welcome", env.Type)
	}
	write(protocol.TypeResults, "b1", protocol.Results{Results: []core.Result{{ID: "r1", Check: "cpu", Status: core.StatusOK, At: protocol.Now()}}})
	if env := read(); env.Type != protocol.TypeAck || env.ID != "b1" {
		t.Fatalf("got %s %s, want ack b1", env.Type, env.ID)
	}
	// A user's support request reaches the service (issue 20): acked once
	// stored, then the device's requests come back.
	ref := "tray-0001-e2e1"
	write(protocol.TypeSupportRequest, ref, protocol.SupportRequest{Ref: ref, OSUser: "anna", Message: "Mein Drucker druckt nicht.",
		Lang: "de", CreatedAt: protocol.Now()})
	var sack protocol.SupportAck
	if env := read(); env.Type != protocol.TypeSupportAck || env.ID != ref || protocol.DecodeData(env, &sack) != nil || sack.Status != protocol.SupportStored {
		t.Fatalf("got %s %s %s, want the support request stored", env.Type, env.ID, env.Data)
	}
	var state protocol.SupportState
	if env := read(); env.Type != protocol.TypeSupportState || protocol.DecodeData(env, &state) != nil || len(state.Requests) != 1 || state.Requests[0].Ref != ref {
		t.Fatalf("got %s %s, want the device's support state", env.Type, env.Data)
	}
	if rs, n, err := st.ListSupportRequests(ctx, core.SupportFilter{DeviceID: er.DeviceID}); err != nil || n != 1 || rs[0].Message != "Mein Drucker druckt nicht." {
		t.Fatalf("stored support requests %+v, %v", rs, err)
	}

	closed := make(chan error, 1)
	go func() {
		_, _, err := conn.Read(wctx)
		closed <- err
	}()
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	err = <-closed
	if code := websocket.CloseStatus(err); code != websocket.StatusGoingAway {
		t.Fatalf("agent connection ended with %v, want going away", err)
	}
	if n, err := st.CountResults(ctx, er.DeviceID); err != nil || n != 1 {
		t.Fatalf("%d results stored, %v", n, err)
	}

	// A restart keeps the certificate agents pinned.
	srv2 := start(t, data)
	c, err = tls.Dial("tcp", srv2.addr, pinned(fp))
	if err != nil {
		t.Fatalf("restarted server presents another certificate: %v", err)
	}
	c.Close()
}

func TestLimitBody(t *testing.T) {
	var readErr error
	h := limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.ReadAll(r.Body)
	}), 10)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader("0123456789")))
	if readErr != nil {
		t.Fatalf("body at the limit: %v", readErr)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", strings.NewReader("0123456789x")))
	var tooBig *http.MaxBytesError
	if !errors.As(readErr, &tooBig) {
		t.Fatalf("body over the limit: %v", readErr)
	}
	// Uploads stream to the device, bounded by their own length.
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", "/api/v1/devices/1/files/content?path=/x", strings.NewReader("0123456789x")))
	if readErr != nil {
		t.Fatalf("upload over the limit: %v", readErr)
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/api/v1/devices/1/files/content", strings.NewReader("0123456789x")))
	if !errors.As(readErr, &tooBig) {
		t.Fatalf("POST to the upload path over the limit: %v", readErr)
	}
}

func TestPublicURL(t *testing.T) {
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}
	cases := []struct {
		explicit, acme, want string
		addr                 net.Addr
	}{
		{"", "", "https://localhost:8443", addr},
		{"", "", "https://localhost", &net.TCPAddr{Port: 443}},
		{"", "rmm.example", "https://rmm.example", addr},
		{"https://rmm.example:9443", "rmm.example", "https://rmm.example:9443", addr},
	}
	for _, c := range cases {
		if got, err := PublicURL(c.explicit, c.acme, c.addr); err != nil || got != c.want {
			t.Errorf("PublicURL(%q, %q, %v) = %q, %v; want %q", c.explicit, c.acme, c.addr, got, err, c.want)
		}
	}
	for _, bad := range []string{"http://x", "rmm.example", "https://"} {
		if _, err := PublicURL(bad, "", addr); err == nil {
			t.Errorf("PublicURL(%q) accepted", bad)
		}
	}
}

func TestRunFailsOnBusyPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = Run(context.Background(), Config{DataDir: t.TempDir(), Listen: ln.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "listening") {
		t.Fatalf("Run on a busy port: %v", err)
	}
}
