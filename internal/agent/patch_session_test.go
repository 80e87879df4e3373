package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// What the fake server does with a patch report.
const (
	patchAck  = iota // acknowledge it
	patchDrop        // drop the connection without an answer
	patchMute        // keep the connection, never answer
)

// fakePatches is the server's side of the patch reports: the first
// drops reports, then it acknowledges.
type fakePatches struct {
	mu    sync.Mutex
	drops int
	ids   []string
	last  protocol.PatchReport
}

func (f *fakePatches) receive(t *testing.T, env protocol.Envelope) int {
	var r protocol.PatchReport
	if err := protocol.DecodeData(env, &r); err != nil || r.Validate() != nil {
		t.Errorf("bad patch report: %v %v", err, r.Validate())
		return patchMute
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, env.ID)
	f.last = r
	if f.drops > 0 {
		f.drops--
		return patchDrop
	}
	return patchAck
}

func (f *fakePatches) got() ([]string, protocol.PatchReport) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids...), f.last
}

func TestPatchReportResentAfterReconnectUntilAcked(t *testing.T) {
	fp := &fakePatches{drops: 2}
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "openssl", core.ClassSecurity, core.SeverityImportant, "")}}
	rf := &rebootFlag{}
	ta := startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}},
		func(o *Options) {
			o.PatchPolicy = &protocol.PatchPolicy{PatchPolicy: core.PatchPolicy{Enabled: true}}
			o.UpdateSources = func() []updates.Source { return []updates.Source{apt} }
			o.RebootState = rf.state
			o.reboot = &fakeRebooter{}
		},
		func(pub ed25519.PublicKey) *fakeServer {
			fs := newFakeServer(t, pub)
			fs.patches.Store(fp)
			return fs
		})
	waitFor(t, "the patch report acknowledged", func() bool {
		ids, _ := fp.got()
		return len(ids) >= 3 && ta.patch.state().Report == nil
	})
	ids, last := fp.got()
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Errorf("the report was not resent as the same report: %v", ids)
	}
	if n := ta.fs.conns.Load(); n < 3 {
		t.Errorf("%d connections, want a resend on each of 3", n)
	}
	if len(last.Missing) != 1 || last.Missing[0].Key != "apt:openssl@2" || len(last.Sources) != 1 || last.Sources[0].Status != core.ScanOK {
		t.Errorf("report %+v", last)
	}
	waitFor(t, "the verification result delivered", func() bool {
		for _, r := range ta.fs.results() {
			if r.Check == core.PatchCheckName {
				return true
			}
		}
		return false
	})
	ta.stop(t)
	// The acknowledged report is not waiting on disk any more.
	b, err := os.ReadFile(patchPath(ta.dir))
	if err != nil {
		t.Fatal(err)
	}
	var st patchState
	if err := json.Unmarshal(b, &st); err != nil || st.Report != nil || len(st.Missing) != 1 {
		t.Errorf("patches.json: %v %+v", err, st)
	}
}

func TestPatchRestartSaysGoodbyeFirst(t *testing.T) {
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "linux-image-amd64", core.ClassSecurity, "", "")}}
	rf := &rebootFlag{}
	apt.install = func(_ context.Context, us []core.Update, progress func(updates.Result)) ([]updates.Result, error) {
		r := updates.Result{Key: us[0].Key, OK: true, RebootNeeded: true}
		progress(r)
		apt.remove(us[0].Key)
		rf.set(true)
		return []updates.Result{r}, nil
	}
	boot := &fakeRebooter{}
	pol := installPolicy()
	pol.Reboot.Mode = core.RebootModeForce
	clock := &patchClock{t: day(2, 3, 0)}
	var ta *testAgent
	boot2 := &goodbyeProbe{fakeRebooter: boot, seen: func() int {
		ta.fs.mu.Lock()
		defer ta.fs.mu.Unlock()
		return len(ta.fs.goodbyes)
	}}
	ta = startAgent(t, []NamedCheck{{"fake", &fakeCheck{n: 1}}},
		func(o *Options) {
			o.PatchPolicy = &pol
			o.UpdateSources = func() []updates.Source { return []updates.Source{apt} }
			o.RebootState = rf.state
			o.reboot = boot2
			o.Now = clock.now
		},
		func(pub ed25519.PublicKey) *fakeServer { return newFakeServer(t, pub) })
	waitFor(t, "the restart", func() bool { _, r := boot.counts(); return r == 1 })
	waitFor(t, "the goodbye", func() bool { return boot2.seen() == 1 })
	ta.fs.mu.Lock()
	got := slices.Clone(ta.fs.goodbyes)
	ta.fs.mu.Unlock()
	if got[0] != protocol.GoodbyeReboot {
		t.Errorf("goodbye %q, want %q", got[0], protocol.GoodbyeReboot)
	}
	if as := ta.patch.state().Attempts; len(as) != 1 || as[0].Result != core.PatchInstalled || !as[0].RebootNeeded {
		t.Errorf("attempts %+v", as)
	}
}

// goodbyeProbe is a fakeRebooter that also sees the server's goodbyes.
type goodbyeProbe struct {
	*fakeRebooter
	seen func() int
}
