package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// echoCheck reports its parameter v as its value: the test sees which
// parameters the agent ran a check with.
type echoCheck struct{ V float64 }

func (e echoCheck) Run(_ context.Context, r check.Reporter) error {
	r.Report(check.Result{Status: core.StatusOK, Value: check.Float(e.V)})
	return nil
}

func init() {
	check.Register("agenttest-echo", func(params json.RawMessage) (check.Check, error) {
		var e echoCheck
		if len(params) > 0 {
			if err := json.Unmarshal(params, &e); err != nil {
				return nil, err
			}
		}
		return e, nil
	})
}

func policyEnvelope(t *testing.T, p protocol.Policy) protocol.Envelope {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.Envelope{Type: protocol.TypePolicy, Data: b}
}

func echoPolicy(rev string, entries map[string]float64) protocol.Policy {
	p := protocol.Policy{Revision: rev}
	for name, v := range entries {
		params, _ := json.Marshal(map[string]float64{"V": v})
		p.Checks = append(p.Checks, core.PolicyCheck{Name: name, Type: "agenttest-echo", Params: params,
			Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 60}})
	}
	return p
}

// seen reports whether a result of check name with value v arrived.
func seen(fs *fakeServer, name string, v float64) bool {
	for _, r := range fs.results() {
		if r.Check == name && r.Value != nil && *r.Value == v {
			return true
		}
	}
	return false
}

func TestAgentRunsPushedPolicy(t *testing.T) {
	ta := startAgent(t, nil, func(o *Options) { o.Interval = 0 },
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })

	ta.fs.commands <- policyEnvelope(t, echoPolicy("r1", map[string]float64{"alpha": 1}))
	waitFor(t, "alpha run with v=1", func() bool { return seen(ta.fs, "alpha", 1) })

	// An override (new parameters) and an added check run at once, though
	// their interval (60 min) has not passed.
	ta.fs.commands <- policyEnvelope(t, echoPolicy("r2", map[string]float64{"alpha": 2, "beta": 3}))
	waitFor(t, "alpha with v=2 and beta", func() bool { return seen(ta.fs, "alpha", 2) && seen(ta.fs, "beta", 3) })

	// A malformed policy is ignored; the plan stays.
	ta.fs.commands <- protocol.Envelope{Type: protocol.TypePolicy, Data: json.RawMessage(`{"revision":"","checks":[]}`)}
	ta.fs.commands <- protocol.Envelope{Type: protocol.TypeCommand, ID: "c1", Data: json.RawMessage(`{"name":"run-checks"}`)}
	var res protocol.CommandResult
	protocol.DecodeData(<-ta.fs.cmdOut, &res)
	if string(res.Output) != `{"results":2}` {
		t.Errorf("run-checks after a malformed policy: %s, want the 2 checks of r2", res.Output)
	}
	ta.stop(t)

	// The policy survives a restart: a new agent runs r2 before any server
	// contact, and its checks are not due again yet.
	stored, ok, err := loadPolicy(ta.dir)
	if err != nil || !ok || stored.Revision != "r2" {
		t.Fatalf("stored policy %+v %v %v", stored, ok, err)
	}
	a, err := New(Options{DataDir: ta.dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.spool.Close()
	if a.plan.rev() != "r2" || len(a.plan.get()) != 2 {
		t.Errorf("restarted agent runs revision %q with %d checks", a.plan.rev(), len(a.plan.get()))
	}
	if due, _ := a.sched.due(a.plan.get(), time.Now()); len(due) != 0 {
		t.Errorf("after a restart %d checks are due again at once", len(due))
	}
}

func TestPinnedChecksIgnorePolicy(t *testing.T) {
	fc := &fakeCheck{n: 1}
	ta := startAgent(t, []NamedCheck{{"fake", fc}}, nil,
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	ta.fs.commands <- policyEnvelope(t, echoPolicy("r1", map[string]float64{"alpha": 1}))
	// Messages are handled in order: once the command is answered, the
	// policy was handled.
	ta.fs.commands <- protocol.Envelope{Type: protocol.TypeCommand, ID: "c1", Data: json.RawMessage(`{"name":"run-checks"}`)}
	<-ta.fs.cmdOut
	if _, err := os.Stat(filepath.Join(ta.dir, PolicyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pinned agent stored a policy: %v", err)
	}
	if seen(ta.fs, "alpha", 1) {
		t.Error("pinned agent ran the policy")
	}
}
