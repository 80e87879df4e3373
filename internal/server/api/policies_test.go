package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/service"
)

// pushCommander counts policy pushes.
type pushCommander struct {
	*fakeCommander
	pushes atomic.Int32
}

func (p *pushCommander) PushPolicies() { p.pushes.Add(1) }

type policyFixture struct {
	*fixture
	push *pushCommander
	srv  *httptest.Server
}

func newPolicyFixture(t *testing.T) *policyFixture {
	f := newFixture(t)
	pc := &pushCommander{fakeCommander: f.cmd}
	srv := httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: f.st, Commander: pc}), nil)))
	t.Cleanup(srv.Close)
	return &policyFixture{fixture: f, push: pc, srv: srv}
}

// send sends body as JSON with the named token and decodes the answer
// into out; it returns the status and the raw body.
func (f *policyFixture) send(t *testing.T, method, path, token string, body, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

func TestPolicyValidationNamesTheField(t *testing.T) {
	f := newPolicyFixture(t)
	tests := []struct {
		name string
		body string
		want string
	}{
		{"negative threshold", `{"name":"P","checks":[{"name":"cpu","type":"cpu"},{"name":"memory","type":"memory"},{"name":"disk","type":"disk","params":{"warn":-5}}]}`,
			"checks[2].params.warn: must be between 0 and 100"},
		{"unknown check", `{"name":"P","checks":[{"name":"x","type":"nosuchcheck"}]}`, `checks[0].type: unknown check "nosuchcheck"`},
		{"interval out of range", `{"name":"P","checks":[{"name":"cpu","type":"cpu","schedule":{"class":"24x7","every_minutes":121}}]}`,
			"checks[0].schedule.every_minutes: must be between 1 and 120"},
		{"daily hour", `{"name":"P","checks":[{"name":"cpu","type":"cpu","schedule":{"class":"daily","at":"6 Uhr"}}]}`, "checks[0].schedule.at: must be a time of day HH:MM"},
		{"no name", `{"checks":[]}`, "name: is required"},
		{"unknown field", `{"name":"P","chekcs":[]}`, `chekcs: unknown field; valid: checks, description, name`},
		{"wrong type", `{"name":7}`, `name: must be text, not number`},
		{"ping address", `{"name":"P","checks":[{"name":"p","type":"ping","params":{"address":"127.0.0.1"}}]}`,
			"checks[0].params.address: unknown parameter; valid: count, host, interval_seconds, ip_version, loss_percent, mode, rtt_ms, timeout_seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := f.send(t, "POST", "/api/v1/policies", "admin", json.RawMessage(tc.body), nil)
			if status != http.StatusBadRequest || !strings.Contains(fieldErrors(t, body), tc.want) {
				t.Errorf("status %d body %s, want 400 with %q", status, body, tc.want)
			}
			if !strings.Contains(body, `"de"`) {
				t.Errorf("no German message in %s", body)
			}
		})
	}
	status, body := f.send(t, "POST", "/api/v1/policies", "admin",
		json.RawMessage(`{"name":"P","checks":[{"name":"p","type":"ping","params":{"address":"127.0.0.1"}}]}`), nil)
	if status != http.StatusBadRequest || !strings.Contains(body, "unbekannter Parameter; gültig: count, host, interval_seconds") {
		t.Errorf("ping address in German: %d %s", status, body)
	}
	// The same on update.
	var p core.Policy
	if status, body := f.send(t, "POST", "/api/v1/policies", "admin", map[string]any{"name": "Valid"}, &p); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	status, body = f.send(t, "PUT", "/api/v1/policies/"+strconv.FormatInt(p.ID, 10), "admin",
		json.RawMessage(`{"name":"Valid","checks":[{"name":"disk","type":"disk","params":{"fail":101}}]}`), nil)
	if status != http.StatusBadRequest || !strings.Contains(fieldErrors(t, body), "checks[0].params.fail: must be between 0 and 100") {
		t.Errorf("update: %d %s", status, body)
	}
	if n := f.push.pushes.Load(); n != 1 {
		t.Errorf("%d pushes, want 1 (only the valid create)", n)
	}
}

