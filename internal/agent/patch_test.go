package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// fakeSource is an update source whose scan and install the test sets.
type fakeSource struct {
	name string

	mu      sync.Mutex
	updates []core.Update
	scanErr error
	// install, if set, decides each install call; else every update
	// installs.
	install  func(ctx context.Context, us []core.Update, progress func(updates.Result)) ([]updates.Result, error)
	installs [][]string // the keys of each install call
	scans    int
}

func (f *fakeSource) Name() string { return f.name }

func (f *fakeSource) Scan(context.Context) ([]core.Update, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scans++
	if f.scanErr != nil {
		return nil, f.scanErr
	}
	return slices.Clone(f.updates), nil
}

func (f *fakeSource) Install(ctx context.Context, us []core.Update, progress func(updates.Result)) ([]updates.Result, error) {
	f.mu.Lock()
	var keys []string
	for _, u := range us {
		keys = append(keys, u.Key)
	}
	f.installs = append(f.installs, keys)
	inst := f.install
	f.mu.Unlock()
	if inst != nil {
		return inst(ctx, us, progress)
	}
	var out []updates.Result
	for _, u := range us {
		r := updates.Result{Key: u.Key, OK: true, Code: "0"}
		progress(r)
		out = append(out, r)
		f.remove(u.Key)
	}
	return out, nil
}

// remove makes key installed: the next scan no longer finds it.
func (f *fakeSource) remove(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.updates = slices.DeleteFunc(f.updates, func(u core.Update) bool { return u.Key == key })
}

func (f *fakeSource) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.installs)
}

func upd(src, id, class, sev, kb string) core.Update {
	return core.Update{Key: core.UpdateKey(src, id, "2"), Source: src, ID: id, Version: "2", Title: id + " 2", Classification: class, Severity: sev, KB: kb}
}

// patchClock is the test's clock.
type patchClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *patchClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *patchClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// fakeRebooter records what the agent would do to the machine.
type fakeRebooter struct {
	mu       sync.Mutex
	notified []core.Text
	reboots  int
}

func (f *fakeRebooter) notify(_ context.Context, msg core.Text) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notified = append(f.notified, msg)
	return nil
}

func (f *fakeRebooter) reboot(context.Context, core.Text) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reboots++
	return nil
}

func (f *fakeRebooter) counts() (notified, reboots int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.notified), f.reboots
}

// rebootFlag is a settable pending-restart state.
type rebootFlag struct {
	mu      sync.Mutex
	pending bool
}

func (r *rebootFlag) state(context.Context) core.RebootState {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending {
		return core.RebootState{Pending: true, Reasons: []string{"/var/run/reboot-required"}}
	}
	return core.RebootState{}
}

func (r *rebootFlag) set(p bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pending = p
}

type patchEnv struct {
	a     *Agent
	dir   string
	clock *patchClock
	boot  *fakeRebooter
	rf    *rebootFlag
	srcs  []updates.Source
	pol   *protocol.PatchPolicy
}

var testLoc = time.UTC

// dayBase is the test's day 2, five days ago: results dated by the test's
// clock stay inside the spool's age limit.
var dayBase = time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -5)

// day is the test's day d at h:m UTC.
func day(d, h, m int) time.Time {
	return time.Date(dayBase.Year(), dayBase.Month(), dayBase.Day()+d-2, h, m, 0, 0, testLoc)
}

// newPatchEnv builds an agent (not running: the test drives patchStep
// with its clock) over an enrolled data folder, dir if not "".
func newPatchEnv(t *testing.T, dir string, pol protocol.PatchPolicy, srcs ...updates.Source) *patchEnv {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
		_, key, _ := ed25519.GenerateKey(rand.Reader)
		if err := SaveKey(dir, key); err != nil {
			t.Fatal(err)
		}
		if err := SaveConfig(dir, Config{ServerURL: "https://127.0.0.1:1", DeviceID: 7}); err != nil {
			t.Fatal(err)
		}
	}
	e := &patchEnv{dir: dir, clock: &patchClock{t: day(2, 0, 0)}, boot: &fakeRebooter{}, rf: &rebootFlag{}, srcs: srcs, pol: &pol}
	a, err := New(Options{DataDir: dir, Checks: []NamedCheck{}, Now: e.clock.now, PatchPolicy: e.pol,
		UpdateSources: func() []updates.Source { return e.srcs }, RebootState: e.rf.state, reboot: e.boot})
	if err != nil {
		t.Fatal(err)
	}
	a.sched.loc = testLoc
	a.root = context.Background()
	t.Cleanup(func() { a.patchRuns.Wait(); a.spool.Close() })
	e.a = a
	return e
}

