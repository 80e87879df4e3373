package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// scriptTests are the conformance tests of core.ScriptStore.
var scriptTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Scripts", testScripts},
	{"ScriptsConcurrentEdits", testScriptsConcurrentEdits},
	{"BuiltinScripts", testBuiltinScripts},
	{"ScriptJobs", testScriptJobs},
	{"PackageJobs", testPackageJobs},
	{"ScriptRunClaimedOnce", testScriptRunClaimedOnce},
	{"ScriptRunsCancelled", testScriptRunsCancelled},
	{"ScriptRunsInGroups", testScriptRunsInGroups},
}

func testScripts(t *testing.T, s core.Store) {
	sc := core.Script{Name: "Temp leeren", Description: core.Text{EN: "Clean temp", DE: "Temp leeren"}, Language: "bash",
		Body: "rm -rf /tmp/x\n", Params: []core.ScriptParam{{Name: "DAYS", Type: core.ParamNumber, Default: json.RawMessage(`7`)},
			{Name: "TOKEN", Type: core.ParamSecret}}, TimeoutSeconds: 60, RunAs: core.RunAsSystem, OS: []string{"linux", "darwin"},
		UpdatedBy: "user:a@example.de"}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	if sc.ID == 0 || sc.Version != 1 || sc.CreatedAt.IsZero() {
		t.Fatalf("created %+v", sc)
	}
	got, err := s.GetScript(ctx, sc.ID)
	must(t, "GetScript", err)
	if !reflect.DeepEqual(got, sc) {
		t.Errorf("GetScript = %+v\nwant %+v", got, sc)
	}
	dup := core.Script{Name: "Temp leeren", Language: "sh", Body: "x", RunAs: core.RunAsSystem}
	wantErr(t, "CreateScript with a taken name", s.CreateScript(ctx, &dup), core.ErrConflict)

	v2 := sc
	v2.Body, v2.Params, v2.OS, v2.UpdatedBy = "rm -rf /tmp/y\n", nil, nil, "user:b@example.de"
	must(t, "UpdateScript", s.UpdateScript(ctx, &v2))
	if v2.Version != 2 {
		t.Errorf("second version numbered %d", v2.Version)
	}
	got, _ = s.GetScript(ctx, sc.ID)
	if got.Version != 2 || got.Body != v2.Body || len(got.Params) != 0 || got.UpdatedBy != "user:b@example.de" || !got.CreatedAt.Equal(sc.CreatedAt) {
		t.Errorf("after update: %+v", got)
	}
	old, err := s.GetScriptVersion(ctx, sc.ID, 1)
	must(t, "GetScriptVersion", err)
	if old.Body != sc.Body || old.Version != 1 || len(old.Params) != 2 {
		t.Errorf("version 1 = %+v", old)
	}
	vs, err := s.ListScriptVersions(ctx, sc.ID)
	must(t, "ListScriptVersions", err)
	if len(vs) != 2 || vs[0].Version != 2 || vs[1].Version != 1 || vs[1].CreatedBy != "user:a@example.de" {
		t.Errorf("versions %+v", vs)
	}
	other := core.Script{Name: "Andere", Language: "sh", Body: "echo", RunAs: core.RunAsSystem}
	must(t, "CreateScript", s.CreateScript(ctx, &other))
	renamed := other
	renamed.Name = "Temp leeren"
	wantErr(t, "rename to a taken name", s.UpdateScript(ctx, &renamed), core.ErrConflict)
	list, err := s.ListScripts(ctx)
	must(t, "ListScripts", err)
	if len(list) != 2 || list[0].Name != "Andere" || list[1].Version != 2 {
		t.Errorf("list %+v", list)
	}

	must(t, "DeleteScript", s.DeleteScript(ctx, sc.ID))
	wantErr(t, "DeleteScript again", s.DeleteScript(ctx, sc.ID), core.ErrNotFound)
	_, err = s.GetScript(ctx, sc.ID)
	wantErr(t, "GetScript of a deleted script", err, core.ErrNotFound)
	wantErr(t, "UpdateScript of a deleted script", s.UpdateScript(ctx, &v2), core.ErrNotFound)
	if old, err := s.GetScriptVersion(ctx, sc.ID, 2); err != nil || !old.Deleted || old.Body != v2.Body {
		t.Errorf("a deleted script's version: %+v, %v", old, err)
	}
	// The name is free again.
	again := core.Script{Name: "Temp leeren", Language: "sh", Body: "x", RunAs: core.RunAsSystem}
	must(t, "CreateScript with a deleted script's name", s.CreateScript(ctx, &again))
	_, err = s.GetScriptVersion(ctx, sc.ID, 3)
	wantErr(t, "GetScriptVersion of a missing version", err, core.ErrNotFound)
	_, err = s.ListScriptVersions(ctx, 99999)
	wantErr(t, "ListScriptVersions of an unknown script", err, core.ErrNotFound)
}

