package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/trayipc"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// fakeSupport is the server's side of the support requests: it drops
// the first drops requests, refuses the next rejects, then acknowledges
// them, or never answers while muted.
type fakeSupport struct {
	mu      sync.Mutex
	drops   int
	rejects int
	muted   bool
	got     []protocol.SupportRequest
}

func (f *fakeSupport) receive(t *testing.T, env protocol.Envelope) int {
	var r protocol.SupportRequest
	if err := protocol.DecodeData(env, &r); err != nil || r.Validate() != nil || r.Ref != env.ID {
		t.Errorf("bad support request: %v %v (id %s)", err, r.Validate(), env.ID)
		return patchMute
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
	switch {
	case f.drops > 0:
		f.drops--
		return patchDrop
	case f.rejects > 0:
		f.rejects--
		return patchReject
	case f.muted:
		return patchMute
	}
	return patchAck
}

func (f *fakeSupport) received() []protocol.SupportRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]protocol.SupportRequest(nil), f.got...)
}

func (f *fakeSupport) mute(m bool) {
	f.mu.Lock()
	f.muted = m
	f.mu.Unlock()
}

// A request waits on disk through a dropped connection and a restart of
// the agent until the server acknowledges it; then the tray lists it as
// sent, with the state and reply the server sends.
func TestTraySupportDeliveredAcrossReconnectAndRestart(t *testing.T) {
	fsup := &fakeSupport{drops: 1, muted: true}
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}}, nil, func(pub ed25519.PublicKey) *fakeServer {
		fs := newFakeServer(t, pub)
		fs.support.Store(fsup)
		return fs
	})
	rep, err := call[trayipc.SupportReply](t, ta.Agent, anna, trayipc.OpSupport,
		trayipc.SupportArgs{Message: "Mein Drucker druckt nicht.", Lang: "de", Contact: core.SupportContact{Name: "Anna"}, Screenshot: png})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request sent again after the dropped connection", func() bool { return len(fsup.received()) >= 2 })
	ta.stop(t) // the server never answered

	shot := filepath.Join(ta.dir, supportDir, rep.Ref+".png")
	if _, err := os.Stat(shot); err != nil {
		t.Fatalf("screenshot not kept for the resend: %v", err)
	}
	fsup.mute(false)
	tb := runAgentIn(t, ta.dir, ta.fs, []NamedCheck{{"fake", &fakeCheck{n: 1}}}, nil)
	waitFor(t, "the request acknowledged after the restart", func() bool {
		got, _ := call[trayipc.Requests](t, tb.Agent, anna, trayipc.OpRequests, nil)
		return len(got.Requests) == 1 && got.Requests[0].Sent
	})
	got := fsup.received()
	if len(got) < 3 {
		t.Fatalf("%d deliveries", len(got))
	}
	for _, r := range got {
		if r.Ref != rep.Ref || r.OSUser != "anna" || string(r.Screenshot) != string(png) || r.Message != "Mein Drucker druckt nicht." || r.Lang != "de" {
			t.Errorf("delivered %+v", r)
		}
	}
	if _, err := os.Stat(shot); !os.IsNotExist(err) {
		t.Errorf("screenshot kept after the ack: %v", err)
	}

	// The technician answers: the server sends the device's state.
	st, _ := json.Marshal(protocol.SupportState{Requests: []protocol.SupportStatus{{Ref: rep.Ref, OSUser: "anna",
		State: core.SupportInProgress, UpdatedAt: time.Now().UTC(),
		Replies: []core.SupportReply{{ID: 9, Author: "Tom", Body: "Ich komme vorbei.", CreatedAt: time.Now().UTC()}}}}})
	ta.fs.commands <- protocol.Envelope{Type: protocol.TypeSupportState, Data: st}
	waitFor(t, "the reply shown", func() bool {
		got, _ := call[trayipc.Requests](t, tb.Agent, anna, trayipc.OpRequests, nil)
		return len(got.Requests) == 1 && got.Requests[0].State == core.SupportInProgress && len(got.Requests[0].Replies) == 1
	})
	if got, _ := call[trayipc.Requests](t, tb.Agent, bernd, trayipc.OpRequests, nil); len(got.Requests) != 0 {
		t.Errorf("bernd sees %+v", got)
	}
	if n := len(fsup.received()); n != len(got) {
		t.Errorf("sent again after the ack: %d deliveries, %d before", n, len(got))
	}
}