// at runs the patch schedule at t.
func (e *patchEnv) at(t time.Time) {
	e.clock.set(t)
	e.a.patchStep(context.Background(), t)
}

func (e *patchEnv) attempts() []core.PatchAttempt { return e.a.patch.state().Attempts }

func (e *patchEnv) missing(key string) (core.MissingUpdate, bool) {
	for _, u := range e.a.patch.state().Missing {
		if u.Key == key {
			return u, true
		}
	}
	return core.MissingUpdate{}, false
}

// verifications are the "patches" results in the spool.
func (e *patchEnv) verifications(t *testing.T) []core.Result {
	t.Helper()
	rs, err := e.a.spool.Batch(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []core.Result
	for _, r := range rs {
		if r.Check == core.PatchCheckName {
			out = append(out, r)
		}
	}
	return out
}

func installPolicy() protocol.PatchPolicy {
	return protocol.PatchPolicy{PatchPolicy: core.PatchPolicy{Enabled: true, Install: true, ScanAt: "12:00",
		AutoApprove: []core.PatchRule{{Classification: core.ClassSecurity}, {Classification: core.ClassCritical}},
		Schedule:    core.PatchSchedule{At: "03:00", WindowMinutes: 60, MaxLatenessHours: 12},
		Reboot:      core.PatchReboot{Mode: core.RebootModeNever}, MaxFailures: 3}}
}

func TestPatchScanDailyWithCatchUpAndFirstSeen(t *testing.T) {
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "openssl", core.ClassSecurity, core.SeverityImportant, "")}}
	winget := &fakeSource{name: core.SourceWinget, scanErr: errors.New("winget.exe exited with 0x8a15000f: data required by the source is missing")}
	brew := &fakeSource{name: core.SourceBrew, scanErr: fmt.Errorf("brew: %w", errors.ErrUnsupported)}
	choco := &fakeSource{name: core.SourceChoco}
	pol := protocol.PatchPolicy{PatchPolicy: core.PatchPolicy{Enabled: true, ScanAt: "12:00", DisabledSources: []string{core.SourceChoco}}}
	e := newPatchEnv(t, "", pol, apt, winget, brew, choco)

	e.at(day(2, 9, 0)) // never scanned: scans at once
	st := e.a.patch.state()
	if apt.scans != 1 || choco.scans != 0 {
		t.Fatalf("scans apt %d choco %d, want 1 and 0 (disabled)", apt.scans, choco.scans)
	}
	status := map[string]string{}
	for _, s := range st.Sources {
		status[s.Source] = s.Status
	}
	if status[core.SourceApt] != core.ScanOK || status[core.SourceWinget] != core.ScanError || status[core.SourceBrew] != core.ScanUnsupported || status[core.SourceChoco] != core.ScanDisabled {
		t.Errorf("source states %v", status)
	}
	for _, s := range st.Sources {
		if s.Source == core.SourceWinget && !strings.Contains(s.Message.EN, "0x8a15000f") {
			t.Errorf("winget's error lost its reason: %+v", s.Message)
		}
	}
	first, ok := e.missing("apt:openssl@2")
	if !ok || !first.FirstSeen.Equal(day(2, 9, 0)) {
		t.Fatalf("openssl missing %v, first seen %v", ok, first.FirstSeen)
	}
	if st.Report == nil || len(st.Report.Report.Missing) != 1 {
		t.Fatalf("no report waits: %+v", st.Report)
	}

	e.at(day(2, 11, 59)) // same day, before ScanAt: nothing due
	e.at(day(2, 12, 0))  // the daily scan
	e.at(day(2, 18, 0))
	if apt.scans != 2 {
		t.Fatalf("%d scans on day 2, want 2 (at start and at 12:00)", apt.scans)
	}
	// Off on day 3: the missed scan runs at the next start, before ScanAt.
	apt.updates = append(apt.updates, upd(core.SourceApt, "curl", core.ClassUpdate, "", ""))
	e.at(day(4, 8, 0))
	if apt.scans != 3 {
		t.Fatalf("%d scans, want the missed one caught up", apt.scans)
	}
	if u, _ := e.missing("apt:openssl@2"); !u.FirstSeen.Equal(day(2, 9, 0)) {
		t.Errorf("FirstSeen moved to %v", u.FirstSeen)
	}
	if u, ok := e.missing("apt:curl@2"); !ok || !u.FirstSeen.Equal(day(4, 8, 0)) {
		t.Errorf("curl %v %v", ok, u.FirstSeen)
	}
	// A failed scan keeps what the source missed before.
	apt.scanErr = errors.New("E: Could not get lock /var/lib/apt/lists/lock")
	e.at(day(5, 12, 0))
	if _, ok := e.missing("apt:openssl@2"); !ok {
		t.Error("a failed scan emptied the missing list")
	}

	vs := e.verifications(t)
	if len(vs) != 4 {
		t.Fatalf("%d verification results, want one per scan (4)", len(vs))
	}
	last := vs[len(vs)-1]
	if last.Status != core.StatusError || !strings.Contains(last.Message.EN, "Could not get lock") || last.Message.DE == "" {
		t.Errorf("every source failed, verification %+v", last)
	}
	if vs[0].Status == core.StatusOK || vs[0].Value == nil || *vs[0].Value != 1 || !strings.Contains(vs[0].Message.EN, "winget") {
		t.Errorf("one approved update missing, and winget failed: verification %+v", vs[0])
	}
}

