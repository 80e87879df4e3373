package gateway

import (
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestClusterRelaysToTheHoldingNode: two gateways on one PostgreSQL
// database, an agent connected to node B. Through node A's hub a command
// reaches it and its answer (over 64 kB) comes back directly from B, a
// policy change reaches it, and a disconnect closes it; once it is gone,
// A answers ErrOffline at once, and so it does for an agent of a node that
// is dead but still in cluster_nodes (port closed, or not answering).
func TestClusterRelaysToTheHoldingNode(t *testing.T) {
	nodes := clusterEnvs(t, 2, func(o *Options) {
		o.Policy = policy.NewResolver(o.Store.(*store.DB), nil)
		o.PolicyResync = -1 // only relayed pushes reach the agent
	})
	a, b := nodes[0], nodes[1]
	ag := b.enrollAgent("m1")
	b.connected(ag)
	first := readPolicy(t, ag)
	ctx := context.Background()

	// 90 kB: far beyond a NOTIFY payload, straight from node B to node A.
	big := strings.Repeat("Prüfung ", 10000)
	go func() {
		// Signed by node B, which holds the agent's session.
		env := ag.read()
		cmd, err := b.command(ag.id, env)
		if err != nil {
			t.Errorf("agent got %s: %v, want a signed command", env.Type, err)
			return
		}
		out, _ := json.Marshal(map[string]string{"echo": cmd.Name, "text": big})
		ag.send(protocol.TypeCommandResult, env.ID, protocol.CommandResult{OK: true, Output: out})
	}()
	res, err := a.gw.Hub().Command(ctx, ag.id, protocol.Command{Name: protocol.CommandRunChecks})
	if err != nil {
		t.Fatalf("command through node A: %v", err)
	}
	var out map[string]string
	if err := json.Unmarshal(res.Output, &out); err != nil || !res.OK || out["echo"] != protocol.CommandRunChecks || out["text"] != big || len(res.Output) <= 64<<10 {
		t.Fatalf("result %v %d bytes (%v)", res.OK, len(res.Output), err)
	}
	// Do decodes the same through A.
	go func() {
		env := ag.read()
		if _, err := b.command(ag.id, env); err != nil {
			t.Errorf("agent got %s: %v", env.Type, err)
			return
		}
		out, _ := json.Marshal(map[string]string{"text": big})
		ag.send(protocol.TypeCommandResult, env.ID, protocol.CommandResult{OK: true, Output: out})
	}()
	var reply struct{ Text string }
	if err := a.gw.Hub().Do(ctx, ag.id, "processes", nil, &reply); err != nil || reply.Text != big {
		t.Fatalf("Do through node A: %d bytes, %v", len(reply.Text), err)
	}
	// An agent that answers after the holder's server write timeout: the
	// answer still arrives.
	go func() {
		env := ag.read()
		time.Sleep(2 * relayWriteTimeout) // a slow agent, not a wait for something
		ag.send(protocol.TypeCommandResult, env.ID, protocol.CommandResult{OK: true, Output: json.RawMessage(`"spät"`)})
	}()
	if res, err := a.gw.Hub().Command(ctx, ag.id, protocol.Command{Name: "exec"}); err != nil || string(res.Output) != `"spät"` {
		t.Fatalf("slow answer through node A: %s %v", res.Output, err)
	}
	// A refusal by the agent arrives as the agent's action error.
	go func() {
		env := ag.read()
		ag.send(protocol.TypeCommandResult, env.ID, protocol.Failed(protocol.CodeDisabledLocally, core.Text{EN: "Disabled here.", DE: "Hier abgeschaltet."}))
	}()
	var ae *protocol.ActionError
	if err := a.gw.Hub().Do(ctx, ag.id, "exec", nil, nil); !errors.As(err, &ae) || ae.Code != protocol.CodeDisabledLocally || ae.Message.DE != "Hier abgeschaltet." {
		t.Fatalf("refusal through node A: %v", err)
	}

	db := b.st.(*store.DB)
	dev, err := db.GetDevice(ctx, ag.id)
	if err != nil {
		t.Fatal(err)
	}
	p := core.Policy{Name: "Kanzlei", Checks: []core.PolicyCheck{{Name: "memory", Exclude: true}}}
	if err := db.CreatePolicy(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAssignments(ctx, core.LevelClient, dev.ClientID, []int64{p.ID}); err != nil {
		t.Fatal(err)
	}
	a.gw.Hub().PushPolicies()
	if second := readPolicy(t, ag); second.Revision == first.Revision || len(second.Checks) != len(first.Checks)-1 {
		t.Fatalf("relayed policy %s with %d checks, want a new one with %d", second.Revision, len(second.Checks), len(first.Checks)-1)
	}

	// An agent that does not answer in time: the caller on A gets a
	// timeout (HTTP 504), not an opaque error from the other node.
	errc := make(chan error, 1)
	go func() {
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		_, err := a.gw.Hub().Command(tctx, ag.id, protocol.Command{Name: protocol.CommandRunChecks})
		errc <- err
	}()
	if env := ag.read(); env.Type != protocol.TypeCommand {
		t.Fatalf("agent got %s, want the command it leaves unanswered", env.Type)
	}
	if err := <-errc; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered command through node A: %v, want a deadline error", err)
	}

	a.gw.Hub().Disconnect(ag.id, "device retired")
	if st := ag.closed(); st != websocket.StatusNormalClosure {
		t.Fatalf("closed with %d", st)
	}
	waitFor(t, "B to forget the session", func() bool { return !b.gw.Hub().Connected(ag.id) })
	waitFor(t, "A to answer offline", func() bool {
		_, err := a.gw.Hub().Command(ctx, ag.id, protocol.Command{Name: "x"})
		return errors.Is(err, core.ErrOffline)
	})

	// A node that died moments ago still looks alive in cluster_nodes: a
	// command or stream to its agent is offline at once when its port is
	// closed, and once it does not answer within acceptWait when its
	// machine hangs, long before the caller's deadline.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() { // accepts, then never answers
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	for i, u := range []string{"https://" + closed.Addr().String(), "https://" + hung.Addr().String(), ""} {
		ghost := b.enrollAgent(fmt.Sprintf("ghost-%d", i))
		node := fmt.Sprintf("ghost-node-%d", i)
		now := time.Now()
		if err := db.NodeBeat(ctx, node, u, now, now.Add(-nodeDead)); err != nil {
			t.Fatal(err)
		}
		if err := db.AttachSession(ctx, ghost.id, node); err != nil {
			t.Fatal(err)
		}
		gctx, cancel := context.WithTimeout(ctx, 10*acceptWait)
		if _, err := a.gw.Hub().Command(gctx, ghost.id, protocol.Command{Name: "x"}); !errors.Is(err, core.ErrOffline) || gctx.Err() != nil {
			t.Errorf("command to an agent of node at %q: %v, want ErrOffline before the deadline", u, err)
		}
		if _, err := a.gw.Hub().OpenStream(gctx, ghost.id, "file-download", nil); !errors.Is(err, core.ErrOffline) || gctx.Err() != nil {
			t.Errorf("stream to an agent of node at %q: %v, want ErrOffline before the deadline", u, err)
		}
		cancel()
	}
}

// relayWriteTimeout is the relay servers' write timeout in the tests.
const relayWriteTimeout = 500 * time.Millisecond

// clusterEnvs starts n gateways as the nodes of one cluster on a
// PostgreSQL database of their own schema. Agents connect to each node's
// env.srv; the nodes reach each other over TLS at env.relay, which
// presents the certificate every httptest server has, as real nodes share
// theirs, and which each node pins.
func clusterEnvs(t testing.TB, n int, tweak func(*Options)) []*env {
	u := storetest.PostgresURL(t)
	dir := t.TempDir() // one secret.key for every node
	key := make([]byte, 32)
	rand.Read(key)
	_, ak, _ := ed25519.GenerateKey(rand.Reader) // one action.key for every node
	signer := actionkey.NewSigner(ak, nil)
	var out []*env
	for range n {
		db, err := store.Open(context.Background(), u, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		var gw atomic.Pointer[Gateway]
		relay := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			gw.Load().ServeHTTP(w, r)
		}))
		// As `wacht serve` has (120 s there), shorter than a slow agent.
		relay.Config.WriteTimeout = relayWriteTimeout
		relay.StartTLS()
		t.Cleanup(relay.Close)
		pin := tlsconf.PeerConfig(protocol.Fingerprint(relay.Certificate().Raw), "")
		e := newEnv(t, db, nil, func(o *Options) {
			o.Cluster, o.ActionKey = db, signer
			o.Relay = RelayOptions{URL: relay.URL, Key: key, TLS: pin}
			if tweak != nil {
				tweak(o)
			}
		})
		e.relay = relay
		gw.Store(e.gw)
		<-e.gw.hub.node.ready
		out = append(out, e)
	}
	return out
}

