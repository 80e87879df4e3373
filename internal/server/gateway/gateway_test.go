package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// testStore is the full store the tests set up data with.
type testStore interface {
	Store
	core.TenantStore
}

type env struct {
	t      testing.TB
	st     testStore
	gw     *Gateway
	srv    *httptest.Server
	signer *actionkey.Signer
	relay  *httptest.Server // cluster nodes: where the other nodes reach this one
}

// command verifies a command frame as a real agent of deviceID does, with
// the public key of the env's action key, and returns the command.
func (e *env) command(deviceID int64, env protocol.Envelope) (protocol.Command, error) {
	var signed actionkey.SignedAction
	if env.Type != protocol.TypeCommand {
		return protocol.Command{}, fmt.Errorf("got %s, want a command", env.Type)
	}
	if err := protocol.DecodeData(env, &signed); err != nil {
		return protocol.Command{}, err
	}
	_, name, err := actionkey.NewVerifier(e.signer.Public(), deviceID, nil).VerifyAction(signed, protocol.TypeCommand)
	return protocol.Command{Name: name, Args: signed.Args}, err
}

func newEnv(t testing.TB, st testStore, wrap func(Store) Store, tweak func(*Options)) *env {
	t.Helper()
	var gs Store = st
	if wrap != nil {
		gs = wrap(st)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer := actionkey.NewSigner(key, nil)
	o := Options{Store: gs, Log: testLog(t), ActionKey: signer}
	if tweak != nil {
		tweak(&o)
	}
	gw := New(o)
	srv := httptest.NewServer(gw)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		gw.Hub().Shutdown(ctx)
		srv.Close()
	})
	return &env{t: t, st: st, gw: gw, srv: srv, signer: o.ActionKey}
}