func TestPatchVerificationNeverOKWithoutScan(t *testing.T) {
	e := newPatchEnv(t, "", protocol.PatchPolicy{PatchPolicy: core.PatchPolicy{Enabled: true}},
		&fakeSource{name: core.SourceApt, scanErr: errors.New("apt-get update: exit status 100")})
	e.at(day(2, 13, 0))
	vs := e.verifications(t)
	if len(vs) != 1 || vs[0].Status != core.StatusError || !strings.Contains(vs[0].Message.EN, "exit status 100") {
		t.Fatalf("verification %+v", vs)
	}
	// No source at all on this machine: unsupported, not OK.
	e2 := newPatchEnv(t, "", protocol.PatchPolicy{PatchPolicy: core.PatchPolicy{Enabled: true}},
		&fakeSource{name: core.SourceBrew, scanErr: errors.ErrUnsupported})
	e2.at(day(2, 13, 0))
	if vs := e2.verifications(t); len(vs) != 1 || vs[0].Status != core.StatusError || !strings.Contains(vs[0].Message.EN, "brew") {
		t.Fatalf("verification without a usable source %+v", vs)
	}
	e4 := newPatchEnv(t, "", protocol.PatchPolicy{PatchPolicy: core.PatchPolicy{Enabled: true}})
	e4.at(day(2, 13, 0))
	if vs := e4.verifications(t); len(vs) != 1 || vs[0].Status != core.StatusError || !strings.Contains(vs[0].Message.EN, "No update source") || vs[0].Message.DE == vs[0].Message.EN {
		t.Fatalf("verification without any source %+v", vs)
	}
	// Disabled patch management: no scan, no result.
	e3 := newPatchEnv(t, "", protocol.PatchPolicy{}, &fakeSource{name: core.SourceApt})
	e3.at(day(2, 13, 0))
	if vs := e3.verifications(t); len(vs) != 0 {
		t.Fatalf("disabled patch management reported %+v", vs)
	}
}

