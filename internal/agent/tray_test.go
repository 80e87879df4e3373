package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

var (
	anna  = trayipc.Peer{UID: "1001", User: "anna", PID: 10}
	bernd = trayipc.Peer{UID: "1002", User: "bernd", PID: 11}
	png   = []byte("\x89PNG\r\n\x1a\n" + "not a real picture, the agent only checks the signature")
)

// newTrayAgent builds an agent (not running) over an enrolled data folder
// (dir, or a new one) with checks pinned to the given registered types.
func newTrayAgent(t testing.TB, dir string, clock *patchClock, types ...string) *Agent {
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
	checks := []NamedCheck{}
	for _, typ := range types {
		checks = append(checks, NamedCheck{Name: typ, Check: &fakeCheck{}})
	}
	a, err := New(Options{DataDir: dir, Checks: checks, Now: clock.now, reboot: &fakeRebooter{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.spool.Close() })
	return a
}

// call runs one tray request through the handler, as Serve would, with
// its JSON round trip.
func call[T any](t *testing.T, a *Agent, p trayipc.Peer, op string, args any) (T, error) {
	t.Helper()
	var out T
	var data json.RawMessage
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		data = b
	}
	v, err := a.handleTray(context.Background(), p, op, data)
	if err != nil {
		return out, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// code is the tray error code of err ("" for none, "?" for another error).
func code(err error) string {
	var te *trayipc.Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &te):
		return te.Code
	}
	return "?"
}

func result(check, key string, st core.Status, at time.Time) core.Result {
	return core.Result{ID: core.NewResultID(), Check: check, Key: key, Status: st, At: at,
		Message: core.Text{EN: check + " " + st.String(), DE: check + " " + st.String()}}
}

