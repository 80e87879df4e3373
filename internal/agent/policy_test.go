package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
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

// gateCheck reports 41 at once until gateArmed is set, then 42 once gate
// is closed.
type gateCheck struct{}

var (
	gateArmed atomic.Bool
	gate      = make(chan struct{})
)

func (gateCheck) Run(ctx context.Context, r check.Reporter) error {
	if !gateArmed.Load() {
		r.Report(check.Result{Status: core.StatusOK, Value: check.Float(41)})
		return nil
	}
	select {
	case <-gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.Report(check.Result{Status: core.StatusOK, Value: check.Float(42)})
	return nil
}

func init() {
	check.Register(&check.Spec{Name: "agenttest-gate"}, func(json.RawMessage) (check.Check, error) { return gateCheck{}, nil })
	check.Register(&check.Spec{Name: "agenttest-echo"}, func(params json.RawMessage) (check.Check, error) {
		var e echoCheck
		if len(params) > 0 {
			if err := json.Unmarshal(params, &e); err != nil {
				return nil, err
			}
		}
		return e, nil
	})
}

// policyEnvelope is p as the server sends it: signed with fs's action key
// for fs's device.
func policyEnvelope(t *testing.T, fs *fakeServer, p protocol.Policy) protocol.Envelope {
	t.Helper()
	return signedPolicy(t, fs.signer, fs.deviceID, p, protocol.PolicyTTL)
}

// commandEnvelope is an action frame signed as the server signs it.
func commandEnvelope(t *testing.T, fs *fakeServer, id, name string) protocol.Envelope {
	t.Helper()
	return actionEnvelope(t, fs.signer, protocol.TypeCommand, fs.deviceID, id, name, nil, protocol.CommandTTL)
}

// actionEnvelope is an action or stream opening (kind) signed by s.
func actionEnvelope(t *testing.T, s *actionkey.Signer, kind string, deviceID int64, id, name string, args json.RawMessage, ttl time.Duration) protocol.Envelope {
	t.Helper()
	m, err := s.SignAction(kind, deviceID, name, args, ttl)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.Envelope{Type: protocol.TypeCommand, ID: id, Data: b}
}

func signedEnvelope(t *testing.T, s *actionkey.Signer, typ string, deviceID int64, id string, payload any, ttl time.Duration) protocol.Envelope {
	t.Helper()
	m, err := s.Sign(typ, deviceID, payload, ttl)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return protocol.Envelope{Type: typ, ID: id, Data: b}
}

func signedPolicy(t *testing.T, s *actionkey.Signer, deviceID int64, p protocol.Policy, ttl time.Duration) protocol.Envelope {
	t.Helper()
	return signedEnvelope(t, s, protocol.TypePolicy, deviceID, "", p, ttl)
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

// TestRunChecksAnswersAtOnce: run-checks is acknowledged while a check is
// still running, with the number of checks, and the results follow.
func TestRunChecksAnswersAtOnce(t *testing.T) {
	ta := startAgent(t, nil, func(o *Options) { o.Interval = 0 },
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	p := echoPolicy("g1", map[string]float64{"alpha": 1})
	p.Checks = append(p.Checks, core.PolicyCheck{Name: "slow", Type: "agenttest-gate",
		Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 60}})
	ta.fs.commands <- policyEnvelope(t, ta.fs, p)
	waitFor(t, "the policy's first run", func() bool { return seen(ta.fs, "alpha", 1) && seen(ta.fs, "slow", 41) })

	gateArmed.Store(true)
	ta.fs.commands <- commandEnvelope(t, ta.fs, "c1", "run-checks")
	var res protocol.CommandResult
	protocol.DecodeData(<-ta.fs.cmdOut, &res) // the gate is closed: the run has not ended
	if !res.OK || started(t, res.Output) != `{"checks":2}` {
		t.Errorf("run-checks answered %+v, want ok and the 2 checks", res)
	}
	if seen(ta.fs, "slow", 42) {
		t.Fatal("the slow check reported before its gate opened")
	}
	close(gate)
	waitFor(t, "the slow check's result after the answer", func() bool { return seen(ta.fs, "slow", 42) })
	ta.stop(t)
}

func TestAgentRunsPushedPolicy(t *testing.T) {
	ta := startAgent(t, nil, func(o *Options) { o.Interval = 0 },
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })

	ta.fs.commands <- policyEnvelope(t, ta.fs, echoPolicy("r1", map[string]float64{"alpha": 1}))
	waitFor(t, "alpha run with v=1", func() bool { return seen(ta.fs, "alpha", 1) })

	// An override (new parameters) and an added check run at once, though
	// their interval (60 min) has not passed.
	ta.fs.commands <- policyEnvelope(t, ta.fs, echoPolicy("r2", map[string]float64{"alpha": 2, "beta": 3}))
	waitFor(t, "alpha with v=2 and beta", func() bool { return seen(ta.fs, "alpha", 2) && seen(ta.fs, "beta", 3) })

	// A malformed policy is ignored; the plan stays.
	ta.fs.commands <- protocol.Envelope{Type: protocol.TypePolicy, Data: json.RawMessage(`{"revision":"","checks":[]}`)}
	ta.fs.commands <- commandEnvelope(t, ta.fs, "c1", "run-checks")
	var res protocol.CommandResult
	protocol.DecodeData(<-ta.fs.cmdOut, &res)
	if started(t, res.Output) != `{"checks":2}` {
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
	if rev, _ := a.plan.rev(); rev != "r2" || len(a.plan.get()) != 2 {
		t.Errorf("restarted agent runs revision %q with %d checks", rev, len(a.plan.get()))
	}
	if due, _ := a.sched.due(a.plan.get(), time.Now()); len(due) != 0 {
		t.Errorf("after a restart %d checks are due again at once", len(due))
	}
}

func TestPinnedChecksIgnorePolicy(t *testing.T) {
	fc := &fakeCheck{n: 1}
	ta := startAgent(t, []NamedCheck{{"fake", fc}}, nil,
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	ta.fs.commands <- policyEnvelope(t, ta.fs, echoPolicy("r1", map[string]float64{"alpha": 1}))
	// Messages are handled in order: once the command is answered, the
	// policy was handled.
	ta.fs.commands <- commandEnvelope(t, ta.fs, "c1", "run-checks")
	<-ta.fs.cmdOut
	if _, err := os.Stat(filepath.Join(ta.dir, PolicyFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("pinned agent stored a policy: %v", err)
	}
	if seen(ta.fs, "alpha", 1) {
		t.Error("pinned agent ran the policy")
	}
}

// runChecks asks the agent to run its plan and returns how many results
// it produced: the number of checks of the running policy. Messages are
// handled in order, so every policy sent before was handled.
func runChecks(t *testing.T, ta *testAgent, id string) string {
	t.Helper()
	ta.fs.commands <- commandEnvelope(t, ta.fs, id, "run-checks")
	var res protocol.CommandResult
	protocol.DecodeData(<-ta.fs.cmdOut, &res)
	return started(t, res.Output)
}

// started is a run-checks answer as {"checks":n}, once it is checked to
// say when the run started (the time differs per run).
func started(t *testing.T, out json.RawMessage) string {
	t.Helper()
	var s protocol.RunChecksStarted
	if err := json.Unmarshal(out, &s); err != nil || s.At.IsZero() {
		t.Errorf("run-checks answered %s, want the checks and when they started (%v)", out, err)
		return string(out)
	}
	return fmt.Sprintf(`{"checks":%d}`, s.Checks)
}

func TestAgentRefusesPoliciesNotSignedForIt(t *testing.T) {
	ta := startAgent(t, nil, func(o *Options) { o.Interval = 0 },
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	fs := ta.fs
	evil := echoPolicy("evil", map[string]float64{"x": 1, "y": 2, "z": 3})
	older := policyEnvelope(t, fs, evil) // signed before r1
	r1 := policyEnvelope(t, fs, echoPolicy("r1", map[string]float64{"alpha": 1}))
	fs.commands <- r1
	if got := runChecks(t, ta, "c0"); got != `{"checks":1}` {
		t.Fatalf("after r1: %s", got)
	}

	_, otherKey, _ := ed25519.GenerateKey(nil)
	plain, _ := json.Marshal(evil)
	signedBody := func(e protocol.Envelope) []byte {
		var s actionkey.Signed
		json.Unmarshal(e.Data, &s)
		return s.Body
	}
	good := policyEnvelope(t, fs, evil)
	var sg actionkey.Signed
	json.Unmarshal(good.Data, &sg)
	tamperedBody := strings.Replace(string(sg.Body), `"x"`, `"w"`, 1)
	tampered, _ := json.Marshal(actionkey.Signed{Body: []byte(tamperedBody), Sig: sg.Sig})
	for name, env := range map[string]protocol.Envelope{
		"unsigned":      {Type: protocol.TypePolicy, Data: plain},
		"tampered":      {Type: protocol.TypePolicy, Data: tampered},
		"wrong key":     signedPolicy(t, actionkey.NewSigner(otherKey, nil), fs.deviceID, evil, protocol.PolicyTTL),
		"other device":  signedPolicy(t, fs.signer, fs.deviceID+1, evil, protocol.PolicyTTL),
		"expired":       signedPolicy(t, fs.signer, fs.deviceID, evil, -time.Hour),
		"older than r1": older,
		"replayed":      r1,
		"no signature":  {Type: protocol.TypePolicy, Data: mustJSON(t, actionkey.Signed{Body: signedBody(good)})},
		"not even JSON": {Type: protocol.TypePolicy, Data: json.RawMessage(`"policy"`)},
	} {
		fs.commands <- env
		if got := runChecks(t, ta, name); got != `{"checks":1}` {
			t.Errorf("%s policy: run-checks gave %s; want r1's one check still running", name, got)
		}
	}
	if rev, _ := ta.plan.rev(); rev != "r1" {
		t.Errorf("running revision %q, want r1", rev)
	}
	stored, _, _ := loadPolicy(ta.dir)
	if stored.Revision != "r1" {
		t.Errorf("stored revision %q, want r1", stored.Revision)
	}

	// A newer policy signed for this device still applies.
	fs.commands <- policyEnvelope(t, fs, echoPolicy("r2", map[string]float64{"alpha": 1, "beta": 2}))
	if got := runChecks(t, ta, "c9"); got != `{"checks":2}` {
		t.Errorf("after r2: %s", got)
	}
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// An agent enrolled before servers handed out the action key pins the key
// of its first welcome, keeps it across restarts and then runs the
// server's signed policies.
func TestAgentPinsActionKeyOnFirstUse(t *testing.T) {
	ta := startAgent(t, nil, func(o *Options) { o.Interval = 0 },
		func(pub ed25519.PublicKey) *fakeServer {
			fs := newFakeServer(t, pub)
			fs.unpinned = true
			return fs
		})
	waitFor(t, "the action key pinned in agent.json", func() bool {
		cfg, err := LoadConfig(ta.dir)
		return err == nil && ta.fs.signer.Public().Equal(ed25519.PublicKey(cfg.ActionKey))
	})
	ta.fs.commands <- policyEnvelope(t, ta.fs, echoPolicy("r1", map[string]float64{"alpha": 1}))
	waitFor(t, "alpha run with v=1", func() bool { return seen(ta.fs, "alpha", 1) })
}