func TestPatchInstallInWindowApprovedInOrder(t *testing.T) {
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{
		upd(core.SourceApt, "libc6", core.ClassSecurity, core.SeverityImportant, ""),
		upd(core.SourceApt, "vim", core.ClassUpdate, "", ""), // not approved
		upd(core.SourceApt, "openssl", core.ClassSecurity, core.SeverityCritical, ""),
		upd(core.SourceApt, "linux-image-amd64", core.ClassSecurity, core.SeverityCritical, ""), // excluded
	}}
	wu := &fakeSource{name: core.SourceWindowsUpdate, updates: []core.Update{upd(core.SourceWindowsUpdate, "u1", core.ClassCritical, "", "KB5034441")}}
	pol := installPolicy()
	pol.Exclusions.Packages = []string{"linux-image-amd64"}
	e := newPatchEnv(t, "", pol, wu, apt)

	e.at(day(2, 2, 0)) // scan; window not open
	if len(apt.calls()) != 0 {
		t.Fatal("installed outside the window")
	}
	e.at(day(2, 3, 10))
	if got := apt.calls(); len(got) != 1 || !slices.Equal(got[0], []string{"apt:openssl@2", "apt:libc6@2"}) {
		t.Fatalf("apt installs %v, want openssl (critical) then libc6", got)
	}
	if got := wu.calls(); len(got) != 1 || !slices.Equal(got[0], []string{"windows-update:u1@2"}) {
		t.Fatalf("wu installs %v", got)
	}
	as := e.attempts()
	if len(as) != 3 || as[0].Source != core.SourceWindowsUpdate {
		t.Fatalf("attempts %+v, want the sources in their order", as)
	}
	for _, a := range as {
		if a.Result != core.PatchInstalled || a.Trigger != TriggerSchedule || a.StartedAt.IsZero() {
			t.Errorf("attempt %+v", a)
		}
	}
	if _, ok := e.missing("apt:openssl@2"); ok {
		t.Error("openssl still missing after the scan that follows the install")
	}
	if _, ok := e.missing("apt:vim@2"); !ok {
		t.Error("vim (not approved) should still be missing")
	}
	e.at(day(2, 3, 30)) // the window ran already
	e.at(day(2, 23, 0))
	if n := len(apt.calls()); n != 1 {
		t.Fatalf("%d install runs on day 2, want 1", n)
	}

	// Off at day 3's window: at a start 7 hours late it installs (lateness
	// 12 h); a start 13 hours late waits for the next window.
	apt.mu.Lock()
	apt.updates = append(apt.updates, upd(core.SourceApt, "bash", core.ClassSecurity, "", ""))
	apt.mu.Unlock()
	e.a.patch.mu.Lock()
	e.a.patch.st.ScannedAt = time.Time{}
	e.a.patch.mu.Unlock()
	e.at(day(3, 10, 0))
	if got := apt.calls(); len(got) != 2 || !slices.Equal(got[1], []string{"apt:bash@2"}) {
		t.Fatalf("late start installs %v", got)
	}
	apt.mu.Lock()
	apt.updates = append(apt.updates, upd(core.SourceApt, "zlib1g", core.ClassSecurity, "", ""))
	apt.mu.Unlock()
	e.a.patch.mu.Lock()
	e.a.patch.st.ScannedAt = time.Time{}
	e.a.patch.mu.Unlock()
	e.at(day(4, 16, 0))
	if n := len(apt.calls()); n != 2 {
		t.Fatalf("a start 13 hours after the window installed (%d runs)", n)
	}
	e.at(day(5, 3, 0))
	if n := len(apt.calls()); n != 3 {
		t.Fatalf("the next window did not install (%d runs)", n)
	}
}

func TestPatchBusyIsSkippedAndRetriedInWindow(t *testing.T) {
	busy := true
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "openssl", core.ClassSecurity, "", "")}}
	apt.install = func(ctx context.Context, us []core.Update, progress func(updates.Result)) ([]updates.Result, error) {
		if busy {
			return nil, fmt.Errorf("dpkg frontend lock held by process 4711 (unattended-upgr): %w", updates.ErrBusy)
		}
		r := updates.Result{Key: us[0].Key, OK: true}
		apt.remove(us[0].Key)
		return []updates.Result{r}, nil
	}
	e := newPatchEnv(t, "", installPolicy(), apt)
	e.at(day(2, 3, 0))
	as := e.attempts()
	if len(as) != 1 || as[0].Result != core.PatchSkipped || as[0].Code != codeBusy || as[0].Message.DE == "" {
		t.Fatalf("attempts %+v", as)
	}
	if u, _ := e.missing("apt:openssl@2"); u.Failures != 0 || u.Stuck {
		t.Errorf("a busy lock counted as the update's failure: %+v", u)
	}
	e.at(day(2, 3, 5)) // before the retry
	if n := len(apt.calls()); n != 1 {
		t.Fatalf("%d install calls before the retry time", n)
	}
	busy = false
	e.at(day(2, 3, 11))
	as = e.attempts()
	if n := len(apt.calls()); n != 2 || len(as) != 2 || as[1].Result != core.PatchInstalled {
		t.Fatalf("retry: %d calls, attempts %+v", n, as)
	}
}

