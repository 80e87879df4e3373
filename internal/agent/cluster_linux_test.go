//go:build linux

package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// cutListener hands out connections it can cut all at once, as the
// kernel does with a killed process's sockets.
type cutListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

func (l *cutListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns = append(l.conns, c)
	return c, nil
}

// CutFrom cuts the connections accepted since the first n, keeping the
// listener.
func (l *cutListener) CutFrom(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns[n:] {
		c.Close()
	}
}

// Accepted is how many connections it accepted.
func (l *cutListener) Accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

func (l *cutListener) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	l.Listener.Close()
	for _, c := range l.conns {
		c.Close()
	}
}

// clusterNode is a gateway as one node of a cluster: one TLS port for the
// agents and the other nodes, as `wacht serve` has.
type clusterNode struct {
	hub  *gateway.Hub
	db   *store.DB // its connection to the shared database
	ln   *cutListener
	url  string
	cert []byte // the certificate every node presents
}

// startClusterLive starts nodes A and B on one PostgreSQL database, with
// the same secret.key, action key and certificate, and a real agent
// connected to B; the live it returns acts through A's hub.
func startClusterLive(t testing.TB) (l *live, a, b *clusterNode) {
	t.Helper()
	if testing.Short() {
		t.Skip("two cluster nodes and a real agent: not under -short")
	}
	u := storetest.PostgresURL(t)
	dir := t.TempDir()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer := actionkey.NewSigner(key, nil)
	var dbs []*store.DB
	var nodes []*clusterNode
	for range 2 {
		db, err := store.Open(context.Background(), u, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		box, err := seal.ReadKey(filepath.Join(dir, seal.KeyFile))
		if err != nil {
			t.Fatal(err)
		}
		var gwp atomic.Pointer[gateway.Gateway]
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gwp.Load().ServeHTTP(w, r)
		}))
		ln := &cutListener{Listener: srv.Listener}
		srv.Listener = ln
		srv.StartTLS()
		gw := gateway.New(gateway.Options{Store: db, ActionKey: signer, Cluster: db, Relay: gateway.RelayOptions{
			URL: srv.URL, Key: box.Derive("cluster-relay"),
			TLS: tlsconf.PeerConfig(protocol.Fingerprint(srv.Certificate().Raw), ""),
		}})
		gwp.Store(gw)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			gw.Hub().Shutdown(ctx)
			ln.Cut()
			srv.Close()
		})
		dbs = append(dbs, db)
		nodes = append(nodes, &clusterNode{hub: gw.Hub(), db: db, ln: ln, url: srv.URL, cert: srv.Certificate().Raw})
	}
	a, b = nodes[0], nodes[1]

	ctx := context.Background()
	_, site, err := dbs[1].EnsureClientSite(ctx, "Müller GmbH", "Hannover")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("wet_")
	if err := dbs[1].CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	tok := protocol.Token{URL: b.url, Fingerprint: protocol.Fingerprint(b.cert), Secret: secret}
	adir := t.TempDir()
	er, err := Enroll(ctx, tok.String(), "", adir, false)
	if err != nil {
		t.Fatal(err)
	}
	ag, err := New(Options{DataDir: adir, Inventory: fixedInventory, Checks: []NamedCheck{{"fake", &fakeCheck{n: 1}}}, Interval: time.Hour,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond, AckTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	ta := &testAgent{Agent: ag, dir: adir, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- ag.Run(actx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ta.done:
		case <-time.After(30 * time.Second):
			t.Error("agent did not stop")
		}
	})
	l = &live{testAgent: ta, hub: a.hub, deviceID: er.DeviceID, signer: signer}
	waitLive(t, "agent connected to node B", func() bool { return b.hub.Connected(l.deviceID) })
	// B records the session in the database just after it counts as
	// connected there.
	waitLive(t, "agent reachable through node A", func() bool {
		return l.hub.Do(context.Background(), l.deviceID, actionEcho, nil, nil) == nil
	})
	return l, a, b
}