// testScriptsConcurrentEdits: edits at once get distinct versions.
func testScriptsConcurrentEdits(t *testing.T, s core.Store) {
	sc := core.Script{Name: "parallel", Language: "sh", Body: "echo 0", RunAs: core.RunAsSystem}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			e := sc
			e.Body = "echo " + string(rune('1'+i))
			errs <- s.UpdateScript(ctx, &e)
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		}
	}
	vs, err := s.ListScriptVersions(ctx, sc.ID)
	must(t, "ListScriptVersions", err)
	if len(vs) != ok+1 || vs[0].Version != ok+1 {
		t.Errorf("%d edits succeeded, versions %+v", ok, vs)
	}
}

func testBuiltinScripts(t *testing.T, s core.Store) {
	mine := core.Script{Name: "Flush DNS", Language: "sh", Body: "echo mine", RunAs: core.RunAsSystem}
	must(t, "CreateScript", s.CreateScript(ctx, &mine))
	b := core.Script{Name: "Flush DNS", Builtin: "flush-dns", Language: "sh", Body: "resolvectl flush-caches", RunAs: core.RunAsSystem}
	must(t, "EnsureBuiltinScript", s.EnsureBuiltinScript(ctx, &b))
	if b.ID == 0 || b.Version != 1 || b.Name != "Flush DNS (flush-dns)" {
		t.Errorf("built-in script %+v", b)
	}
	same := core.Script{Name: "Flush DNS", Builtin: "flush-dns", Language: "sh", Body: "resolvectl flush-caches", RunAs: core.RunAsSystem}
	must(t, "EnsureBuiltinScript unchanged", s.EnsureBuiltinScript(ctx, &same))
	if same.ID != b.ID || same.Version != 1 {
		t.Errorf("unchanged built-in script got a new version: %+v", same)
	}
	changed := same
	changed.Name, changed.Body = "Flush DNS", "resolvectl flush-caches || true"
	must(t, "EnsureBuiltinScript changed", s.EnsureBuiltinScript(ctx, &changed))
	if changed.ID != b.ID || changed.Version != 2 {
		t.Errorf("changed built-in script: %+v", changed)
	}
	got, err := s.GetScript(ctx, b.ID)
	if err != nil || got.Builtin != "flush-dns" || got.Body != changed.Body {
		t.Errorf("GetScript = %+v, %v", got, err)
	}
	wantErr(t, "EnsureBuiltinScript without key", s.EnsureBuiltinScript(ctx, &core.Script{Name: "x"}), core.ErrInvalid)
}