func resultIDs(rs ...core.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestTrayStatusFromCheckStates(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC().Truncate(time.Second)}
	a := newTrayAgent(t, "", clock, "disk", "cpu", "antivirus", "backup")
	status := func() trayipc.Status {
		t.Helper()
		s, err := call[trayipc.Status](t, a, anna, trayipc.OpStatus, nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	s := status()
	if s.Overall != trayipc.OverallUnknown || s.Version != trayipc.Version || s.Antivirus != nil || s.Backup != nil || s.Reboot != nil {
		t.Fatalf("nothing checked yet: %+v", s)
	}
	if s.Branding.ProductName != core.DefaultProductName || !s.Branding.Show {
		t.Errorf("default branding %+v", s.Branding)
	}

	now := clock.now()
	disk := result("disk", "/", core.StatusOK, now)
	cpu := result("cpu", "", core.StatusWarning, now)
	av := result("antivirus", "antivirus", core.StatusOK, now)
	age := 5.5
	bk := result("backup", "restic", core.StatusOK, now)
	bk.Value, bk.Unit = &age, "h"
	daily := result("backup", "daily:restic", core.StatusFailure, now)
	foreign := result("gone", "", core.StatusFailure, now) // a check no longer planned
	a.store([]core.Result{disk, cpu, av, bk, foreign})
	s = status()
	if s.Overall != trayipc.OverallOK || s.Problems != 0 || s.Warnings != 1 {
		t.Errorf("passing checks, one warning, not sent yet: %+v", s)
	}
	if s.Antivirus == nil || s.Antivirus.State != "ok" || !s.Antivirus.At.Equal(now) {
		t.Errorf("antivirus %+v", s.Antivirus)
	}
	if s.Backup == nil || s.Backup.State != "ok" || !s.Backup.At.Equal(now.Add(-5*time.Hour-30*time.Minute)) {
		t.Errorf("backup %+v, want its last success 5.5 h ago", s.Backup)
	}

	// A failure the server does not have yet: IT does not know.
	disk2 := result("disk", "/", core.StatusFailure, now)
	a.store([]core.Result{disk2, daily})
	if s = status(); s.Overall != trayipc.OverallUnknown || s.Problems != 2 {
		t.Errorf("unsent failures: %+v", s)
	}
	a.checkStates.acked(resultIDs(disk, cpu, av, bk, disk2, daily))
	s = status()
	if s.Overall != trayipc.OverallProblems || s.Problems != 2 || !slices.Equal(s.ProblemNames, []string{"backup", "disk"}) {
		t.Errorf("sent failures: %+v", s)
	}
	if s.Backup.State != "failure" || s.Backup.Message != "backup failure" {
		t.Errorf("backup with a failed day %+v", s.Backup)
	}
	// Failing again: the server knows that status already.
	clock.set(now.Add(time.Minute))
	disk3 := result("disk", "/", core.StatusFailure, clock.now())
	a.store([]core.Result{disk3})
	if s = status(); s.Overall != trayipc.OverallProblems {
		t.Errorf("the same failure again, not sent yet: %+v", s)
	}
	// A result unsent for long: the server may not know the state.
	clock.set(now.Add(time.Minute + staleAfter + time.Second))
	if s = status(); s.Overall != trayipc.OverallUnknown {
		t.Errorf("results unsent for long: %+v", s)
	}
	a.checkStates.acked(resultIDs(disk3))
	okDisk, okBackup := result("disk", "/", core.StatusOK, clock.now()), result("backup", "daily:restic", core.StatusOK, clock.now())
	a.store([]core.Result{okDisk, okBackup})
	if s = status(); s.Overall != trayipc.OverallOK || s.Problems != 0 {
		t.Errorf("all passing again: %+v", s)
	}

	// The states survive a restart of the agent.
	a.spool.Close()
	b := newTrayAgent(t, a.opts.DataDir, clock, "disk", "cpu", "antivirus", "backup")
	if s, _ := call[trayipc.Status](t, b, anna, trayipc.OpStatus, nil); s.Overall != trayipc.OverallOK || s.Warnings != 1 || s.Backup == nil {
		t.Errorf("after a restart: %+v", s)
	}
}

func TestTrayStatusManyProblemNamesBounded(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC()}
	var types []string
	var rs []core.Result
	for i := range 15 {
		n := "check" + string(rune('a'+i))
		types = append(types, n)
		rs = append(rs, result(n, "", core.StatusFailure, clock.now()))
	}
	a := newTrayAgent(t, "", clock, types...)
	a.store(rs)
	a.checkStates.acked(resultIDs(rs...))
	s, _ := call[trayipc.Status](t, a, anna, trayipc.OpStatus, nil)
	if s.Problems != 15 || len(s.ProblemNames) != maxProblemNames || s.Overall != trayipc.OverallProblems {
		t.Errorf("%d problems, %d names, %s", s.Problems, len(s.ProblemNames), s.Overall)
	}
}

func TestTrayBrandingAndIcon(t *testing.T) {
	clock := &patchClock{t: time.Now()}
	a := newTrayAgent(t, "", clock)
	if _, err := call[trayipc.Icon](t, a, anna, trayipc.OpIcon, nil); code(err) != trayipc.CodeNotFound {
		t.Errorf("icon without branding: %v", err)
	}
	sum := sha256.Sum256(png)
	a.plan.setTray(&protocol.Tray{Show: false, Phone: "+49 30 1234", Hours: core.Text{EN: "Mon–Fri 8–17", DE: "Mo–Fr 8–17"},
		RemoteSupport: core.RemoteSupportRustDesk, Icon: png, IconSHA256: hex.EncodeToString(sum[:])})
	s, _ := call[trayipc.Status](t, a, anna, trayipc.OpStatus, nil)
	if b := s.Branding; b.Show || b.ProductName != core.DefaultProductName || b.Phone != "+49 30 1234" || b.Hours.DE != "Mo–Fr 8–17" ||
		b.RemoteSupport != core.RemoteSupportRustDesk || b.IconSHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("branding %+v", b)
	}
	ic, err := call[trayipc.Icon](t, a, anna, trayipc.OpIcon, nil)
	if err != nil || string(ic.PNG) != string(png) || ic.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("icon %v %v", ic, err)
	}
	if _, err := call[any](t, a, anna, "rm -rf /", nil); code(err) != trayipc.CodeUnknownOp {
		t.Errorf("unknown op: %v", err)
	}
	// Pinned checks ignore policies, but not the branding.
	if err := a.applyPolicy(protocol.Policy{Revision: "r2", Tray: &protocol.Tray{Show: true, ProductName: "Müller IT"}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if s, _ := call[trayipc.Status](t, a, anna, trayipc.OpStatus, nil); s.Branding.ProductName != "Müller IT" || !s.Branding.Show {
		t.Errorf("branding of a pinned agent %+v", s.Branding)
	}
}

// The branding arrives with the policy and is kept with it.
func TestTrayBrandingFromPolicy(t *testing.T) {
	dir := t.TempDir()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if err := SaveKey(dir, key); err != nil {
		t.Fatal(err)
	}
	if err := SaveConfig(dir, Config{ServerURL: "https://127.0.0.1:1", DeviceID: 7}); err != nil {
		t.Fatal(err)
	}
	open := func() *Agent {
		a, err := New(Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := open()
	a.store([]core.Result{result("old", "", core.StatusFailure, time.Now())})
	pol := protocol.Policy{Revision: "r1", Tray: &protocol.Tray{Show: true, ProductName: "Müller IT"}}
	if err := a.applyPolicy(pol, time.Now()); err != nil {
		t.Fatal(err)
	}
	if st := a.checkStates.snapshot(func(string) bool { return true }); len(st) != 0 {
		t.Errorf("states of a removed check kept: %+v", st)
	}
	if s := a.trayStatus(); s.Branding.ProductName != "Müller IT" {
		t.Errorf("branding %+v", s.Branding)
	}
	a.spool.Close()
	b := open()
	defer b.spool.Close()
	if s := b.trayStatus(); s.Branding.ProductName != "Müller IT" {
		t.Errorf("after a restart: branding %+v", s.Branding)
	}
}

func TestTraySupportValidation(t *testing.T) {
	a := newTrayAgent(t, "", &patchClock{t: time.Now()})
	big := make([]byte, core.MaxSupportScreenshot+1)
	copy(big, png)
	for name, args := range map[string]any{
		"empty":           trayipc.SupportArgs{Message: "", Lang: "de"},
		"blank":           trayipc.SupportArgs{Message: " \n\t ", Lang: "de"},
		"1 MB":            trayipc.SupportArgs{Message: strings.Repeat("x", 1<<20), Lang: "de"},
		"long name":       trayipc.SupportArgs{Message: "hi", Lang: "en", Contact: core.SupportContact{Name: strings.Repeat("n", core.MaxSupportContact+1)}},
		"language":        trayipc.SupportArgs{Message: "hi", Lang: "fr"},
		"screenshot type": trayipc.SupportArgs{Message: "hi", Lang: "en", Screenshot: []byte("GIF89a")},
		"screenshot size": trayipc.SupportArgs{Message: "hi", Lang: "en", Screenshot: big},
		"not an object":   []int{1, 2},
	} {
		_, err := call[trayipc.SupportReply](t, a, anna, trayipc.OpSupport, args)
		var te *trayipc.Error
		if !errors.As(err, &te) || te.Code != trayipc.CodeBadRequest || te.Message.EN == "" || te.Message.DE == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := a.handleTray(context.Background(), anna, trayipc.OpSupport, json.RawMessage(`{"message":`)); code(err) != trayipc.CodeBadRequest {
		t.Errorf("truncated JSON: %v", err)
	}
	if rs := a.support.requests(anna); len(rs.Requests) != 0 {
		t.Errorf("refused requests were kept: %+v", rs)
	}
}

func TestTraySupportStoredPerUserAndSurvivesRestart(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC().Truncate(time.Second)}
	a := newTrayAgent(t, "", clock)
	dir := a.opts.DataDir
	r1, err := call[trayipc.SupportReply](t, a, anna, trayipc.OpSupport, trayipc.SupportArgs{
		Message: "  Mein Drucker druckt nicht.  ", Lang: "de", Contact: core.SupportContact{Name: "Anna", Phone: "123"}, Screenshot: png})
	if err != nil || r1.Ref == "" {
		t.Fatalf("%v %v", r1, err)
	}
	clock.set(clock.now().Add(time.Second))
	r2, err := call[trayipc.SupportReply](t, a, anna, trayipc.OpSupport, trayipc.SupportArgs{Message: "Und das Netz auch nicht.", Lang: "de"})
	if err != nil {
		t.Fatal(err)
	}
	r3, err := call[trayipc.SupportReply](t, a, bernd, trayipc.OpSupport, trayipc.SupportArgs{Message: "My mouse is gone.", Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, supportDir, r1.Ref+".png")
	if fi, err := os.Stat(shot); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("screenshot file: %v %v", fi, err)
	}
	// The user is the peer, never what the tray says.
	a.support.mu.Lock()
	if u := a.support.recs[r1.Ref].OSUser; u != "anna" {
		t.Errorf("os user %q", u)
	}
	a.support.mu.Unlock()

	a.spool.Close()
	a = newTrayAgent(t, dir, clock) // a restart of the agent
	got, _ := call[trayipc.Requests](t, a, anna, trayipc.OpRequests, nil)
	if len(got.Requests) != 2 || got.Requests[0].Ref != r2.Ref || got.Requests[1].Ref != r1.Ref ||
		got.Requests[1].Message != "Mein Drucker druckt nicht." || got.Requests[1].Sent || got.Requests[1].State != "" {
		t.Errorf("anna's requests %+v", got)
	}
	got, _ = call[trayipc.Requests](t, a, bernd, trayipc.OpRequests, nil)
	if len(got.Requests) != 1 || got.Requests[0].Ref != r3.Ref {
		t.Errorf("bernd's requests %+v", got)
	}
	// Another account with anna's name but another UID sees nothing.
	if got, _ := call[trayipc.Requests](t, a, trayipc.Peer{UID: "2001", User: "anna"}, trayipc.OpRequests, nil); len(got.Requests) != 0 {
		t.Errorf("another uid sees %+v", got)
	}
	req, _ := a.support.next(clock.now())
	if req == nil || req.Ref != r1.Ref || string(req.Screenshot) != string(png) || req.OSUser != "anna" || req.Validate() != nil {
		t.Errorf("first to send: %+v", req)
	}
}

func TestTraySupportLimits(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC()}
	a := newTrayAgent(t, "", clock)
	send := func(p trayipc.Peer) (string, error) {
		clock.set(clock.now().Add(time.Second))
		r, err := call[trayipc.SupportReply](t, a, p, trayipc.OpSupport, trayipc.SupportArgs{Message: "help", Lang: "en"})
		return r.Ref, err
	}
	var refs []string
	for range maxUnsentPerUser {
		ref, err := send(anna)
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	if _, err := send(anna); code(err) != trayipc.CodeBusy {
		t.Fatalf("11th unsent request: %v", err)
	}
	if _, err := send(bernd); err != nil {
		t.Errorf("another user is not limited by anna's: %v", err)
	}
	for _, ref := range refs {
		a.support.answered(ref, true)
	}
	for range maxPerUserHour - maxUnsentPerUser {
		if _, err := send(anna); err != nil {
			t.Fatal(err)
		}
		r, _ := a.support.next(clock.now())
		a.support.answered(r.Ref, true)
	}
	if _, err := send(anna); code(err) != trayipc.CodeBusy {
		t.Fatalf("21st request within the hour: %v", err)
	}
	clock.set(clock.now().Add(time.Hour))
	if _, err := send(anna); err != nil {
		t.Errorf("an hour later: %v", err)
	}
}

func TestTraySupportStateMerged(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC().Truncate(time.Second)}
	a := newTrayAgent(t, "", clock)
	r1, _ := call[trayipc.SupportReply](t, a, anna, trayipc.OpSupport, trayipc.SupportArgs{Message: "printer", Lang: "en", Screenshot: png})
	reply := core.SupportReply{ID: 1, Author: "Tom", Body: "On my way.", CreatedAt: clock.now()}
	a.support.merge(protocol.SupportState{Requests: []protocol.SupportStatus{
		{Ref: r1.Ref, OSUser: "anna", State: core.SupportInProgress, UpdatedAt: clock.now(), Replies: []core.SupportReply{reply}},
		{Ref: "from-another-device-install", OSUser: "bernd", State: core.SupportDone, UpdatedAt: clock.now()},
		{Ref: "bad-state-000", OSUser: "anna", State: "hacked"},
	}}, clock.now())
	got, _ := call[trayipc.Requests](t, a, anna, trayipc.OpRequests, nil)
	if len(got.Requests) != 1 || !got.Requests[0].Sent || got.Requests[0].State != core.SupportInProgress ||
		len(got.Requests[0].Replies) != 1 || got.Requests[0].Replies[0].Body != "On my way." {
		t.Errorf("anna %+v", got)
	}
	// The server has it: the screenshot is gone and nothing waits.
	if _, err := os.Stat(filepath.Join(a.opts.DataDir, supportDir, r1.Ref+".png")); !os.IsNotExist(err) {
		t.Errorf("screenshot kept: %v", err)
	}
	if r, _ := a.support.next(clock.now()); r != nil {
		t.Errorf("still waiting: %+v", r)
	}
	got, _ = call[trayipc.Requests](t, a, bernd, trayipc.OpRequests, nil)
	if len(got.Requests) != 1 || got.Requests[0].Ref != "from-another-device-install" || got.Requests[0].State != core.SupportDone {
		t.Errorf("bernd (known from the server only) %+v", got)
	}
	// Kept on disk.
	a.spool.Close()
	b := newTrayAgent(t, a.opts.DataDir, clock)
	if got, _ := call[trayipc.Requests](t, b, anna, trayipc.OpRequests, nil); len(got.Requests) != 1 || got.Requests[0].State != core.SupportInProgress {
		t.Errorf("after a restart %+v", got)
	}
}

// askEnv is a patch runtime that installed an update needing a restart
// in "ask" mode at day 2 03:00 (deadline 15:00, 2 deferrals).
func askEnv(t *testing.T) *patchEnv {
	t.Helper()
	apt := &fakeSource{name: core.SourceApt, updates: []core.Update{upd(core.SourceApt, "linux-image-amd64", core.ClassSecurity, "", "")}}
	pol := installPolicy()
	pol.Reboot = core.PatchReboot{Mode: core.RebootModeAsk, Deferrals: 2, DeadlineHours: 12}
	e := newPatchEnv(t, "", pol, apt)
	needsReboot(apt, e.rf)
	e.at(day(2, 3, 0))
	return e
}

func TestTrayRebootLater(t *testing.T) {
	e := askEnv(t)
	if n, _ := e.boot.counts(); n != 1 {
		t.Fatalf("%d notices without a tray", n)
	}
	s, _ := call[trayipc.Status](t, e.a, anna, trayipc.OpStatus, nil)
	if s.Reboot == nil || !s.Reboot.Deadline.Equal(day(2, 15, 0)) || s.Reboot.DeferralsLeft != 1 {
		t.Fatalf("prompt %+v (the OS notice used one deferral)", s.Reboot)
	}
	rep, err := call[trayipc.RebootReply](t, e.a, anna, trayipc.OpReboot, trayipc.RebootArgs{Choice: trayipc.RebootLater})
	if err != nil || rep.DeferralsLeft != 0 || !rep.At.Equal(day(2, 15, 0)) {
		t.Fatalf("later: %+v %v", rep, err)
	}
	_, err = call[trayipc.RebootReply](t, e.a, bernd, trayipc.OpReboot, trayipc.RebootArgs{Choice: trayipc.RebootLater})
	var te *trayipc.Error
	if !errors.As(err, &te) || te.Code != trayipc.CodeRefused || !strings.Contains(te.Message.DE, "15:00") || !strings.Contains(te.Message.EN, "15:00") {
		t.Fatalf("later without deferrals: %v", err)
	}
	if _, err := call[trayipc.RebootReply](t, e.a, anna, trayipc.OpReboot, trayipc.RebootArgs{Choice: "sometime"}); code(err) != trayipc.CodeBadRequest {
		t.Errorf("bad choice: %v", err)
	}
	// The deadline still restarts (after waiting for a session to say
	// goodbye on, as without a tray).
	e.at(day(2, 15, 0))
	e.at(day(2, 15, 10))
	if _, r := e.boot.counts(); r != 1 {
		t.Errorf("%d restarts at the deadline", r)
	}
	if s, _ := call[trayipc.Status](t, e.a, anna, trayipc.OpStatus, nil); s.Reboot != nil {
		t.Errorf("prompt after the restart began: %+v", s.Reboot)
	}
}

func TestTrayRebootNow(t *testing.T) {
	e := askEnv(t)
	e.clock.set(day(2, 4, 0))
	rep, err := call[trayipc.RebootReply](t, e.a, anna, trayipc.OpReboot, trayipc.RebootArgs{Choice: trayipc.RebootNow})
	if err != nil || !rep.At.Equal(day(2, 4, 1)) {
		t.Fatalf("now: %+v %v", rep, err)
	}
	e.at(day(2, 4, 0))
	e.at(day(2, 4, 10)) // no session to say goodbye on: restarts anyway
	if _, r := e.boot.counts(); r != 1 {
		t.Fatalf("%d restarts after now", r)
	}
	if _, err := call[trayipc.RebootReply](t, e.a, anna, trayipc.OpReboot, trayipc.RebootArgs{Choice: trayipc.RebootNow}); code(err) != trayipc.CodeNotFound {
		t.Errorf("no prompt pending: %v", err)
	}
}

// While a tray asks, reminders go to it (the prompt in its status), not
// to the OS notice, and use no deferral.
func TestTrayRebootRemindersGoToTheTray(t *testing.T) {
	e := askEnv(t) // notice 1 at 03:00, next at 07:00
	e.clock.set(day(2, 7, 0).Add(-30 * time.Second))
	call[trayipc.Status](t, e.a, anna, trayipc.OpStatus, nil)
	e.at(day(2, 7, 0))
	if n, _ := e.boot.counts(); n != 1 {
		t.Errorf("%d notices with a tray connected", n)
	}
	if s, _ := call[trayipc.Status](t, e.a, anna, trayipc.OpStatus, nil); s.Reboot == nil || s.Reboot.DeferralsLeft != 1 {
		t.Errorf("prompt %+v", s.Reboot)
	}
	e.at(day(2, 8, 0)) // the tray went away
	if n, _ := e.boot.counts(); n != 2 {
		t.Errorf("%d notices after the tray went away", n)
	}
}

// A key a check no longer reports takes its state with it.
func TestTrayStatusForgetsVanishedKeys(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC()}
	a := newTrayAgent(t, "", clock, "disk")
	usb := result("disk", "/mnt/usb", core.StatusFailure, clock.now())
	root := result("disk", "/", core.StatusOK, clock.now())
	a.store([]core.Result{root, usb})
	a.checkStates.acked(resultIDs(root, usb))
	if s, _ := call[trayipc.Status](t, a, anna, trayipc.OpStatus, nil); s.Problems != 1 {
		t.Fatalf("%+v", s)
	}
	root2 := result("disk", "/", core.StatusOK, clock.now())
	a.store([]core.Result{root2})
	if s, _ := call[trayipc.Status](t, a, anna, trayipc.OpStatus, nil); s.Problems != 0 || s.Overall != trayipc.OverallOK {
		t.Errorf("the unplugged disk still counts: %+v", s)
	}
}

// However many long replies there are, the list fits one answer line.
func TestTrayRequestsFitOneLine(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC()}
	a := newTrayAgent(t, "", clock)
	var st protocol.SupportState
	for i := range protocol.MaxSupportState {
		s := protocol.SupportStatus{Ref: fmt.Sprintf("server-ref-%04d", i), OSUser: "anna", State: core.SupportDone, UpdatedAt: clock.now().Add(time.Duration(i) * time.Second)}
		for j := range 2 * maxSupportReplies {
			s.Replies = append(s.Replies, core.SupportReply{ID: int64(j), Author: "Tom", Body: strings.Repeat("<", core.MaxSupportReply)})
		}
		st.Requests = append(st.Requests, s)
	}
	a.support.merge(st, clock.now())
	got := a.support.requests(anna)
	b, _ := json.Marshal(got)
	if len(b) > trayipc.MaxLine || len(got.Requests) == 0 || got.Requests[0].Ref != "server-ref-0049" {
		t.Fatalf("%d bytes, %d requests", len(b), len(got.Requests))
	}
	if rs := got.Requests[0].Replies; len(rs) != maxSupportReplies || rs[0].ID != maxSupportReplies {
		t.Errorf("%d replies kept, the first %d; want the newest %d", len(rs), rs[0].ID, maxSupportReplies)
	}
}