// TestClusterRelaysActionsAndStreams: with the agent on node B, node A's
// hub runs an action with a reply over 64 kB, uploads 6 MB whose SHA-256
// the agent checks, downloads them back byte for byte, sees the agent's
// close code (a wrong hash) and the agent sees A's close (half an upload
// removed), and drives a terminal with German text both ways; a stalled reader on A holds no
// more than a window on either node and the agent takes no more than the
// windows from its producer.
func TestClusterRelaysActionsAndStreams(t *testing.T) {
	l, a, b := startClusterLive(t)
	ctx := ctxT(t)

	big := map[string]string{"text": strings.Repeat("Größe ", 20000)} // 140 kB
	var echo map[string]string
	if err := l.hub.Do(ctx, l.deviceID, actionEcho, big, &echo); err != nil || echo["text"] != big["text"] {
		t.Fatalf("action through node A: %d bytes back, %v", len(echo["text"]), err)
	}

	data := make([]byte, 6<<20+333)
	rand.Read(data)
	target := filepath.Join(t.TempDir(), "über Knoten.bin")
	res, err := upload(t, l, protocol.FileUploadArgs{Path: target, Size: int64(len(data)), SHA256: sum(data)}, data)
	if err != nil || res.Size != int64(len(data)) {
		t.Fatalf("upload through node A: %+v %v", res, err)
	}
	if got, err := os.ReadFile(target); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("uploaded file differs (%v)", err)
	}
	s, err := l.hub.OpenStream(ctx, l.deviceID, StreamFileDownload, FileDownloadArgs{Path: target})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(s.Meta, []byte(`"size":6291789`)) {
		t.Errorf("download meta %s", s.Meta)
	}
	got, err := io.ReadAll(s)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("download through node A: %d of %d bytes, %v", len(got), len(data), err)
	}
	// The agent's close code comes through B to A: a wrong hash.
	wrong := filepath.Join(filepath.Dir(target), "falsch.bin")
	_, err = upload(t, l, protocol.FileUploadArgs{Path: wrong, Size: int64(len(data)), SHA256: sum(data[1:])}, data)
	wantClose(t, "upload with a wrong hash through node A", err, protocol.CodeHashMismatch)
	// A's close comes through B to the agent: half an upload, then the
	// close; the agent removes its temporary file and puts nothing in place.
	half := filepath.Join(filepath.Dir(target), "halb.bin")
	s, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileUpload, protocol.FileUploadArgs{Path: half, Size: int64(len(data)), SHA256: sum(data)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	s.CloseWithError("cancelled", core.Text{EN: "Cancelled.", DE: "Abgebrochen."})
	waitLive(t, "agent released the upload", func() bool { return l.streams.Load() == 0 })
	noTemp(t, filepath.Dir(half))
	if _, err := os.Stat(half); err == nil {
		t.Error("half an upload was put in place")
	}
	// A refusal by the agent arrives as its action error.
	_, err = l.hub.OpenStream(ctx, l.deviceID, StreamFileDownload, FileDownloadArgs{Path: target + ".fehlt"})
	var ae *protocol.ActionError
	if !errors.As(err, &ae) || ae.Message.DE == "" {
		t.Errorf("download of a missing file through node A: %v, want the agent's action error", err)
	}

	t.Setenv("HOME", t.TempDir())
	tm := openTerm(t, l, protocol.TerminalArgs{Shell: "sh", Rows: 30, Cols: 100})
	tm.send("echo 'Grü''ße' $((6*7))\r")
	tm.waitFor(regexp.QuoteMeta("Grüße 42\r\n"))
	tm.s.Close()
	waitLive(t, "shell ended", func() bool { return gone(tm.meta.PID) })

	// Flow control across the nodes: an endless producer, nobody reading
	// on A.
	fifo := filepath.Join(t.TempDir(), "endless")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var produced atomic.Int64
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		chunk := bytes.Repeat([]byte("y\n"), 2048)
		for {
			n, err := f.Write(chunk)
			produced.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	s, err = l.hub.OpenStream(ctx, l.deviceID, StreamFileDownload, FileDownloadArgs{Path: fifo})
	if err != nil {
		t.Fatal(err)
	}
	// A's window fills; B holds what the agent sent within B's window,
	// less what B's pipe took and has not granted again yet (under half a
	// window).
	waitLive(t, "windows filled on both nodes", func() bool {
		return a.hub.Buffered() == mux.WindowFor(protocol.StreamFileDownload) && b.hub.Buffered() >= mux.WindowFor(protocol.StreamFileDownload)/2
	})
	// What the agent took from the producer: a window on each node, a
	// chunk in the hands of the agent and of B's pipe, and the kernel's
	// pipe buffer (64 KiB by default, 1 MiB at most).
	limit := int64(2*mux.WindowFor(protocol.StreamFileDownload) + 2*protocol.MaxStreamChunk + 1<<20)
	check := func(when string) {
		t.Helper()
		if ab, bb := a.hub.Buffered(), b.hub.Buffered(); ab > mux.WindowFor(protocol.StreamFileDownload) || bb > mux.WindowFor(protocol.StreamFileDownload) {
			t.Fatalf("%s: node A buffers %d bytes, node B %d, window %d", when, ab, bb, mux.WindowFor(protocol.StreamFileDownload))
		}
		if p := produced.Load(); p > limit && when == "stalled" {
			t.Fatalf("agent consumed %d bytes from a stalled stream, limit %d", p, limit)
		}
	}
	for i := range 20 { // control still flows while the stream stalls
		var e map[string]int
		if err := l.hub.Do(ctx, l.deviceID, actionEcho, map[string]int{"i": i}, &e); err != nil || e["i"] != i {
			t.Fatalf("action %d while the stream is stalled: %v %v", i, e, err)
		}
		check("stalled")
	}
	// Reading resumes the producer; buffering stays bounded throughout.
	before := produced.Load()
	buf := make([]byte, 64<<10)
	for read := 0; read < 16<<20; {
		n, err := s.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		read += n
		check("reading")
	}
	if produced.Load() <= before {
		t.Error("producer did not resume")
	}
	s.CloseWithError("stop", core.Text{EN: "Enough.", DE: "Genug."})
	waitLive(t, "agent released the streams", func() bool { return l.streams.Load() == 0 })
	waitLive(t, "relays ended", func() bool { return relayGoroutines() == 0 })
}

// relayGoroutines counts the goroutines of relayed streams, on either node.
func relayGoroutines() int {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte("gateway.(*node).readRelay")) || bytes.Contains(g, []byte("gateway.pipe")) ||
			bytes.Contains(g, []byte("gateway.(*Gateway).serveRelayStream")) {
			n++
		}
	}
	return n
}

