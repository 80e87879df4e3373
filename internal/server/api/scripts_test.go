package api_test

import (
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

func TestScriptsAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			var list []core.Script
			if st := f.sendJSON(t, "GET", "/api/v1/scripts", "readonly", "", &list); st != 200 || len(list) != len(service.BuiltinScripts()) {
				t.Fatalf("list: %d, %d scripts", st, len(list))
			}
			builtin := list[0]
			body := `{"name":"Aufräumen","description":{"en":"Clean up","de":"Aufräumen"},"language":"bash","body":"echo \"$DAYS\"",
				"params":[{"name":"DAYS","type":"number","default":7},{"name":"TOKEN","type":"secret"}],"os":["linux"]}`
			if st := f.sendJSON(t, "POST", "/api/v1/scripts", "readonly", body, nil); st != 403 {
				t.Errorf("readonly create: %d", st)
			}
			var v service.ScriptView
			if st := f.sendJSON(t, "POST", "/api/v1/scripts", "tech", body, &v); st != 201 || v.ID == 0 || v.Version != 1 || len(v.Params) != 2 || v.TimeoutSeconds != 300 {
				t.Fatalf("create: %d %+v", st, v)
			}
			id := itoa(v.ID)
			if st := f.sendJSON(t, "PUT", "/api/v1/scripts/"+id, "admin", strings.Replace(body, `echo`, `printf '%s\n'`, 1), &v); st != 200 || v.Version != 2 || len(v.Versions) != 2 {
				t.Fatalf("update: %d %+v", st, v)
			}
			var old service.ScriptView
			if st := f.sendJSON(t, "GET", "/api/v1/scripts/"+id+"?version=1", "readonly", "", &old); st != 200 || old.Version != 1 || !strings.HasPrefix(old.Body, "echo") {
				t.Errorf("version 1: %d %+v", st, old)
			}
			for _, c := range []struct {
				method, path, body, code string
				status                   int
			}{
				{"GET", "/api/v1/scripts/" + id + "?version=9", "", "not_found", 404},
				{"GET", "/api/v1/scripts/" + id + "?version=x", "", "", 400},
				{"PUT", "/api/v1/scripts/" + itoa(builtin.ID), body, "builtin", 403},
				{"DELETE", "/api/v1/scripts/" + itoa(builtin.ID), "", "builtin", 403},
				{"POST", "/api/v1/scripts", body, "invalid", 400}, // the name is taken
				{"POST", "/api/v1/scripts", `{"name":"x","language":"cobol","body":"x"}`, "invalid", 400},
				{"POST", "/api/v1/scripts", `{"name":"x","language":"sh","body":"x","run_as":"root"}`, "invalid", 400},
				{"POST", "/api/v1/scripts", `{"name":"x","language":"sh","body":"x","unknown":1}`, "invalid", 400},
				{"DELETE", "/api/v1/scripts/" + id, "", "", 403}, // readonly
			} {
				token := "tech"
				if c.status == 403 && c.code == "" {
					token = "readonly"
				}
				var resp struct {
					Code    string    `json:"code"`
					Message core.Text `json:"message"`
				}
				st := f.sendJSON(t, c.method, c.path, token, c.body, &resp)
				if st != c.status || (c.code != "" && resp.Code != c.code) || (c.code == "builtin" && resp.Message.DE == "") {
					t.Errorf("%s %s: %d %+v, want %d %s", c.method, c.path, st, resp, c.status, c.code)
				}
			}
			if st := f.sendJSON(t, "DELETE", "/api/v1/scripts/"+id, "tech", "", nil); st != 204 {
				t.Errorf("delete: %d", st)
			}
			if st := f.sendJSON(t, "GET", "/api/v1/scripts/"+id, "tech", "", nil); st != 404 {
				t.Errorf("deleted: %d", st)
			}
		})
	}
}

// TestScriptRunBadParams: parameters of the wrong type, unknown or
// missing ones are refused with 400 and a field error per parameter in
// English and German; nothing is queued.
func TestScriptRunBadParams(t *testing.T) {
	f := newFixtureOn(t, engines[0].open)
	body := `{"name":"Typen","language":"sh","body":"echo","params":[{"name":"DAYS","type":"number"},{"name":"FORCE","type":"bool"},
		{"name":"MODE","type":"choice","choices":["schnell","gründlich"]},{"name":"WHO","type":"text","required":true}]}`
	var v service.ScriptView
	if st := f.sendJSON(t, "POST", "/api/v1/scripts", "tech", body, &v); st != 201 {
		t.Fatalf("create: %d", st)
	}
	run := `{"devices":[` + itoa(f.device.ID) + `],"params":{"DAYS":"abc","FORCE":"maybe","MODE":"langsam","COLOR":"rot"}}`
	var resp struct {
		Code   string `json:"code"`
		Fields []struct {
			Field   string    `json:"field"`
			Message core.Text `json:"message"`
		} `json:"fields"`
	}
	if st := f.sendJSON(t, "POST", "/api/v1/scripts/"+itoa(v.ID)+"/run", "tech", run, &resp); st != 400 || resp.Code != "invalid" {
		t.Fatalf("bad parameters: %d %+v", st, resp)
	}
	got := map[string]core.Text{}
	for _, fe := range resp.Fields {
		got[fe.Field] = fe.Message
	}
	for field, want := range map[string]string{"params.DAYS": "number", "params.FORCE": "bool", "params.MODE": "choices",
		"params.COLOR": "no such parameter", "params.WHO": "required"} {
		if m := got[field]; !strings.Contains(m.EN, want) || m.DE == "" || m.DE == m.EN {
			t.Errorf("%s: %+v, want an English message with %q and a German one", field, m, want)
		}
	}
	var runs []core.ScriptRun
	if st := f.sendJSON(t, "GET", "/api/v1/devices/"+itoa(f.device.ID)+"/runs", "tech", "", &runs); st != 200 || len(runs) != 0 {
		t.Errorf("runs after a refused request: %d %+v", st, runs)
	}
}