func testScriptJobs(t *testing.T, s core.Store) {
	d1, d2 := device(t, s, "sj1"), device(t, s, "sj2")
	sc := core.Script{Name: "job", Language: "sh", Body: "echo", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, Params: map[string]string{"A": "1"}, SecretNames: []string{"PW"},
		Sealed: []byte("sealed"), Target: "devices", CreatedBy: "user:a@example.de", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	runs, err := s.CreateScriptJob(ctx, &j, queuedRuns(d1.ID, d2.ID))
	must(t, "CreateScriptJob", err)
	if j.ID == 0 || len(runs) != 2 || runs[0].ID == runs[1].ID || runs[0].State != core.RunQueued {
		t.Fatalf("job %+v, runs %+v", j, runs)
	}
	got, err := s.GetScriptJob(ctx, j.ID)
	must(t, "GetScriptJob", err)
	want := j
	want.ScriptName = "job"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetScriptJob = %+v\nwant %+v", got, want)
	}
	devs, err := s.QueuedScriptDevices(ctx, t0)
	must(t, "QueuedScriptDevices", err)
	if len(devs) != 2 {
		t.Errorf("queued devices %v", devs)
	}
	r, cj, ok, err := s.ClaimScriptRun(ctx, d1.ID, t0.Add(time.Minute), time.Minute)
	must(t, "ClaimScriptRun", err)
	if !ok || r.ID != runs[0].ID || r.State != core.RunRunning || r.Attempts != 1 || cj.ID != j.ID || string(cj.Sealed) != "sealed" || r.DeviceID != d1.ID || string(r.MAC) != "\x00" {
		t.Fatalf("claimed %+v (job %+v, %v)", r, cj, ok)
	}
	if _, _, ok, _ := s.ClaimScriptRun(ctx, d1.ID, t0.Add(time.Minute), time.Minute); ok {
		t.Error("a second run claimed for a device with one")
	}
	// Not finished by its deadline (60 s + 1 min margin): requeued.
	if e, rq, err := s.SweepScriptRuns(ctx, t0.Add(2*time.Minute)); err != nil || e != 0 || rq != 0 {
		t.Errorf("sweep before the deadline: %d %d %v", e, rq, err)
	}
	if e, rq, err := s.SweepScriptRuns(ctx, t0.Add(4*time.Minute)); err != nil || e != 0 || rq != 1 {
		t.Errorf("sweep after the deadline: %d %d %v", e, rq, err)
	}
	r, _, ok, _ = s.ClaimScriptRun(ctx, d1.ID, t0.Add(5*time.Minute), time.Minute)
	if !ok || r.Attempts != 2 {
		t.Fatalf("claimed again: %+v %v", r, ok)
	}
	must(t, "RequeueScriptRun", s.RequeueScriptRun(ctx, r.ID))
	r, _, _, _ = s.ClaimScriptRun(ctx, d1.ID, t0.Add(6*time.Minute), time.Minute)
	exit := 3
	fin := t0.Add(7 * time.Minute)
	r.State, r.ExitCode, r.Stdout, r.Stderr, r.Truncated, r.DurationMS, r.FinishedAt = core.RunFailed, &exit, "aus", "fehler", true, 1234, &fin
	must(t, "FinishScriptRun", s.FinishScriptRun(ctx, r))
	wantErr(t, "FinishScriptRun twice", s.FinishScriptRun(ctx, r), core.ErrConflict)
	list, err := s.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: j.ID})
	must(t, "ListScriptRuns", err)
	if len(list) != 2 || list[0].State != core.RunFailed || *list[0].ExitCode != 3 || list[0].Stdout != "aus" || !list[0].Truncated ||
		list[0].DurationMS != 1234 || !list[0].FinishedAt.Equal(fin) || list[1].State != core.RunQueued || list[1].ExitCode != nil {
		t.Errorf("runs %+v", list)
	}
	mine, err := s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d2.ID, Limit: 5})
	must(t, "ListScriptRuns by device", err)
	if len(mine) != 1 || mine[0].DeviceID != d2.ID || mine[0].ScriptName != "job" {
		t.Errorf("device runs %+v", mine)
	}
	// d2's run expires with its job.
	if e, _, err := s.SweepScriptRuns(ctx, t0.Add(25*time.Hour)); err != nil || e != 1 {
		t.Errorf("expiry: %d %v", e, err)
	}
	if _, _, ok, _ := s.ClaimScriptRun(ctx, d2.ID, t0.Add(25*time.Hour), time.Minute); ok {
		t.Error("an expired run was claimed")
	}
	// Deleting a script cancels its queued runs.
	j2 := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.CreateScriptJob(ctx, &j2, queuedRuns(d2.ID)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CancelScriptRuns(ctx, sc.ID, t0); err != nil || n != 1 {
		t.Errorf("cancel: %d %v", n, err)
	}
	if list, _ := s.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: j2.ID}); len(list) != 1 || list[0].State != core.RunCancelled || list[0].Error.DE == "" {
		t.Errorf("cancelled runs %+v", list)
	}
	_, err = s.ListScriptRuns(ctx, core.ScriptRunFilter{})
	wantErr(t, "ListScriptRuns without filter", err, core.ErrInvalid)
	jobs, counts, err := s.ListScriptJobs(ctx, 1)
	must(t, "ListScriptJobs", err)
	if len(jobs) != 1 || jobs[0].ID != j2.ID || jobs[0].ScriptName != "job" ||
		!reflect.DeepEqual(counts, []core.ScriptRunCount{{JobID: j2.ID, ClientID: d2.ClientID, State: core.RunCancelled, Runs: 1}}) {
		t.Errorf("ListScriptJobs(1) = %+v, %+v", jobs, counts)
	}
	if jobs, counts, err = s.ListScriptJobs(ctx, 10); err != nil || len(jobs) != 2 || jobs[1].ID != j.ID || len(counts) != 3 {
		t.Errorf("ListScriptJobs(10) = %+v, %+v, %v", jobs, counts, err)
	}
}