// A request the server refuses is dropped, not resent forever.
func TestTraySupportRejectedIsDropped(t *testing.T) {
	fsup := &fakeSupport{rejects: 1}
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}}, nil, func(pub ed25519.PublicKey) *fakeServer {
		fs := newFakeServer(t, pub)
		fs.support.Store(fsup)
		return fs
	})
	if _, err := call[trayipc.SupportReply](t, ta.Agent, anna, trayipc.OpSupport, trayipc.SupportArgs{Message: "help", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the refused request dropped", func() bool {
		got, _ := call[trayipc.Requests](t, ta.Agent, anna, trayipc.OpRequests, nil)
		return len(fsup.received()) == 1 && len(got.Requests) == 0
	})
	if _, err := call[trayipc.SupportReply](t, ta.Agent, anna, trayipc.OpSupport, trayipc.SupportArgs{Message: "help again", Lang: "en"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the next request stored", func() bool {
		got, _ := call[trayipc.Requests](t, ta.Agent, anna, trayipc.OpRequests, nil)
		return len(got.Requests) == 1 && got.Requests[0].Sent
	})
	if n := len(fsup.received()); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

// The status follows the session: connected, last contact, and a failure
// only counts as known to IT once the server acknowledged it.
func TestTrayStatusFollowsTheSession(t *testing.T) {
	ta := startAgent(t, []NamedCheck{{"bad", failingResult{}}}, nil, func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	waitFor(t, "the failure known to the server", func() bool {
		s, _ := call[trayipc.Status](t, ta.Agent, anna, trayipc.OpStatus, nil)
		return s.Connected && !s.LastContact.IsZero() && s.Overall == trayipc.OverallProblems && s.Problems == 1
	})
}

// failingResult reports one failure.
type failingResult struct{}

func (failingResult) Run(_ context.Context, r check.Reporter) error {
	r.Report(check.Result{Status: core.StatusFailure, Message: core.Text{EN: "broken", DE: "kaputt"}})
	return nil
}

// "Restart now" in a tray restarts through the patch runtime's usual
// path: the server hears the goodbye first.
func TestTrayRebootNowSaysGoodbyeFirst(t *testing.T) {
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "linux-image-amd64", core.ClassSecurity, "", "")}}
	rf := &rebootFlag{}
	needsReboot(apt, rf)
	boot := &fakeRebooter{}
	pol := installPolicy()
	pol.Reboot = core.PatchReboot{Mode: core.RebootModeAsk, Deferrals: 2, DeadlineHours: 12}
	clock := &patchClock{t: day(2, 3, 0)}
	var ta *testAgent
	probe := &goodbyeProbe{fakeRebooter: boot, seen: func() int {
		ta.fs.mu.Lock()
		defer ta.fs.mu.Unlock()
		return len(ta.fs.goodbyes)
	}}
	ta = startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}},
		func(o *Options) {
			o.PatchPolicy = &pol
			o.UpdateSources = func() []updates.Source { return []updates.Source{apt} }
			o.RebootState = rf.state
			o.reboot = probe
			o.Now = clock.now
		},
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	var s trayipc.Status
	waitFor(t, "the restart prompt", func() bool {
		s, _ = call[trayipc.Status](t, ta.Agent, anna, trayipc.OpStatus, nil)
		return s.Reboot != nil
	})
	if !s.Reboot.Deadline.Equal(day(2, 15, 0)) {
		t.Errorf("prompt %+v", s.Reboot)
	}
	if _, r := boot.counts(); r != 0 {
		t.Fatal("restarted before the user chose")
	}
	if _, err := call[trayipc.RebootReply](t, ta.Agent, anna, trayipc.OpReboot, trayipc.RebootArgs{Choice: trayipc.RebootNow}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the restart", func() bool { _, r := boot.counts(); return r == 1 })
	waitFor(t, "the goodbye", func() bool { return probe.seen() == 1 })
	ta.fs.mu.Lock()
	got := slices.Clone(ta.fs.goodbyes)
	ta.fs.mu.Unlock()
	if len(got) == 0 || got[0] != protocol.GoodbyeReboot {
		t.Errorf("goodbyes %q before the restart", got)
	}
}