// waitFor polls cond for up to a minute, long enough for a loaded machine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkClusterCommand: command round trips to an agent that answers at
// once, given on the node that holds its session ("local") and on another
// node ("relayed": one HTTPS request from node to node).
func BenchmarkClusterCommand(b *testing.B) {
	nodes := clusterEnvs(b, 2, func(o *Options) { o.Log = slog.New(slog.DiscardHandler) })
	ag := nodes[1].enrollAgent("m1")
	nodes[1].connected(ag)
	go func() { // answer every command at once
		for {
			_, raw, err := ag.conn.Read(context.Background())
			if err != nil {
				return
			}
			env, err := protocol.Decode(raw)
			if err != nil || env.Type != protocol.TypeCommand {
				continue
			}
			out, _ := protocol.Encode(protocol.TypeCommandResult, env.ID, protocol.CommandResult{OK: true})
			ag.conn.Write(context.Background(), websocket.MessageText, out)
		}
	}()
	for name, n := range map[string]*env{"local": nodes[1], "relayed": nodes[0]} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := n.gw.Hub().Command(context.Background(), ag.id, protocol.Command{Name: "noop"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRelaySignedByTheHolder: the node that holds the agent signs what
// another node asks for, with the key it announced to its agents. Node A
// here has re-read rotated key files that node B has not yet (they are
// re-read every minute): the agent on B still gets what it trusts.
func TestRelaySignedByTheHolder(t *testing.T) {
	nodes := clusterEnvs(t, 2, nil)
	a, b := nodes[0], nodes[1]
	ag := b.enrollAgent("m1")
	b.connected(ag)
	_, rotated, _ := ed25519.GenerateKey(rand.Reader)
	a.gw.hub.signer = actionkey.NewSigner(rotated, nil)
	go func() {
		env := ag.read()
		cmd, err := b.command(ag.id, env) // verified with B's key, as the agent does
		if err != nil {
			t.Errorf("agent got %s: %v, want a command signed with the key it trusts", env.Type, err)
			ag.send(protocol.TypeCommandResult, env.ID, protocol.Failed(protocol.CodeBadSignature, core.Text{EN: "bad", DE: "falsch"}))
			return
		}
		ag.send(protocol.TypeCommandResult, env.ID, protocol.CommandResult{OK: true, Output: cmd.Args})
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out map[string]string
	if err := a.gw.Hub().Do(ctx, ag.id, "files-list", map[string]string{"path": "/"}, &out); err != nil || out["path"] != "/" {
		t.Fatalf("action through node A: %v %v", out, err)
	}
}