// testPackageJobs: a package job keeps its package, bound MAC and
// timeout (its runs' deadline); a run keeps the package outcome; a retried
// run waits until its time; deleting the package cancels what waits.
func testPackageJobs(t *testing.T, s core.Store) {
	d1, d2 := device(t, s, "pj1"), device(t, s, "pj2")
	j := core.ScriptJob{Action: "package_install", PackageID: 77, PackageName: "Agent", PackageVersion: "1.2", PackageMAC: []byte("pmac"),
		TimeoutSeconds: 60, Target: "devices", CreatedBy: "user:a@example.de", CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
	runs, err := s.CreateScriptJob(ctx, &j, queuedRuns(d1.ID, d2.ID))
	must(t, "CreateScriptJob", err)
	if len(runs) != 2 || runs[0].PackageName != "Agent" || runs[0].Action != "package_install" {
		t.Fatalf("runs %+v", runs)
	}
	got, err := s.GetScriptJob(ctx, j.ID)
	must(t, "GetScriptJob", err)
	j.Params, j.SecretNames = map[string]string{}, []string{}
	if !reflect.DeepEqual(got, j) || !got.IsPackage() {
		t.Errorf("GetScriptJob = %+v\nwant %+v", got, j)
	}
	r, cj, ok, err := s.ClaimScriptRun(ctx, d1.ID, t0.Add(time.Minute), time.Minute)
	must(t, "ClaimScriptRun", err)
	if !ok || r.PackageID != 77 || r.PackageVersion != "1.2" || string(cj.PackageMAC) != "pmac" || r.Retries != 0 {
		t.Fatalf("claimed %+v (job %+v)", r, cj)
	}
	// The deadline is the job's timeout (60 s) + the margin.
	if _, rq, err := s.SweepScriptRuns(ctx, t0.Add(2*time.Minute)); err != nil || rq != 0 {
		t.Errorf("sweep before the deadline: %d %v", rq, err)
	}
	if _, rq, err := s.SweepScriptRuns(ctx, t0.Add(4*time.Minute)); err != nil || rq != 1 {
		t.Errorf("sweep after the deadline: %d %v", rq, err)
	}
	// Another installation runs: back to the queue until t0+10m.
	r, _, _, _ = s.ClaimScriptRun(ctx, d1.ID, t0.Add(5*time.Minute), time.Minute)
	exit := 1618
	r.ExitCode, r.Meaning, r.ErrorCode, r.Error = &exit, core.ExitRetry, "busy", core.Text{EN: "busy", DE: "beschäftigt"}
	must(t, "RetryScriptRun", s.RetryScriptRun(ctx, r, t0.Add(10*time.Minute)))
	if devs, _ := s.QueuedScriptDevices(ctx, t0.Add(9*time.Minute)); slices.Contains(devs, d1.ID) {
		t.Errorf("a run waiting for its retry listed as due: %v", devs)
	}
	if _, _, ok, _ := s.ClaimScriptRun(ctx, d1.ID, t0.Add(9*time.Minute), time.Minute); ok {
		t.Error("a run claimed before its retry time")
	}
	list, _ := s.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: j.ID})
	if list[0].State != core.RunQueued || list[0].Meaning != core.ExitRetry || list[0].NotBefore == nil ||
		!list[0].NotBefore.Equal(t0.Add(10*time.Minute)) || list[0].Retries != 1 || list[0].Error.DE != "beschäftigt" {
		t.Errorf("waiting run %+v", list[0])
	}
	r, _, ok, _ = s.ClaimScriptRun(ctx, d1.ID, t0.Add(10*time.Minute), time.Minute)
	if !ok || r.Retries != 1 || r.Attempts != 3 {
		t.Fatalf("claimed at its retry time: %+v %v", r, ok)
	}
	exit = 3010
	fin := t0.Add(11 * time.Minute)
	r.State, r.ExitCode, r.Meaning, r.RebootNeeded, r.SWState, r.SWVersion, r.FinishedAt = core.RunDone, &exit, core.ExitReboot, true, "installed", "1.2.3", &fin
	must(t, "FinishScriptRun", s.FinishScriptRun(ctx, r))
	list, _ = s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d1.ID})
	if len(list) != 1 || list[0].State != core.RunDone || !list[0].RebootNeeded || list[0].SWState != "installed" || list[0].SWVersion != "1.2.3" ||
		list[0].Meaning != core.ExitReboot || list[0].PackageName != "Agent" || list[0].ScriptID != 0 {
		t.Errorf("device runs %+v", list)
	}
	// Deleting the package cancels d2's waiting run, not script runs.
	if n, err := s.QueuedPackageRuns(ctx, 77); err != nil || n != 1 {
		t.Errorf("QueuedPackageRuns = %d, %v; want 1", n, err)
	}
	if n, err := s.CancelPackageRuns(ctx, 78, t0); err != nil || n != 0 {
		t.Errorf("cancel another package: %d %v", n, err)
	}
	if n, err := s.CancelPackageRuns(ctx, 77, t0); err != nil || n != 1 {
		t.Errorf("cancel: %d %v", n, err)
	}
	if list, _ := s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d2.ID}); len(list) != 1 || list[0].State != core.RunCancelled || list[0].Error.DE == "" {
		t.Errorf("cancelled runs %+v", list)
	}
	if n, err := s.QueuedPackageRuns(ctx, 77); err != nil || n != 0 {
		t.Errorf("QueuedPackageRuns after cancelling = %d, %v", n, err)
	}
	if jobs, _, err := s.ListScriptJobs(ctx, 1); err != nil || len(jobs) != 1 || jobs[0].PackageName != "Agent" || jobs[0].ScriptName != "" {
		t.Errorf("ListScriptJobs = %+v, %v", jobs, err)
	}
}

