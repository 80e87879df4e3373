package gateway

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func readPolicy(t *testing.T, a *agent) protocol.Policy {
	t.Helper()
	env := a.read()
	if env.Type != protocol.TypePolicy {
		t.Fatalf("got %s %s, want policy", env.Type, env.Data)
	}
	var s actionkey.Signed
	if err := protocol.DecodeData(env, &s); err != nil {
		t.Fatal(err)
	}
	var p protocol.Policy
	if _, err := actionkey.NewVerifier(a.actionKey, a.id, nil).Verify(s, protocol.TypePolicy, &p); err != nil {
		t.Fatalf("policy not signed for device %d with the action key: %v", a.id, err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("invalid policy sent: %v", err)
	}
	return p
}

func checkNames(p protocol.Policy) []string {
	var out []string
	for _, c := range p.Checks {
		out = append(out, c.Name)
	}
	return out
}

func TestPolicyPushedAfterWelcomeAndOnChange(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		db := st.(*store.DB)
		e := newEnv(t, st, nil, func(o *Options) { o.Policy = policy.NewResolver(db, nil) })
		a := e.enrollAgent("m1")
		e.connected(a)

		// Right after welcome: the role's template.
		first := readPolicy(t, a)
		tpl := policy.TemplateFor("").Checks
		if got := checkNames(first); len(got) != len(tpl) || !slices.Contains(got, "memory") || !slices.Contains(got, "disk") {
			t.Fatalf("first policy checks %v, want the workstation template's", got)
		}

		// A client policy that excludes memory and changes disk.
		ctx := context.Background()
		dev, err := db.GetDevice(ctx, a.id)
		if err != nil {
			t.Fatal(err)
		}
		p := core.Policy{Name: "Kanzlei", Checks: []core.PolicyCheck{
			{Name: "memory", Exclude: true},
			{Name: "disk", Type: "disk", Params: json.RawMessage(`{"warn":1,"fail":2}`), Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 1}},
		}}
		if err := db.CreatePolicy(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if err := db.SetAssignments(ctx, core.LevelClient, dev.ClientID, []int64{p.ID}); err != nil {
			t.Fatal(err)
		}
		e.gw.Hub().PushPolicies()
		second := readPolicy(t, a)
		got := checkNames(second)
		if len(got) != len(tpl)-1 || slices.Contains(got, "memory") {
			t.Fatalf("pushed policy checks %v, want the template's without memory", got)
		}
		disk := second.Checks[slices.Index(got, "disk")]
		if second.Revision == first.Revision || string(disk.Params) != `{"warn":1,"fail":2}` || disk.Schedule.EveryMinutes != 1 {
			t.Errorf("pushed policy %+v", second)
		}

		// Nothing changed: nothing is sent. The heartbeat's answer is the
		// next frame.
		e.gw.Hub().PushPolicies()
		a.send(protocol.TypeHeartbeat, "hb1", struct{}{})
		if env := a.read(); env.Type != protocol.TypeHeartbeatAck {
			t.Fatalf("got %s after an unchanged push, want heartbeat_ack", env.Type)
		}

		// A reconnecting agent gets the current policy at once.
		a.conn.CloseNow()
		b := &agent{t: t, id: a.id, key: a.key, actionKey: a.actionKey}
		e.connected(b)
		if again := readPolicy(t, b); again.Revision != second.Revision {
			t.Errorf("after reconnect revision %s, want %s", again.Revision, second.Revision)
		}
	})
}

func TestNoPolicySourceSendsNoPolicy(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	a := e.enrollAgent("m1")
	e.connected(a)
	a.send(protocol.TypeHeartbeat, "hb1", struct{}{})
	if env := a.read(); env.Type != protocol.TypeHeartbeatAck {
		t.Fatalf("got %s, want heartbeat_ack", env.Type)
	}
}

// A change no PushPolicies announced (here: straight into the store, as a
// device's new role or another server node would) reaches the agent with
// the periodic resync.
func TestPolicyResync(t *testing.T) {
	db := storetest.NewSQLite(t)
	e := newEnv(t, db, nil, func(o *Options) {
		o.Policy = policy.NewResolver(db, nil)
		o.PolicyResync = 50 * time.Millisecond
	})
	a := e.enrollAgent("m1")
	e.connected(a)
	first := readPolicy(t, a)
	ctx := context.Background()
	p := core.Policy{Name: "Only disk", Checks: []core.PolicyCheck{{Name: "memory", Exclude: true}}}
	if err := db.CreatePolicy(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAssignments(ctx, core.LevelDevice, a.id, []int64{p.ID}); err != nil {
		t.Fatal(err)
	}
	if second := readPolicy(t, a); second.Revision == first.Revision || slices.Contains(checkNames(second), "memory") {
		t.Errorf("resync sent %v", checkNames(second))
	}
}