// fieldsBody is the API's answer to invalid input.
type fieldsBody struct {
	Error  string              `json:"error"`
	Code   string              `json:"code"`
	Fields []policy.FieldError `json:"fields"`
}

// fieldErrors returns a 400 body's fields as "field: English message"
// lines.
func fieldErrors(t *testing.T, body string) string {
	t.Helper()
	var v fieldsBody
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	var lines []string
	for _, f := range v.Fields {
		lines = append(lines, f.Error())
	}
	return strings.Join(lines, "\n")
}

// TestPolicyCheckParamsFieldErrors: refused check parameters are a 400
// "invalid check parameters" naming each field in English and German, the
// valid keys of an unknown one included, from the declarations alone.
func TestPolicyCheckParamsFieldErrors(t *testing.T) {
	f := newPolicyFixture(t)
	status, body := f.send(t, "POST", "/api/v1/policies", "admin",
		json.RawMessage(`{"name":"P","checks":[{"name":"gw","type":"ping","params":{"address":"127.0.0.1","count":0}}]}`), nil)
	var v fieldsBody
	if err := json.Unmarshal([]byte(body), &v); err != nil || status != http.StatusBadRequest {
		t.Fatalf("%d %s", status, body)
	}
	want := []policy.FieldError{
		{Field: "checks[0].params.address", Message: core.Text{
			EN: "unknown parameter; valid: count, host, interval_seconds, ip_version, loss_percent, mode, rtt_ms, timeout_seconds",
			DE: "unbekannter Parameter; gültig: count, host, interval_seconds, ip_version, loss_percent, mode, rtt_ms, timeout_seconds"}},
		{Field: "checks[0].params.host", Message: core.Text{EN: "is required", DE: "ist erforderlich"}},
		{Field: "checks[0].params.count", Message: core.Text{EN: "must be between 1 and 100", DE: "muss zwischen 1 und 100 liegen"}},
	}
	if v.Error != "invalid check parameters" || v.Code != "invalid" || !reflect.DeepEqual(v.Fields, want) {
		t.Errorf("got %s\nwant fields %+v", body, want)
	}
}

func TestPolicyRoles(t *testing.T) {
	f := newPolicyFixture(t)
	body := map[string]any{"name": "P"}
	for _, tok := range []string{"tech", "readonly"} {
		if status, _ := f.send(t, "POST", "/api/v1/policies", tok, body, nil); status != http.StatusForbidden {
			t.Errorf("%s creating a policy: %d, want 403", tok, status)
		}
		if status, _ := f.send(t, "PUT", "/api/v1/default/policies", tok, map[string]any{"policy_ids": []int64{}}, nil); status != http.StatusForbidden {
			t.Errorf("%s assigning default policies: %d, want 403", tok, status)
		}
		var ps []core.Policy
		if status, _ := f.send(t, "GET", "/api/v1/policies", tok, nil, &ps); status != http.StatusOK || len(ps) != 2 {
			t.Errorf("%s listing policies: %d, %d policies", tok, status, len(ps))
		}
	}
	var p core.Policy
	f.send(t, "POST", "/api/v1/policies", "admin", body, &p)
	ids := map[string]any{"policy_ids": []int64{p.ID}}
	dev := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10) + "/policies"
	if status, _ := f.send(t, "PUT", dev, "readonly", ids, nil); status != http.StatusForbidden {
		t.Errorf("readonly assigning: %d, want 403", status)
	}
	if status, b := f.send(t, "PUT", dev, "tech", ids, nil); status != http.StatusOK {
		t.Errorf("technician assigning to a device: %d %s, want 200", status, b)
	}
	if status, _ := f.send(t, "PUT", "/api/v1/devices/99999/policies", "admin", ids, nil); status != http.StatusNotFound {
		t.Errorf("assigning to an unknown device: %d, want 404", status)
	}
	if status, b := f.send(t, "PUT", dev, "admin", map[string]any{"policy_ids": []int64{99999}}, nil); status != http.StatusBadRequest || !strings.Contains(b, "policy_ids[0]: no policy 99999") {
		t.Errorf("assigning an unknown policy: %d %s", status, b)
	}
	if status, _ := f.send(t, "GET", "/api/v1/policies", "", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", status)
	}
}

