package api_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestPolicyTasksAPI: a policy's tasks over the API: a secret parameter is
// accepted but never returned, a script that a policy runs is not deleted
// without force, and then the task shows as broken in the effective policy.
func TestPolicyTasksAPI(t *testing.T) {
	f := newPolicyFixture(t)
	var sc service.ScriptView
	if st, body := f.send(t, "POST", "/api/v1/scripts", "admin", json.RawMessage(`{"name":"Spooler","language":"sh","body":"echo ok",
		"params":[{"name":"MODE","type":"text"},{"name":"PW","type":"secret"}]}`), &sc); st != http.StatusCreated {
		t.Fatalf("script: %d %s", st, body)
	}
	id := strconv.FormatInt(sc.ID, 10)
	var p core.Policy
	st, body := f.send(t, "POST", "/api/v1/policies", "admin", json.RawMessage(`{"name":"Drucker","checks":[{"name":"services","type":"services"}],
		"tasks":[{"name":"restart","script_id":`+id+`,"params":{"MODE":"hart","PW":"geheim-4711"},"schedule":{"kind":"fix"},"fix_check":"services"}]}`), &p)
	if st != http.StatusCreated || strings.Contains(body, "geheim-4711") || len(p.Tasks) != 1 || p.Tasks[0].Params["MODE"] != "hart" {
		t.Fatalf("create: %d %s", st, body)
	}
	if st, body := f.send(t, "GET", "/api/v1/policies/"+strconv.FormatInt(p.ID, 10), "readonly", nil, nil); st != http.StatusOK || strings.Contains(body, "geheim-4711") {
		t.Errorf("get: %d %s", st, body)
	}
	st, body = f.send(t, "POST", "/api/v1/policies", "admin", json.RawMessage(`{"name":"Falsch",
		"tasks":[{"name":"restart","script_id":`+id+`,"params":{"NOPE":"1"},"schedule":{"kind":"interval","every_minutes":2}}]}`), nil)
	if st != http.StatusBadRequest || !strings.Contains(fieldErrors(t, body), "tasks[0].schedule.every_minutes") {
		t.Errorf("invalid task: %d %s", st, body)
	}
	if st, body := f.send(t, "PUT", "/api/v1/default/policies", "admin", map[string]any{"policy_ids": []int64{p.ID}}, nil); st != http.StatusOK {
		t.Fatalf("assign: %d %s", st, body)
	}

	// Editing the script pushes the policies (a new revision with the body).
	before := f.push.pushes.Load()
	if st, body := f.send(t, "PUT", "/api/v1/scripts/"+id, "admin", json.RawMessage(`{"name":"Spooler","language":"sh","body":"echo neu",
		"params":[{"name":"MODE","type":"text"},{"name":"PW","type":"secret"}]}`), nil); st != http.StatusOK {
		t.Fatalf("edit script: %d %s", st, body)
	}
	if f.push.pushes.Load() != before+1 {
		t.Errorf("an edit of a script that a policy runs pushed %d times", f.push.pushes.Load()-before)
	}
	if st, body := f.send(t, "DELETE", "/api/v1/scripts/"+id, "admin", nil, nil); st != http.StatusConflict ||
		!strings.Contains(body, `"in_use"`) || !strings.Contains(body, `Richtlinien \"Drucker\"`) {
		t.Fatalf("deleting a script in use: %d %s", st, body)
	}
	if st, body := f.send(t, "DELETE", "/api/v1/scripts/"+id+"?force=1", "admin", nil, nil); st != http.StatusNoContent {
		t.Fatalf("forced delete: %d %s", st, body)
	}
	var eff service.EffectivePolicy
	if st, body := f.send(t, "GET", "/api/v1/devices/"+strconv.FormatInt(f.device.ID, 10)+"/effective-policy", "admin", nil, &eff); st != http.StatusOK ||
		len(eff.Tasks) != 1 || eff.Tasks[0].Broken == nil || !strings.Contains(eff.Tasks[0].Broken.EN, "script") {
		t.Errorf("effective policy: %d %s", st, body)
	}
}