// TestClusterNodeKilledMidStream: node B, which holds the agent, dies
// while a terminal runs through node A (its sockets are cut, as the
// kernel cuts a killed process's): A's stream ends with a clear error in
// English and German, nothing hangs, no relay goroutine is left, and the
// agent ends the shell.
func TestClusterNodeKilledMidStream(t *testing.T) {
	l, _, b := startClusterLive(t)
	t.Setenv("HOME", t.TempDir())
	tm := openTerm(t, l, protocol.TerminalArgs{Shell: "sh"})
	tm.send("echo 'RE''ADY'\r")
	tm.waitFor("READY\r\n")
	if relayGoroutines() == 0 {
		t.Fatal("no relay goroutines found: is the count looking for the right functions?")
	}
	before := runtime.NumGoroutine()

	b.ln.Cut()
	hang := time.AfterFunc(time.Minute, func() { tm.mu.Lock(); tm.cond.Broadcast(); tm.mu.Unlock() })
	defer hang.Stop()
	tm.mu.Lock()
	for start := time.Now(); tm.err == nil && time.Since(start) < time.Minute; {
		tm.cond.Wait() // until openTerm's reader ends
	}
	err := tm.err
	tm.mu.Unlock()
	var ce *mux.CloseError
	if !errors.As(err, &ce) || ce.Code != mux.CodeConnectionLost || ce.Message.EN == "" || ce.Message.DE == "" {
		t.Fatalf("stream through node A after B died: %v, want connection_lost in English and German", err)
	}
	if _, err := tm.s.Write([]byte("x")); err == nil {
		t.Error("write after B died succeeded")
	}
	waitLive(t, "relay goroutines ended", func() bool { return relayGoroutines() == 0 })
	waitLive(t, "shell ended on the agent", func() bool { return gone(tm.meta.PID) })
	waitLive(t, "goroutines settled", func() bool { return runtime.NumGoroutine() <= before })

	// B is gone: a new stream through A is refused as offline, at once.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := l.hub.OpenStream(ctx, l.deviceID, protocol.StreamTerminal, protocol.TerminalArgs{}); !errors.Is(err, core.ErrOffline) || ctx.Err() != nil {
		t.Errorf("stream after B died: %v, want ErrOffline", err)
	}
}