// engines runs f against SQLite and, when WACHT_TEST_POSTGRES is set, PostgreSQL.
func engines(t *testing.T, f func(t *testing.T, st testStore)) {
	t.Run("sqlite", func(t *testing.T) { f(t, storetest.NewSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { f(t, storetest.NewPostgres(t)) })
}

// token creates an enrollment token and returns its secret.
func (e *env) token(mod func(*core.EnrollmentToken)) (string, core.EnrollmentToken) {
	e.t.Helper()
	ctx := context.Background()
	_, site, err := e.st.EnsureClientSite(ctx, "Müller GmbH", "Hannover")
	if err != nil {
		e.t.Fatal(err)
	}
	secret := auth.NewSecret("wet_")
	tok := core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site.ID}
	if mod != nil {
		mod(&tok)
	}
	if err := e.st.CreateEnrollmentToken(ctx, &tok); err != nil {
		e.t.Fatal(err)
	}
	return secret, tok
}

func (e *env) postEnroll(body []byte) (int, protocol.ErrorResponse, protocol.EnrollResponse) {
	e.t.Helper()
	return e.postEnrollFrom("", body)
}

// postEnrollFrom posts from the loopback address ip ("": the default).
func (e *env) postEnrollFrom(ip string, body []byte) (int, protocol.ErrorResponse, protocol.EnrollResponse) {
	e.t.Helper()
	c := &http.Client{}
	if ip != "" {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
		c.Transport = &http.Transport{DialContext: d.DialContext}
	}
	resp, err := c.Post(e.srv.URL+protocol.PathEnroll, "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var er protocol.ErrorResponse
	var ok protocol.EnrollResponse
	b := new(bytes.Buffer)
	b.ReadFrom(resp.Body)
	if resp.StatusCode == http.StatusOK {
		json.Unmarshal(b.Bytes(), &ok)
	} else {
		json.Unmarshal(b.Bytes(), &er)
	}
	return resp.StatusCode, er, ok
}

func enrollBody(secret string, pub ed25519.PublicKey, machine string) []byte {
	b, _ := json.Marshal(protocol.EnrollRequest{
		Token: secret, PublicKey: pub, Hostname: "pc-" + machine, OS: "linux",
		Platform: "Debian GNU/Linux 13", Arch: "amd64", MachineID: machine, AgentVersion: "test",
	})
	return b
}

// agent is a tiny in-test agent.
type agent struct {
	t         testing.TB
	id        int64
	key       ed25519.PrivateKey
	actionKey ed25519.PublicKey // pinned at enrollment
	conn      *websocket.Conn
}

// enrollAgent enrolls a new device with an unlimited token.
func (e *env) enrollAgent(machine string) *agent {
	e.t.Helper()
	secret, _ := e.token(nil)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	status, er, ok := e.postEnroll(enrollBody(secret, pub, machine))
	if status != http.StatusOK {
		e.t.Fatalf("enroll: %d %+v", status, er)
	}
	if !e.signer.Public().Equal(ed25519.PublicKey(ok.ActionKey)) {
		e.t.Fatalf("enrollment answered action key %x, want the server's", ok.ActionKey)
	}
	return &agent{t: e.t, id: ok.DeviceID, key: key, actionKey: ok.ActionKey}
}

func (e *env) dial() (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+protocol.PathWS, nil)
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(2 * protocol.MaxMessageBytes)
	e.t.Cleanup(func() { c.CloseNow() })
	return c, nil
}

// connect runs the handshake, signing with signKey (the agent's own key
// unless forging), and returns the server's answer.
func (e *env) connect(a *agent, signKey ed25519.PrivateKey) protocol.Envelope {
	e.t.Helper()
	c, err := e.dial()
	if err != nil {
		e.t.Fatal(err)
	}
	a.conn = c
	ch := a.read()
	if ch.Type != protocol.TypeChallenge {
		e.t.Fatalf("first frame %q, want challenge", ch.Type)
	}
	var challenge protocol.Challenge
	if err := protocol.DecodeData(ch, &challenge); err != nil || len(challenge.Nonce) != 32 {
		e.t.Fatalf("challenge: %v, nonce %d bytes", err, len(challenge.Nonce))
	}
	if signKey == nil {
		signKey = a.key
	}
	a.send(protocol.TypeAuth, "", protocol.Auth{
		DeviceID: a.id, Signature: protocol.SignAuth(signKey, challenge.Nonce, a.id), AgentVersion: "1.2.3",
	})
	return a.read()
}

func (e *env) connected(a *agent) {
	e.t.Helper()
	env := e.connect(a, nil)
	var w protocol.Welcome
	if env.Type != protocol.TypeWelcome || protocol.DecodeData(env, &w) != nil {
		e.t.Fatalf("got %s %s, want welcome", env.Type, env.Data)
	}
	if !e.signer.Public().Equal(ed25519.PublicKey(w.ActionKey)) || w.Time.IsZero() {
		e.t.Fatalf("welcome %+v, want the server's action key and clock", w)
	}
}

func (a *agent) send(typ, id string, data any) {
	a.t.Helper()
	b, err := protocol.Encode(typ, id, data)
	if err != nil {
		a.t.Fatal(err)
	}
	a.raw(b)
}

func (a *agent) raw(b []byte) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.conn.Write(ctx, websocket.MessageText, b); err != nil {
		a.t.Fatalf("write: %v", err)
	}
}

func (a *agent) read() protocol.Envelope {
	a.t.Helper()
	env, err := a.tryRead()
	if err != nil {
		a.t.Fatalf("read: %v", err)
	}
	return env
}

func (a *agent) tryRead() (protocol.Envelope, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := a.conn.Read(ctx)
	if err != nil {
		return protocol.Envelope{}, err
	}
	return protocol.Decode(b)
}

// closed reads until the connection closes and returns its status.
func (a *agent) closed() websocket.StatusCode {
	a.t.Helper()
	for {
		_, err := a.tryRead()
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) {
				a.t.Fatalf("connection ended without close frame: %v", err)
			}
			return ce.Code
		}
	}
}

func batch(n int, prefix string) protocol.Results {
	var rs protocol.Results
	for i := range n {
		v := float64(i)
		rs.Results = append(rs.Results, core.Result{
			ID: fmt.Sprintf("%s-%d", prefix, i), Check: "disk", Key: fmt.Sprintf("/d%d", i),
			Status: core.StatusOK, Value: &v, Unit: "%", Message: core.Text{EN: "fine"}, At: protocol.Now(),
		})
	}
	return rs
}

// sendBatch sends a batch and expects its ack.
func (a *agent) sendBatch(id string, rs protocol.Results) {
	a.t.Helper()
	a.send(protocol.TypeResults, id, rs)
	env := a.read()
	var ack protocol.Ack
	if env.Type != protocol.TypeAck || env.ID != id || protocol.DecodeData(env, &ack) != nil || ack.Stored != len(rs.Results) {
		a.t.Fatalf("got %s %s %s, want ack for %s", env.Type, env.ID, env.Data, id)
	}
}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