func TestPatchStuckAfterMaxFailures(t *testing.T) {
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "broken-pkg", core.ClassSecurity, "", "")}}
	apt.install = func(_ context.Context, us []core.Update, progress func(updates.Result)) ([]updates.Result, error) {
		r := updates.Result{Key: us[0].Key, Code: "apt-get exit 100", Message: core.Text{EN: "dpkg: error processing package broken-pkg (--configure)", DE: "dpkg: Fehler beim Bearbeiten von broken-pkg (--configure)"}}
		progress(r)
		return []updates.Result{r}, nil
	}
	pol := installPolicy()
	pol.MaxFailures = 2
	e := newPatchEnv(t, "", pol, apt)
	e.at(day(2, 3, 0))
	e.at(day(3, 3, 0))
	u, _ := e.missing("apt:broken-pkg@2")
	if u.Failures != 2 || !u.Stuck || u.LastError == nil || !strings.Contains(u.LastError.EN, "dpkg") {
		t.Fatalf("after two failures %+v", u)
	}
	e.at(day(4, 3, 0))
	if n := len(apt.calls()); n != 2 {
		t.Fatalf("a stuck update was tried again on schedule (%d calls)", n)
	}
	as := e.attempts()
	if len(as) != 2 || as[1].Result != core.PatchFailed || as[1].Code != "apt-get exit 100" {
		t.Fatalf("attempts %+v", as)
	}
	// Still stuck after the daily scan finds it again.
	e.at(day(4, 12, 0))
	if u, _ := e.missing("apt:broken-pkg@2"); !u.Stuck {
		t.Error("the scan forgot that the update is stuck")
	}
	vs := e.verifications(t)
	if last := vs[len(vs)-1]; last.Status == core.StatusOK {
		t.Errorf("verification OK with a stuck update: %+v", last)
	}
}

func TestPatchInterruptedInstallIsRecordedAndResumed(t *testing.T) {
	started := make(chan struct{})
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "openssl", core.ClassSecurity, "", "")}}
	apt.install = func(ctx context.Context, us []core.Update, _ func(updates.Result)) ([]updates.Result, error) {
		close(started)
		<-ctx.Done() // the agent is stopped mid-install
		return nil, ctx.Err()
	}
	e := newPatchEnv(t, "", installPolicy(), apt)
	e.clock.set(day(2, 3, 0))
	e.a.patchStep(context.Background(), day(2, 2, 0)) // the first scan
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.a.patchStep(ctx, day(2, 3, 0)); close(done) }()
	<-started
	// The marker is on disk before the install runs.
	st, ok := loadJSON[patchState](patchPath(e.dir), e.a.log, "", "")
	if !ok || len(st.Installing) != 1 || st.Installing[0].Key != "apt:openssl@2" {
		t.Fatalf("no in-flight marker on disk: %+v", st.Installing)
	}
	cancel()
	<-done
	e.a.spool.Close()

	// The next start: the attempt is recorded as interrupted and the
	// update retried in the window with Trigger "resume".
	apt.install = nil
	e2 := newPatchEnv(t, e.dir, installPolicy(), apt)
	e2.clock.set(day(2, 3, 20))
	e2.a.recoverPatches()
	as := e2.attempts()
	if len(as) != 1 || as[0].Result != core.PatchInterrupted || as[0].Message.EN == "" || as[0].Message.DE == "" {
		t.Fatalf("attempts after the restart %+v", as)
	}
	if st := e2.a.patch.state(); len(st.Installing) != 0 || !slices.Equal(st.Resume, []string{"apt:openssl@2"}) || st.Report == nil {
		t.Fatalf("state after recovery %+v", st)
	}
	e2.at(day(3, 3, 0))
	as = e2.attempts()
	if len(as) != 2 || as[1].Result != core.PatchInstalled || as[1].Trigger != TriggerResume {
		t.Fatalf("attempts after the resume %+v", as)
	}
	if st := e2.a.patch.state(); len(st.Resume) != 0 {
		t.Errorf("resume list kept %v", st.Resume)
	}
}

