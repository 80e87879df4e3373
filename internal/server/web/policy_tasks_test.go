package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestPolicyTaskEditor: a task is added in two steps (script, then its
// parameters by type), its secret is a password field that is never
// filled, and the device's effective policy lists it with its source; in
// German too.
func TestPolicyTaskEditor(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sc := core.Script{Name: "Spooler neu starten", Language: "sh", Body: "echo ok\n", TimeoutSeconds: 30, RunAs: core.RunAsSystem,
		Params: []core.ScriptParam{{Name: "MODE", Type: core.ParamChoice, Choices: []string{"sanft", "hart"}, Required: true},
			{Name: "FORCE", Type: core.ParamBool}, {Name: "PW", Type: core.ParamSecret}}}
	if err := f.st.CreateScript(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	if p := b.do("GET", "/policies/new", nil); !strings.Contains(p.body, `id="policy-tasks"`) || !strings.Contains(p.body, "Spooler neu starten") {
		t.Fatalf("the new policy form has no task rows with the library: %s", p.body)
	}

	// Step one: the script without its required parameter.
	form := url.Values{"csrf": {csrf}, "name": {"Drucker"}, "rows": {"1"}, "c0.name": {"services"}, "c0.type": {"services"}, "c0.class": {"24x7"},
		"trows": {"1"}, "t0.name": {"restart-spooler"}, "t0.script": {strconv.FormatInt(sc.ID, 10)}, "t0.kind": {"fix"}, "t0.fix": {"services"}, "t0.max": {"2"}}
	p := b.do("POST", "/policies", form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="task-0-error">tasks[0].params.MODE: is required`) ||
		!strings.Contains(p.body, `name="t0.p.MODE"`) || !strings.Contains(p.body, `type="password" name="t0.p.PW"`) ||
		!strings.Contains(p.body, `<option value="true"`) {
		t.Fatalf("step one: %d %s", p.status, p.body)
	}
	// Step two: the parameters; saved.
	form.Set("t0.p.MODE", "hart")
	form.Set("t0.p.PW", "geheim-4711")
	form.Set("t0.p.FORCE", "true")
	if p := b.do("POST", "/policies", form); p.status != http.StatusSeeOther {
		t.Fatalf("valid task: %d %s", p.status, p.body)
	}
	ps, _ := f.st.ListPolicies(ctx)
	var pol core.Policy
	for _, q := range ps {
		if q.Name == "Drucker" {
			pol = q
		}
	}
	if len(pol.Tasks) != 1 || pol.Tasks[0].Secrets["PW"] != "geheim-4711" || pol.Tasks[0].Params["MODE"] != "hart" || pol.Tasks[0].MaxPerDay != 2 {
		t.Fatalf("stored tasks: %+v", pol.Tasks)
	}
	page := b.do("GET", "/policies/"+strconv.FormatInt(pol.ID, 10), nil)
	if strings.Contains(page.body, "geheim-4711") || !strings.Contains(page.body, "stored – leave empty to keep") {
		t.Errorf("the edit page shows the secret or not that one is stored")
	}

	// Assigned, the device shows the task with its source.
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10) + "/policies"
	p = b.do("POST", dev, url.Values{"csrf": {csrf}, "policy": {strconv.FormatInt(pol.ID, 10)}})
	for _, want := range []string{`id="effective-tasks"`, "restart-spooler", "Spooler neu starten", "only as a fix", "Device: Drucker", "sent to the agent"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("device policy page lacks %q", want)
		}
	}
	// The task's entry changed in the database: shown as not sent, why.
	db := f.st.SQL()
	var raw string
	if err := db.QueryRowContext(ctx, `SELECT tasks FROM policies WHERE id = $1`, pol.ID).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var list []map[string]any
	_ = json.Unmarshal([]byte(raw), &list)
	list[0]["max_per_day"] = 24
	changed, _ := json.Marshal(list)
	if _, err := db.ExecContext(ctx, `UPDATE policies SET tasks = $1 WHERE id = $2`, string(changed), pol.ID); err != nil {
		t.Fatal(err)
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	if p := de.do("GET", "/devices/"+strconv.FormatInt(f.device.ID, 10)+"/effective", nil); !strings.Contains(p.body, "nicht gesendet: dieser Eintrag trägt nicht die Authentifizierung des Servers") ||
		!strings.Contains(p.body, "Automatische Aufgaben") {
		t.Errorf("German effective fragment: %s", p.body)
	}
}

// TestOutageShowsItsFix: an outage lists the automatic fix of its check,
// in the server's zone and the user's language.
func TestOutageShowsItsFix(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	one := 1
	data, err := protocol.EncodeTaskRun(protocol.TaskRun{RunID: "t-fix-spooler-1", ScriptID: 1, ScriptVersion: 1, Trigger: protocol.TriggerFix,
		StartedAt: now.Add(-time.Minute), ExitCode: &one, FixCheck: "services", FixStatus: core.StatusFailure})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SaveResults(ctx, f.device.ID, []core.Result{{ID: "r1", Check: "spooler", Key: protocol.TaskResultKey, At: now, Data: data}}); err != nil {
		t.Fatal(err)
	}
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{{Ref: "svc", DeviceID: f.device.ID, Kind: core.OutageCheck,
		CheckName: "services", Severity: core.AlertFailure, OpenedAt: now.Add(-2 * time.Minute)}}}); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "de")
	b.login("admin@example.com", testPassword)
	if p := b.do("GET", "/alerts", nil); !strings.Contains(p.body, `<span class="outage-fix">Behebung fehlgeschlagen: Exit-Code 1 (spooler)</span>`) {
		t.Errorf("the outage does not show its fix:\n%s", p.body)
	}
}