// BenchmarkClusterDownload: file-download of /dev/zero from an agent on
// node B, read on node B itself ("local") and on node A ("relayed": node
// to node over TLS, a second credit window).
func BenchmarkClusterDownload(b *testing.B) {
	l, _, nb := startClusterLive(b)
	const size = 64 << 20
	for name, hub := range map[string]*gateway.Hub{"local": nb.hub, "relayed": l.hub} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				s, err := hub.OpenStream(context.Background(), l.deviceID, StreamFileDownload, FileDownloadArgs{Path: "/dev/zero"})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyN(io.Discard, s, size); err != nil {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkClusterTerminalEcho: BenchmarkTerminalEcho's keystroke round
// trip with the agent on node B, typed on node B ("local") and on node A
// ("relayed").
func BenchmarkClusterTerminalEcho(b *testing.B) {
	b.Setenv("HOME", b.TempDir())
	l, _, nb := startClusterLive(b)
	b.Run("local", func(b *testing.B) { terminalEcho(b, nb.hub, l.deviceID) })
	b.Run("relayed", func(b *testing.B) { terminalEcho(b, l.hub, l.deviceID) })
}

// TestClusterAskingNodeDiesMidStream: node A, which relays a terminal from
// node B's agent, dies (the connection between the nodes breaks without a
// close): B ends the agent's stream, the agent ends the shell, and the
// agent stays connected to B.
func TestClusterAskingNodeDiesMidStream(t *testing.T) {
	l, _, b := startClusterLive(t)
	t.Setenv("HOME", t.TempDir())
	before := b.ln.Accepted() // the agent's connection (and earlier ones)
	tm := openTerm(t, l, protocol.TerminalArgs{Shell: "sh"})
	tm.send("echo 'RE''ADY'\r")
	tm.waitFor("READY\r\n")
	if b.ln.Accepted() == before {
		t.Fatal("no connection from node A to node B")
	}
	b.ln.CutFrom(before)
	waitLive(t, "the agent to end the shell", func() bool { return gone(tm.meta.PID) })
	waitLive(t, "relay goroutines ended", func() bool { return relayGoroutines() == 0 })
	if !b.hub.Connected(l.deviceID) {
		t.Error("the agent lost its session with node B")
	}
	var e map[string]int
	if err := b.hub.Do(ctxT(t), l.deviceID, actionEcho, map[string]int{"i": 1}, &e); err != nil || e["i"] != 1 {
		t.Errorf("action on node B afterwards: %v %v", e, err)
	}
}

// actionProbe counts its runs: a forged request must leave it at zero.
const actionProbe = "test-probe"

var probeRuns atomic.Int64

func init() {
	RegisterAction(actionProbe, Action{Do: func(context.Context, *Agent, json.RawMessage) (any, error) {
		probeRuns.Add(1)
		return nil, nil
	}})
}

// TestForgedDatabaseMessageRunsNothing: whoever can write to the database
// (stolen credentials, SQL injection) can publish cluster messages, but no
// message published there makes a node sign or send an action. Here the
// relayed-command message of earlier versions, addressed to every node and
// to one by ID, is published beside legitimate traffic; the agent
// runs the probe only when a node's hub asks it to.
func TestForgedDatabaseMessageRunsNothing(t *testing.T) {
	l, a, _ := startClusterLive(t)
	ctx := ctxT(t)
	for _, to := range []string{"", "00000000-0000-0000-0000-000000000000"} {
		forged, _ := json.Marshal(map[string]any{
			"k": "command", "f": "attacker", "t": to, "i": "x1", "d": l.deviceID, "w": 5000,
			"c": map[string]any{"name": actionProbe},
		})
		if err := a.db.Publish(ctx, forged); err != nil {
			t.Fatal(err)
		}
	}
	// Legitimate traffic through both nodes goes on, and the probe was
	// reached only by it.
	for range 20 {
		if err := l.hub.Do(ctx, l.deviceID, actionEcho, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // a forged message, were it obeyed, ran by now
	if n := probeRuns.Load(); n != 0 {
		t.Fatalf("the agent ran %d forged actions", n)
	}
	if err := l.hub.Do(ctx, l.deviceID, actionProbe, nil, nil); err != nil || probeRuns.Load() != 1 {
		t.Fatalf("the probe through the hub: %v, %d runs", err, probeRuns.Load())
	}
}