func TestBuiltinTemplatesAreReadOnly(t *testing.T) {
	f := newPolicyFixture(t)
	var ps []core.Policy
	if status, _ := f.send(t, "GET", "/api/v1/policies", "admin", nil, &ps); status != http.StatusOK {
		t.Fatal(status)
	}
	if len(ps) != 2 || ps[0].Builtin == "" || ps[1].Builtin == "" {
		t.Fatalf("built-in templates not listed: %+v", ps)
	}
	for _, p := range ps {
		if p.Description.EN == "" || p.Description.DE == "" || len(p.Checks) == 0 {
			t.Errorf("template %s lacks description or checks", p.Name)
		}
		path := "/api/v1/policies/" + strconv.FormatInt(p.ID, 10)
		if status, _ := f.send(t, "PUT", path, "admin", map[string]any{"name": "Mine"}, nil); status != http.StatusForbidden {
			t.Errorf("updating template %s: %d, want 403", p.Name, status)
		}
		if status, _ := f.send(t, "DELETE", path, "admin", nil, nil); status != http.StatusForbidden {
			t.Errorf("deleting template %s: %d, want 403", p.Name, status)
		}
	}
}

func TestEffectivePolicyThroughTheAPI(t *testing.T) {
	f := newPolicyFixture(t)
	var client, device core.Policy
	if status, b := f.send(t, "POST", "/api/v1/policies", "admin", json.RawMessage(`{"name":"Kanzlei","description":{"en":"Law office","de":"Kanzlei"},
		"checks":[{"name":"memory","exclude":true},{"name":"website-shop","type":"disk","params":{"warn":50,"fail":60}}]}`), &client); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, b)
	}
	if status, b := f.send(t, "POST", "/api/v1/policies", "admin", json.RawMessage(`{"name":"PC-01",
		"checks":[{"name":"disk","type":"disk","params":{"warn":1,"fail":2},"schedule":{"class":"24x7","every_minutes":1}}]}`), &device); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, b)
	}
	cpath := "/api/v1/clients/" + strconv.FormatInt(f.device.ClientID, 10) + "/policies"
	dpath := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10) + "/policies"
	before := f.push.pushes.Load()
	var as []core.PolicyAssignment
	if status, b := f.send(t, "PUT", cpath, "admin", map[string]any{"policy_ids": []int64{client.ID}}, &as); status != http.StatusOK || len(as) != 1 || as[0].PolicyName != "Kanzlei" {
		t.Fatalf("assign client: %d %s", status, b)
	}
	if status, b := f.send(t, "PUT", dpath, "admin", map[string]any{"policy_ids": []int64{device.ID}}, nil); status != http.StatusOK {
		t.Fatalf("assign device: %d %s", status, b)
	}
	// Site level: overrides the template's cpu, and the client's check.
	var site core.Policy
	if status, b := f.send(t, "POST", "/api/v1/policies", "admin", json.RawMessage(`{"name":"Filiale",
		"checks":[{"name":"cpu","type":"cpu","params":{"warn":50,"fail":60}},{"name":"website-shop","type":"disk","params":{"warn":55,"fail":65}}]}`), &site); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, b)
	}
	spath := "/api/v1/sites/" + strconv.FormatInt(f.device.SiteID, 10) + "/policies"
	if status, b := f.send(t, "PUT", spath, "tech", map[string]any{"policy_ids": []int64{site.ID}}, nil); status != http.StatusOK {
		t.Fatalf("assign site: %d %s", status, b)
	}
	if got := f.push.pushes.Load() - before; got != 4 {
		t.Errorf("%d pushes for three assignments and a new policy", got)
	}
	if status, _ := f.send(t, "GET", cpath, "readonly", nil, &as); status != http.StatusOK || len(as) != 1 {
		t.Errorf("reading client assignments: %d %+v", status, as)
	}

	type effCheck struct {
		core.PolicyCheck
		Source struct {
			Level      string `json:"level"`
			PolicyName string `json:"policy_name"`
		} `json:"source"`
	}
	type effective struct {
		Checks   []effCheck `json:"checks"`
		Excluded []struct {
			Name string
			By   struct {
				Level string `json:"level"`
			} `json:"by"`
		} `json:"excluded"`
		Revision string `json:"revision"`
	}
	var eff effective
	if status, b := f.send(t, "GET", "/api/v1/devices/"+strconv.FormatInt(f.device.ID, 10)+"/effective-policy", "readonly", nil, &eff); status != http.StatusOK {
		t.Fatalf("effective: %d %s", status, b)
	}
	got := map[string]string{}
	for _, c := range eff.Checks {
		var params bytes.Buffer
		json.Compact(&params, c.Params)
		got[c.Name] = c.Source.Level + "/" + c.Source.PolicyName + " " + params.String()
	}
	for name, want := range map[string]string{
		"cpu":          `site/Filiale {"warn":50,"fail":60}`,
		"disk":         `device/PC-01 {"warn":1,"fail":2}`,
		"website-shop": `site/Filiale {"warn":55,"fail":65}`,
		"services":     `default/Workstation {"mode":"auto"}`,
		"memory":       "",
	} {
		if got[name] != want {
			t.Errorf("effective %s: %q, want %q", name, got[name], want)
		}
	}
	templateLen := len(eff.Checks) // template without memory, plus website-shop
	if len(eff.Excluded) != 1 || eff.Excluded[0].Name != "memory" || eff.Excluded[0].By.Level != "client" || eff.Revision == "" {
		t.Errorf("excluded %+v revision %q", eff.Excluded, eff.Revision)
	}

	// Every change is audited with the user.
	entries, err := f.st.ListAudit(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range entries {
		if e.Actor == "user:admin@example.com" {
			actions[e.Action]++
		}
	}
	if actions["policy.create"] != 3 || actions["policy.assign"] != 2 {
		t.Errorf("audit actions %v", actions)
	}

	// Deleting the client policy brings memory back.
	if status, _ := f.send(t, "DELETE", "/api/v1/policies/"+strconv.FormatInt(client.ID, 10), "admin", nil, nil); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	eff = effective{}
	f.send(t, "GET", "/api/v1/devices/"+strconv.FormatInt(f.device.ID, 10)+"/effective-policy", "admin", nil, &eff)
	back := slices.ContainsFunc(eff.Checks, func(c effCheck) bool { return c.Name == "memory" })
	if len(eff.Checks) != templateLen+1 || len(eff.Excluded) != 0 || !back {
		t.Errorf("after delete: %+v", eff)
	}
}

