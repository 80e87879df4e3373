package agent

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestSoftwareBackoffSteps: 15 min after the first failed attempt, then
// 30, 1 h, 2 h, … and never more than 24 h.
func TestSoftwareBackoffSteps(t *testing.T) {
	want := []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 16 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		if got := backoff(i+1, swBackoff, swBackoffMax); got != w {
			t.Errorf("after %d failures: %v, want %v", i+1, got, w)
		}
	}
	if got := backoff(1000, swBackoff, swBackoffMax); got != swBackoffMax {
		t.Errorf("after 1000 failures: %v", got)
	}
}

// TestSoftwareStateRecords: failures back off and survive a restart (a
// new swState on the same file), "busy" waits without growing the
// back-off, a new download ticket keeps the record, a changed definition
// starts afresh, and each attempt gets its own run ID.
func TestSoftwareStateRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), SoftwareFile)
	log := slog.New(slog.DiscardHandler)
	e := protocol.Software{Check: "software-1", State: core.SoftwarePresent, Package: protocol.PackageArgs{Name: "7-Zip", Version: "24.09",
		File: &protocol.PackageFile{SHA256: "ab", Ticket: "t1"}}}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := newSwState(path, log)
	id1 := s.begin(e, t0)
	id2 := s.begin(e, t0) // the same second: a later run ID
	if id1 == id2 || s.pending()["software-1"] != id2 {
		t.Fatalf("run IDs %s %s, pending %v", id1, id2, s.pending())
	}
	why := core.Text{EN: "exit 1603", DE: "Exitcode 1603"}
	s.end(e, swFailed, why, t0, time.Time{}, swBackoff, swRetry)
	r := s.end(e, swFailed, why, t0, time.Time{}, swBackoff, swRetry)
	if r.Failures != 2 || !r.NextAttempt.Equal(t0.Add(30*time.Minute)) || r.Pending != "" || r.Why == nil || r.Why.DE != "Exitcode 1603" {
		t.Fatalf("after two failures: %+v", r)
	}

	s = newSwState(path, log) // restarted
	e.Package.File = &protocol.PackageFile{SHA256: "ab", Ticket: "t2"}
	if r := s.get(e); r.Failures != 2 {
		t.Fatalf("a restart or a new ticket reset the back-off: %+v", r)
	}
	r = s.end(e, swBusy, why, t0, time.Time{}, swBackoff, swRetry)
	if r.Failures != 2 || !r.NextAttempt.Equal(t0.Add(swRetry)) {
		t.Errorf("busy: %+v", r)
	}
	e.Package.Version = "24.10"
	if r := s.get(e); r.Failures != 0 || !r.NextAttempt.IsZero() || r.LastRun.IsZero() {
		t.Errorf("a changed entry kept its back-off or lost its last run: %+v", r)
	}
	if id3 := s.begin(e, t0); id3 == id1 || id3 == id2 {
		t.Errorf("a changed entry reused run ID %s", id3)
	}
	s.end(e, swFailed, why, t0, time.Time{}, swBackoff, swRetry)
	if r := s.end(e, swDone, core.Text{}, t0, time.Time{}, swBackoff, swRetry); r.Failures != 0 || !r.NextAttempt.IsZero() || r.Why != nil {
		t.Errorf("in state: %+v", r)
	}
	s.forget(nil)
	if s = newSwState(path, log); len(s.recs) != 0 {
		t.Errorf("records of entries gone from the policy: %v", s.recs)
	}
}

// TestSoftwareRestartDone: an install that asked for a restart before the
// host last booted is ok again, and its restart is forgotten.
func TestSoftwareRestartDone(t *testing.T) {
	a := &Agent{software: newSwState("", slog.New(slog.DiscardHandler))}
	e := protocol.Software{Check: "software-1", State: core.SoftwarePresent}
	rec := a.software.end(e, swDone, core.Text{}, time.Now(), time.Unix(1, 0), swBackoff, swRetry)
	if r := a.inState(e, rec, "7-Zip", "24.09"); r.Status != core.StatusOK || r.Message.EN != "7-Zip 24.09 installed" || r.Message.DE != "7-Zip 24.09 installiert" {
		t.Errorf("restarted since: %v %q", r.Status, r.Message.EN)
	}
	if r := a.software.get(e); !r.Reboot.IsZero() {
		t.Errorf("the restart is still pending: %+v", r)
	}
	rec = a.software.end(e, swDone, core.Text{}, time.Now(), time.Now(), swBackoff, swRetry)
	if r := a.inState(e, rec, "7-Zip", "24.09"); r.Status != core.StatusWarning {
		t.Errorf("not restarted since: %v %q", r.Status, r.Message.EN)
	}
}

// TestSoftwareRecover settles the attempts in flight when the agent
// stopped from the journal: started and not finished is a failed
// (interrupted) attempt, finished is its recorded result, never started
// and gone from the policy are nothing.
func TestSoftwareRecover(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	entry := func(id int64) protocol.Software {
		return protocol.Software{Check: core.SoftwareCheckName(id), State: core.SoftwarePresent, Package: protocol.PackageArgs{Name: "P"}}
	}
	started, done, never, gone := entry(1), entry(2), entry(3), entry(4)
	st := newSwState(softwarePath(dir), log)
	t0 := time.Now()
	ids := map[string]string{}
	for _, e := range []protocol.Software{started, done, never, gone} {
		ids[e.Check] = st.begin(e, t0)
	}
	a := &Agent{opts: Options{DataDir: dir, Now: time.Now, SoftwareBackoff: swBackoff, SoftwareRetry: swRetry}, log: log,
		plan:     &planHolder{changed: make(chan struct{}, 1), tasksChanged: make(chan struct{}, 1), softwareChanged: make(chan struct{}, 1)},
		software: newSwState(softwarePath(dir), log)}
	a.plan.set(nil, nil, []protocol.Software{started, done, never}, "r", t0)
	for _, e := range []protocol.Software{started, done, gone} {
		if _, err := a.scripts().claim(ids[e.Check]); err != nil {
			t.Fatal(err)
		}
	}
	a.scripts().finish(ids[done.Check], protocol.ActionInstall, protocol.PackageResult{Meaning: core.ExitOK})
	a.recoverSoftware()
	if r := a.software.get(started); r.Failures != 1 || r.Pending != "" || r.Why == nil || !strings.Contains(r.Why.EN, "interrupted") {
		t.Errorf("started: %+v", r)
	}
	for _, e := range []protocol.Software{done, never} {
		if r := a.software.get(e); r.Failures != 0 || r.Pending != "" || !r.NextAttempt.IsZero() {
			t.Errorf("%s: %+v", e.Check, r)
		}
	}
	if p := a.software.pending(); len(p) != 0 {
		t.Errorf("still pending: %v", p)
	}
}
