package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestClusterRelaysToTheHoldingNode: two gateways on one PostgreSQL
// database, an agent connected to node B. Through node A's hub a command
// reaches it and its answer (larger than a NOTIFY payload) comes back, a
// policy change reaches it, and a disconnect closes it; once it is gone,
// A answers ErrOffline at once, and so it does for an agent of a node that
// does not confirm relayed commands (died moments ago).
func TestClusterRelaysToTheHoldingNode(t *testing.T) {
	u := storetest.PostgresURL(t)
	dir := t.TempDir() // one secret.key for every node
	var nodes [2]*env
	for i := range nodes {
		db, err := store.Open(context.Background(), u, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		nodes[i] = newEnv(t, db, nil, func(o *Options) {
			o.Cluster = db
			o.Policy = policy.NewResolver(db)
			o.PolicyResync = -1 // only relayed pushes reach the agent
		})
		<-nodes[i].gw.hub.node.ready
	}
	a, b := nodes[0], nodes[1]
	ag := b.enrollAgent("m1")
	b.connected(ag)
	first := readPolicy(t, ag)
	ctx := context.Background()

	big := strings.Repeat("Prüfung ", 2000) // 18 kB: relayed through cluster_messages
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
	if err := json.Unmarshal(res.Output, &out); err != nil || !res.OK || out["echo"] != protocol.CommandRunChecks || out["text"] != big {
		t.Fatalf("result %v %d bytes (%v)", res.OK, len(res.Output), err)
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
	// command to its agent is offline once it does not confirm, long
	// before the caller's deadline.
	ghost := b.enrollAgent("m2")
	now := time.Now()
	if err := db.NodeBeat(ctx, "ghost-node", now, now.Add(-nodeDead)); err != nil {
		t.Fatal(err)
	}
	if err := db.AttachSession(ctx, ghost.id, "ghost-node"); err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithTimeout(ctx, 10*acceptWait)
	defer cancel()
	if _, err := a.gw.Hub().Command(gctx, ghost.id, protocol.Command{Name: "x"}); !errors.Is(err, core.ErrOffline) {
		t.Fatalf("command to an agent of an unanswering node: %v, want ErrOffline", err)
	}
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
// node ("relayed": through PostgreSQL NOTIFY both ways).
func BenchmarkClusterCommand(b *testing.B) {
	u := storetest.PostgresURL(b)
	dir := b.TempDir() // one secret.key for every node
	var nodes [2]*env
	for i := range nodes {
		db, err := store.Open(context.Background(), u, dir)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		nodes[i] = newEnv(b, db, nil, func(o *Options) { o.Cluster, o.Log = db, slog.New(slog.DiscardHandler) })
		<-nodes[i].gw.hub.node.ready
	}
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