// TestCheckTypes: any role reads every check type's declaration, the
// source of the dashboard's forms; without a token there is none.
func TestCheckTypes(t *testing.T) {
	f := newPolicyFixture(t)
	var types []struct {
		Name   string `json:"name"`
		Label  core.Text
		Params []struct {
			Name       string    `json:"name"`
			Type       string    `json:"type"`
			Required   bool      `json:"required"`
			Privileged string    `json:"privileged"`
			Default    any       `json:"default"`
			Label      core.Text `json:"label"`
		} `json:"params"`
	}
	if status, body := f.send(t, "GET", "/api/v1/check-types", "readonly", nil, &types); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	var names []string
	for _, ct := range types {
		names = append(names, ct.Name)
		if ct.Label.EN == "" || ct.Label.DE == "" {
			t.Errorf("%s: no label in both languages", ct.Name)
		}
		for _, p := range ct.Params {
			switch {
			case ct.Name == "ping" && p.Name == "host" && (!p.Required || p.Type != "text"):
				t.Errorf("ping host: %+v", p)
			case ct.Name == "services" && p.Name == "restart" && (p.Privileged != "changes" || p.Default != false):
				t.Errorf("services restart: %+v", p)
			}
		}
	}
	if !reflect.DeepEqual(names, checkspec.Names()) {
		t.Errorf("check types %q, want %q", names, checkspec.Names())
	}
	if status, _ := f.send(t, "GET", "/api/v1/check-types", "nobody", nil, nil); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", status)
	}
}