func TestPatchInstallActionChecksKeys(t *testing.T) {
	gate := make(chan struct{})
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{
		upd(core.SourceApt, "vim", core.ClassUpdate, "", ""),
		upd(core.SourceApt, "linux-image-amd64", core.ClassSecurity, "", ""),
	}}
	apt.install = func(ctx context.Context, us []core.Update, progress func(updates.Result)) ([]updates.Result, error) {
		<-gate
		var out []updates.Result
		for _, u := range us {
			r := updates.Result{Key: u.Key, OK: true}
			out = append(out, r)
			apt.remove(u.Key)
		}
		return out, nil
	}
	pol := installPolicy()
	pol.Install = false // watched only: a technician may still install
	pol.Exclusions.Titles = []string{"linux-image-*"}
	e := newPatchEnv(t, "", pol, apt)
	e.at(day(2, 13, 0))

	reply, err := e.a.installNow(protocol.UpdatesInstallArgs{Keys: []string{"apt:vim@2", "apt:nope@1", "apt:linux-image-amd64@2"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(reply.Started, []string{"apt:vim@2"}) || len(reply.Refused) != 2 ||
		!strings.Contains(reply.Refused["apt:nope@1"].EN, "did not find") || !strings.Contains(reply.Refused["apt:linux-image-amd64@2"].DE, "schließt") {
		t.Fatalf("reply %+v", reply)
	}
	// While it installs, another install is refused as busy.
	_, err = e.a.installNow(protocol.UpdatesInstallArgs{Keys: []string{"apt:vim@2"}})
	var ae *protocol.ActionError
	if !errors.As(err, &ae) || ae.Code != protocol.CodeBusy {
		t.Fatalf("second install: %v", err)
	}
	close(gate)
	e.a.patchRuns.Wait()
	as := e.attempts()
	if len(as) != 1 || as[0].Key != "apt:vim@2" || as[0].Trigger != TriggerManual || as[0].Result != core.PatchInstalled {
		t.Fatalf("attempts %+v", as)
	}
	if _, ok := e.missing("apt:vim@2"); ok {
		t.Error("vim still missing after the scan that follows")
	}
	// Nothing known, nothing started; no keys at all is a bad request.
	reply, err = e.a.installNow(protocol.UpdatesInstallArgs{Keys: []string{"apt:vim@2"}})
	if err != nil || len(reply.Started) != 0 || len(reply.Refused) != 1 {
		t.Errorf("installed update again: %+v %v", reply, err)
	}
	if _, err := e.a.installNow(protocol.UpdatesInstallArgs{}); !errors.As(err, &ae) || ae.Code != protocol.CodeBadArgs {
		t.Errorf("empty request: %v", err)
	}
	// The local lock refuses both actions.
	e.a.cfg.Disable = []string{protocol.LockPatches}
	for _, name := range []string{protocol.ActionUpdatesInstall, protocol.ActionUpdatesScan} {
		h, _ := lookupAction(name)
		if err := e.a.allows(name, h); !errors.As(err, &ae) || ae.Code != protocol.CodeDisabledLocally {
			t.Errorf("%s under the lock: %v", name, err)
		}
	}
}

// needsReboot makes src's installs succeed and leave a restart pending.
func needsReboot(src *fakeSource, rf *rebootFlag) {
	src.install = func(_ context.Context, us []core.Update, progress func(updates.Result)) ([]updates.Result, error) {
		var out []updates.Result
		for _, u := range us {
			r := updates.Result{Key: u.Key, OK: true, RebootNeeded: true}
			progress(r)
			out = append(out, r)
			src.remove(u.Key)
		}
		rf.set(true)
		return out, nil
	}
}

func TestPatchRebootModes(t *testing.T) {
	run := func(t *testing.T, reboot core.PatchReboot) (*patchEnv, *fakeSource) {
		apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "linux-image-amd64", core.ClassSecurity, "", "")}}
		pol := installPolicy()
		pol.Reboot = reboot
		e := newPatchEnv(t, "", pol, apt)
		needsReboot(apt, e.rf)
		e.at(day(2, 3, 0))
		return e, apt
	}
	t.Run("never", func(t *testing.T) {
		e, _ := run(t, core.PatchReboot{Mode: core.RebootModeNever, ForceAfterDays: 1})
		e.at(day(9, 3, 0))
		if n, r := e.boot.counts(); n+r != 0 {
			t.Errorf("never: %d notices, %d restarts", n, r)
		}
		if st := e.a.patch.state(); !st.Reboot.Pending || !st.Reboot.Since.Equal(day(2, 3, 0)) {
			t.Errorf("pending restart not reported: %+v", st.Reboot)
		}
	})
	t.Run("force", func(t *testing.T) {
		e, _ := run(t, core.PatchReboot{Mode: core.RebootModeForce})
		if _, r := e.boot.counts(); r != 0 {
			t.Fatalf("restarted without a session to say goodbye on (%d)", r)
		}
		e.at(day(2, 3, 9))
		if _, r := e.boot.counts(); r != 0 {
			t.Fatalf("did not wait for a session (%d)", r)
		}
		e.at(day(2, 3, 10)) // no session came: restart anyway
		if _, r := e.boot.counts(); r != 1 {
			t.Errorf("force: %d restarts", r)
		}
	})
	t.Run("window", func(t *testing.T) {
		e, _ := run(t, core.PatchReboot{Mode: core.RebootModeWindow})
		if _, r := e.boot.counts(); r != 0 {
			t.Fatal("restarted before the window's end")
		}
		e.at(day(2, 3, 59))
		if _, r := e.boot.counts(); r != 0 {
			t.Fatal("restarted before the window's end")
		}
		e.at(day(2, 4, 0))
		e.at(day(2, 4, 10)) // (no session to wait for)
		if _, r := e.boot.counts(); r != 1 {
			t.Fatalf("window: %d restarts at its end", r)
		}
		e.at(day(2, 4, 30)) // still pending: not again within the hour
		if _, r := e.boot.counts(); r != 1 {
			t.Fatalf("restarted again at once (%d)", r)
		}
	})
	t.Run("ask", func(t *testing.T) {
		e, _ := run(t, core.PatchReboot{Mode: core.RebootModeAsk, Deferrals: 2, DeadlineHours: 12})
		if n, r := e.boot.counts(); n != 1 || r != 0 {
			t.Fatalf("ask: %d notices, %d restarts after the install", n, r)
		}
		e.at(day(2, 6, 0))
		e.at(day(2, 7, 0)) // a reminder after a third of the time
		e.at(day(2, 12, 0))
		if n, r := e.boot.counts(); n != 3 || r != 0 {
			t.Fatalf("ask: %d notices, %d restarts before the deadline", n, r)
		}
		e.at(day(2, 15, 0)) // the deadline
		e.at(day(2, 15, 10))
		if n, r := e.boot.counts(); n != 3 || r != 1 {
			t.Fatalf("ask: %d notices, %d restarts at the deadline", n, r)
		}
		if !strings.Contains(e.boot.notified[0].DE, "Neustart") && !strings.Contains(e.boot.notified[0].DE, "neu") {
			t.Errorf("notice %+v", e.boot.notified[0])
		}
	})
	t.Run("force after days", func(t *testing.T) {
		e, _ := run(t, core.PatchReboot{Mode: core.RebootModeAsk, DeadlineHours: 1000, ForceAfterDays: 2})
		e.at(day(3, 12, 0))
		if _, r := e.boot.counts(); r != 0 {
			t.Fatal("forced before ForceAfterDays")
		}
		e.at(day(4, 3, 0))
		e.at(day(4, 3, 10))
		if _, r := e.boot.counts(); r != 1 {
			t.Fatalf("%d restarts after 2 days pending", r)
		}
	})
}