// BenchmarkTrayStatus: one status answer over 50 checks of 4 keys each.
func BenchmarkTrayStatus(b *testing.B) {
	clock := &patchClock{t: time.Now().UTC()}
	var types []string
	var rs []core.Result
	for i := range 50 {
		n := fmt.Sprintf("check%02d", i)
		types = append(types, n)
		for k := range 4 {
			rs = append(rs, result(n, fmt.Sprint(k), core.Status(1+k%3), clock.now()))
		}
	}
	a := newTrayAgent(b, "", clock, types...)
	a.store(rs)
	a.checkStates.acked(resultIDs(rs...))
	for b.Loop() {
		if _, err := a.handleTray(context.Background(), anna, trayipc.OpStatus, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// All users together leave at most maxUnsentTotal requests waiting (a
// terminal server with many users while the server is unreachable).
func TestTraySupportTotalLimit(t *testing.T) {
	clock := &patchClock{t: time.Now().UTC()}
	a := newTrayAgent(t, "", clock)
	for i := range maxUnsentTotal {
		p := trayipc.Peer{UID: fmt.Sprint(2000 + i/maxUnsentPerUser), User: "user"}
		if _, err := call[trayipc.SupportReply](t, a, p, trayipc.OpSupport, trayipc.SupportArgs{Message: "help", Lang: "de"}); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err := call[trayipc.SupportReply](t, a, trayipc.Peer{UID: "3000", User: "new"}, trayipc.OpSupport, trayipc.SupportArgs{Message: "help", Lang: "de"})
	var te *trayipc.Error
	if !errors.As(err, &te) || te.Code != trayipc.CodeBusy || !strings.Contains(te.Message.DE, "Anfragen") {
		t.Errorf("over the total: %v", err)
	}
}

// A check that could not look is never "everything is fine": once the
// server has it, it counts as a problem; before, the state is unknown.
func TestOverallCheckError(t *testing.T) {
	now := time.Now()
	ok := checkState{Check: "disk", Status: core.StatusOK, At: now, Sent: true, Informed: true}
	broken := checkState{Check: "smart", Status: core.StatusError, At: now, Sent: true, Informed: true}
	if w, p, _, names := overall([]checkState{ok, broken}, now); w != trayipc.OverallProblems || p != 1 || !slices.Equal(names, []string{"smart"}) {
		t.Errorf("a check error the server has: %s, %d problems %v", w, p, names)
	}
	broken.Sent, broken.Informed = false, false
	if w, _, _, _ := overall([]checkState{ok, broken}, now); w != trayipc.OverallUnknown {
		t.Errorf("a check error the server lacks: %s", w)
	}
}