// testScriptRunClaimedOnce: claimers racing for one device's runs each
// get distinct runs, every run exactly once.
func testScriptRunClaimedOnce(t *testing.T, s core.Store) {
	d := device(t, s, "race")
	sc := core.Script{Name: "race", Language: "sh", Body: "echo", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	const jobs = 5
	for range jobs {
		j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if _, err := s.CreateScriptJob(ctx, &j, queuedRuns(d.ID)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				r, _, ok, err := s.ClaimScriptRun(ctx, d.ID, t0, time.Minute)
				if err != nil || !ok {
					return
				}
				mu.Lock()
				claimed[r.ID]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != jobs {
		t.Errorf("%d runs claimed, want %d", len(claimed), jobs)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("run %s claimed %d times", id, n)
		}
	}
}

// testScriptRunsCancelled: queued runs are cancelled, with the reason,
// when their script is deleted (jobs of every version), when a user
// cancels their job (only on the devices of the user's clients), and when
// their device is retired, also with its client; running runs finish.
func testScriptRunsCancelled(t *testing.T, s core.Store) {
	d1, d2, d3 := device(t, s, "cx1"), device(t, s, "cx2"), device(t, s, "cx3")
	client := func(d core.Device) int64 {
		t.Helper()
		got, err := s.GetDevice(ctx, d.ID)
		must(t, "GetDevice", err)
		return got.ClientID
	}
	sc := core.Script{Name: "cancel", Language: "sh", Body: "echo 1", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	job := func(version int, devices ...int64) core.ScriptJob {
		t.Helper()
		j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: version, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		_, err := s.CreateScriptJob(ctx, &j, queuedRuns(devices...))
		must(t, "CreateScriptJob", err)
		return j
	}
	states := func(j core.ScriptJob) map[int64]string {
		t.Helper()
		list, err := s.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: j.ID})
		must(t, "ListScriptRuns", err)
		m := map[int64]string{}
		for _, r := range list {
			m[r.DeviceID] = r.State
			if r.State == core.RunCancelled && (r.ErrorCode != "cancelled" || r.Error.EN == "" || r.Error.DE == "" || r.FinishedAt == nil) {
				t.Errorf("cancelled run without its reason: %+v", r)
			}
		}
		return m
	}

	// A user cancels: only on the devices of the clients in scope, and
	// not what already runs.
	j := job(1, d1.ID, d2.ID, d3.ID)
	if _, _, ok, err := s.ClaimScriptRun(ctx, d3.ID, t0, time.Minute); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	why := core.Text{EN: "Cancelled by a@example.de.", DE: "Abgebrochen von a@example.de."}
	if n, err := s.CancelJobRuns(ctx, j.ID, core.Only(), why, t0); err != nil || n != 0 {
		t.Errorf("cancel with an empty scope: %d %v", n, err)
	}
	if n, err := s.CancelJobRuns(ctx, j.ID, core.Only(client(d1), client(d3)), why, t0); err != nil || n != 1 {
		t.Errorf("cancel in scope: %d %v", n, err)
	}
	if got := states(j); got[d1.ID] != core.RunCancelled || got[d2.ID] != core.RunQueued || got[d3.ID] != core.RunRunning {
		t.Errorf("after cancelling in scope: %v", got)
	}
	if n, err := s.CancelJobRuns(ctx, j.ID, core.AllClients, why, t0); err != nil || n != 1 {
		t.Errorf("cancel all: %d %v", n, err)
	}
	if got := states(j); got[d2.ID] != core.RunCancelled || got[d3.ID] != core.RunRunning {
		t.Errorf("after cancelling: %v", got)
	}
	list, _ := s.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: j.ID})
	for _, r := range list {
		if r.DeviceID == d1.ID && r.Error != why {
			t.Errorf("reason %+v, want %+v", r.Error, why)
		}
	}

	// Deleting the script cancels the queued runs of every version's jobs.
	v2 := sc
	v2.Body = "echo 2"
	must(t, "UpdateScript", s.UpdateScript(ctx, &v2))
	j1, j2 := job(1, d1.ID), job(2, d1.ID, d2.ID)
	if n, err := s.CancelScriptRuns(ctx, sc.ID, t0); err != nil || n != 3 {
		t.Errorf("cancel the script's runs: %d %v", n, err)
	}
	if a, b := states(j1), states(j2); a[d1.ID] != core.RunCancelled || b[d1.ID] != core.RunCancelled || b[d2.ID] != core.RunCancelled {
		t.Errorf("after deleting the script: %v %v", a, b)
	}

	// Retiring a device cancels its queued runs and leaves the others.
	j3 := job(2, d1.ID, d2.ID)
	must(t, "RetireDevice", s.RetireDevice(ctx, d1.ID, t0))
	if got := states(j3); got[d1.ID] != core.RunCancelled || got[d2.ID] != core.RunQueued {
		t.Errorf("after retiring d1: %v", got)
	}
	list, _ = s.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: j3.ID})
	if list[0].DeviceID != d1.ID || !strings.Contains(list[0].Error.EN, "retired") {
		t.Errorf("retired device's run: %+v", list[0])
	}
	wantErr(t, "RetireDevice of an unknown device", s.RetireDevice(ctx, 99999, t0), core.ErrNotFound)
	// So does deleting its client, which retires its devices.
	if n, err := s.DeleteClient(ctx, client(d2), true, t0); err != nil || n != 1 {
		t.Fatalf("DeleteClient: %d %v", n, err)
	}
	if got := states(j3); got[d2.ID] != core.RunCancelled {
		t.Errorf("after deleting d2's client: %v", got)
	}
	if devs, _ := s.QueuedScriptDevices(ctx, t0); len(devs) != 0 {
		t.Errorf("devices with queued runs left: %v", devs)
	}
}