func TestRebootCommandsAreArgumentArrays(t *testing.T) {
	msg := `it's "quoted"; rm -rf / $(x)`
	if c := rebootCommand("linux", msg); !slices.Equal(c, []string{"shutdown", "-r", "+1", msg}) {
		t.Errorf("linux %q", c)
	}
	if c := rebootCommand("windows", msg); len(c) < 6 || c[0] != "shutdown.exe" || c[1] != "/r" || c[5] != msg {
		t.Errorf("windows %q", c)
	}
	if c := rebootCommand("plan9", msg); c != nil {
		t.Errorf("plan9 %q", c)
	}
	if c := notifyCommands("darwin", msg); len(c) != 1 || c[0][len(c[0])-1] != msg || strings.Contains(strings.Join(c[0][:len(c[0])-1], " "), "rm -rf") {
		t.Errorf("darwin %q", c)
	}
	if c := notifyCommands("windows", msg); len(c) != 1 || !slices.Equal(c[0], []string{"msg.exe", "*", "/TIME:3600", msg}) {
		t.Errorf("windows %q", c)
	}
}

func TestPatchPolicyFromServerAndReportBackoff(t *testing.T) {
	e := newPatchEnv(t, "", protocol.PatchPolicy{})
	// A server's policy sets the patch policy of an agent that pins none.
	e.a.plan.patchPinned, e.a.plan.patch, e.a.plan.pinned = false, nil, false
	pp := installPolicy()
	if err := e.a.applyPolicy(protocol.Policy{Revision: "r1", Checks: []core.PolicyCheck{}, Patch: &pp}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := e.a.plan.patchPolicy(); got == nil || !got.Install || got.Schedule.At != "03:00" {
		t.Fatalf("patch policy after the server's policy: %+v", got)
	}
	stored, ok, err := loadPolicy(e.dir)
	if err != nil || !ok || stored.Patch == nil {
		t.Fatalf("stored policy keeps no patch settings: %v %v", ok, err)
	}
	// Patch management turned off by a later policy.
	if err := e.a.applyPolicy(protocol.Policy{Revision: "r2", Checks: []core.PolicyCheck{}}, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := e.a.plan.patchPolicy(); got != nil {
		t.Fatalf("patch policy kept after the server dropped it: %+v", got)
	}

	// An unanswered report waits, doubling, up to patchReportMax; a new
	// report replaces it and is due at once.
	p := e.a.patch
	p.mu.Lock()
	p.newReportLocked()
	id := p.st.Report.ID
	p.mu.Unlock()
	now := day(2, 12, 0)
	var waits []time.Duration
	for range 12 {
		if r, _ := p.pending(now); r == nil || r.ID != id {
			t.Fatalf("report not due at %v", now)
		}
		next := p.unanswered(now)
		if r, retry := p.pending(now); r != nil || !retry.Equal(next) {
			t.Fatalf("report due during its back-off")
		}
		waits = append(waits, next.Sub(now))
		now = next
	}
	if waits[0] != patchReportRetry || waits[1] != 2*patchReportRetry || waits[len(waits)-1] != patchReportMax {
		t.Errorf("back-off %v", waits)
	}
	p.mu.Lock()
	p.newReportLocked()
	p.mu.Unlock()
	if r, _ := p.pending(now); r == nil || r.ID == id {
		t.Error("a new report did not replace the unanswered one")
	}
	p.acked("someone-else")
	if r, _ := p.pending(now); r == nil {
		t.Error("an acknowledgement of another report cleared this one")
	}
}

// wsusSource is a source that names the update server it asks.
type wsusSource struct{ fakeSource }

func (*wsusSource) Server() string { return "https://wsus.kunde.local:8531" }

// A source's update server (the customer's WSUS) is in its status after a
// good scan; a failed scan names none.
func TestScanUpdatesReportsUpdateServer(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ok := &wsusSource{fakeSource{name: core.SourceWindowsUpdate}}
	sts, _ := ScanUpdates(context.Background(), []updates.Source{ok}, nil, nil, 3, now)
	if len(sts) != 1 || sts[0].Status != core.ScanOK || sts[0].Server != "https://wsus.kunde.local:8531" {
		t.Fatalf("status %+v, want ok with the WSUS", sts)
	}
	bad := &wsusSource{fakeSource{name: core.SourceWindowsUpdate, scanErr: errors.New("0x8024401C")}}
	sts, _ = ScanUpdates(context.Background(), []updates.Source{bad}, nil, nil, 3, now)
	if len(sts) != 1 || sts[0].Status != core.ScanError || sts[0].Server != "" {
		t.Fatalf("status %+v, want an error without a server", sts)
	}
}
