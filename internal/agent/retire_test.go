package agent

import (
	"crypto/ed25519"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestUninstallCommandRunsHook(t *testing.T) {
	var calls atomic.Int32
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}},
		func(o *Options) { o.Uninstall = func() { calls.Add(1) } },
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	waitFor(t, "connected", func() bool { return ta.fs.conns.Load() >= 1 && len(ta.fs.results()) == 1 })

	ta.fs.commands <- commandEnvelope(t, ta.fs, "u-1", "uninstall")
	env := <-ta.fs.cmdOut
	var res protocol.CommandResult
	if err := protocol.DecodeData(env, &res); err != nil || env.ID != "u-1" || !res.OK {
		t.Fatalf("answer %+v %+v %v", env, res, err)
	}
	waitFor(t, "uninstall hook", func() bool { return calls.Load() == 1 })
	// A second command does not run it again.
	ta.fs.commands <- commandEnvelope(t, ta.fs, "u-2", "uninstall")
	<-ta.fs.cmdOut
	if calls.Load() != 1 {
		t.Errorf("hook ran %d times", calls.Load())
	}
}

func TestRetiredRefusalRunsHookAndStopsReconnecting(t *testing.T) {
	var calls atomic.Int32
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}},
		func(o *Options) { o.Uninstall = func() { calls.Add(1) } },
		func(pub ed25519.PublicKey) *fakeServer {
			fs := newFakeServer(t, pub)
			fs.refuse.Store(&protocol.Refused{Code: protocol.RefusedRetired, Reason: "retired"})
			return fs
		})
	waitFor(t, "uninstall hook", func() bool { return calls.Load() == 1 })
	// Other refusals retry every BackoffMax (100 ms here); wait several.
	time.Sleep(500 * time.Millisecond)
	n := ta.fs.conns.Load()
	if n != 1 {
		t.Errorf("%d connections; a retired agent must not reconnect", n)
	}
}