// testScriptRunsInGroups: dispatchers claiming for many devices at once
// (ClaimScriptRuns, as a node's dispatcher does) and racing each other get
// at most one run per device per claim, each device's oldest first, every
// run exactly once; FinishScriptRuns stores outcomes together and names
// the runs that were no longer running.
func testScriptRunsInGroups(t *testing.T, s core.Store) {
	var ids []int64
	for i := range 4 {
		ids = append(ids, device(t, s, fmt.Sprintf("group-%d", i)).ID)
	}
	sc := core.Script{Name: "group", Language: "sh", Body: "echo", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	const jobs = 3
	var jobIDs []int64
	for i := range jobs {
		j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, CreatedAt: t0.Add(time.Duration(i) * time.Second), ExpiresAt: t0.Add(time.Hour)}
		if _, err := s.CreateScriptJob(ctx, &j, queuedRuns(ids...)); err != nil {
			t.Fatal(err)
		}
		jobIDs = append(jobIDs, j.ID)
	}
	var mu sync.Mutex
	claimed := map[string]int{}
	var all []core.ScriptRun
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				c, err := s.ClaimScriptRuns(ctx, ids, t0.Add(time.Minute), time.Minute)
				runs, js := c.Runs, c.Jobs
				if err != nil || len(runs) == 0 {
					if err != nil && !errors.Is(err, core.ErrConflict) {
						t.Error(err)
					}
					return
				}
				seen := map[int64]bool{}
				mu.Lock()
				for _, r := range runs {
					if seen[r.DeviceID] {
						t.Errorf("two runs of device %d in one claim", r.DeviceID)
					}
					seen[r.DeviceID] = true
					if js[r.JobID].ID != r.JobID || r.State != core.RunRunning {
						t.Errorf("run %s: job %+v, state %s", r.ID, js[r.JobID], r.State)
					}
					claimed[r.ID]++
					all = append(all, r)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(claimed) != jobs*len(ids) {
		t.Errorf("%d runs claimed, want %d", len(claimed), jobs*len(ids))
	}
	for id, n := range claimed {
		if n != 1 {
			t.Errorf("run %s claimed %d times", id, n)
		}
	}
	// A single claimer takes each device's oldest job first.
	j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.CreateScriptJob(ctx, &j, queuedRuns(ids[0])); err != nil {
		t.Fatal(err)
	}
	j2 := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, CreatedAt: t0.Add(2 * time.Minute), ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.CreateScriptJob(ctx, &j2, queuedRuns(ids[0])); err != nil {
		t.Fatal(err)
	}
	c, err := s.ClaimScriptRuns(ctx, ids, t0.Add(3*time.Minute), time.Minute)
	runs := c.Runs
	if err != nil || len(runs) != 1 || runs[0].JobID != j.ID || !c.More[ids[0]] {
		t.Fatalf("claim after two more jobs on one device: %+v, %v; want one run of job %d and more", c, err, j.ID)
	}
	if c2, err := s.ClaimScriptRuns(ctx, ids, t0.Add(3*time.Minute), time.Minute); err != nil || len(c2.Runs) != 1 || c2.Runs[0].JobID != j2.ID || c2.More[ids[0]] {
		t.Fatalf("claim of the last queued run: %+v, %v; want job %d and no more", c2, err, j2.ID)
	}

	exit := 0
	done := t0.Add(time.Hour)
	for i := range all {
		all[i].State, all[i].ExitCode, all[i].Stdout, all[i].FinishedAt = core.RunDone, &exit, "ok "+all[i].ID, &done
	}
	conflicts, err := s.FinishScriptRuns(ctx, all)
	if err != nil || len(conflicts) != 0 {
		t.Fatalf("FinishScriptRuns: conflicts %v, %v", conflicts, err)
	}
	conflicts, err = s.FinishScriptRuns(ctx, append(all[:1:1], runs[0]))
	if err != nil || !slices.Equal(conflicts, []string{all[0].ID}) {
		t.Fatalf("finishing a finished run again: conflicts %v, %v; want [%s]", conflicts, err, all[0].ID)
	}
	for _, id := range jobIDs {
		rs, err := s.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: id})
		must(t, "ListScriptRuns", err)
		for _, r := range rs {
			if r.State != core.RunDone || r.Stdout != "ok "+r.ID {
				t.Errorf("run %s of job %d: %s %q", r.ID, id, r.State, r.Stdout)
			}
		}
	}
}

// queuedRuns are new runs for the devices, IDs left to the store.
func queuedRuns(devices ...int64) []core.ScriptRun {
	rs := make([]core.ScriptRun, len(devices))
	for i, d := range devices {
		rs[i] = core.ScriptRun{DeviceID: d, MAC: []byte{byte(i)}}
	}
	return rs
}
