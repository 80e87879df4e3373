package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestPolicyCheckSecretsWriteOnly: secret check parameters in policies (a
// website check's password, SNMP communities and passphrases) are
// write-only, as on network devices: no role reads them back through the
// policy, the policy list, the effective policy or the audit log; the
// answers say which are set; saving without them keeps them, unless the
// check's target changed (issue 12, M5; docs/security.md).
func TestPolicyCheckSecretsWriteOnly(t *testing.T) {
	f := newPolicyFixture(t)
	ctx := context.Background()
	const pw, community = "geheim-4711", "gemeinde-0815"
	var p core.Policy
	st, body := f.send(t, "POST", "/api/v1/policies", "admin", json.RawMessage(`{"name":"Web","checks":[
		{"name":"web","type":"website","params":{"url":"https://shop.example.com/","username":"u","password":"`+pw+`"}},
		{"name":"switch","type":"snmp","params":{"host":"192.0.2.7","template":"uptime","community":"`+community+`"}},
		{"name":"disk","type":"disk","params":{"warn":80,"fail":90}}]}`), &p)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	leaks := func(what, body string) {
		t.Helper()
		if strings.Contains(body, pw) || strings.Contains(body, community) {
			t.Errorf("%s returns a secret: %s", what, body)
		}
	}
	leaks("create", body)
	if len(p.Checks) != 3 || !slices.Equal(p.Checks[0].SecretsSet, []string{"password"}) || !slices.Equal(p.Checks[1].SecretsSet, []string{"community"}) ||
		p.Checks[2].SecretsSet != nil || !strings.Contains(compact(t, p.Checks[0].Params), `"username":"u"`) {
		t.Errorf("create answers %+v", p.Checks)
	}
	id := strconv.FormatInt(p.ID, 10)
	if st, body := f.send(t, "PUT", "/api/v1/default/policies", "admin", map[string]any{"policy_ids": []int64{p.ID}}, nil); st != http.StatusOK {
		t.Fatalf("assign: %d %s", st, body)
	}
	for _, tok := range []string{"admin", "tech", "readonly"} {
		for _, path := range []string{"/api/v1/policies/" + id, "/api/v1/policies",
			"/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10) + "/effective-policy"} {
			st, body := f.send(t, "GET", path, tok, nil, nil)
			if st != http.StatusOK {
				t.Fatalf("%s GET %s: %d %s", tok, path, st, body)
			}
			leaks(tok+" GET "+path, body)
			if !strings.Contains(compact(t, []byte(body)), `"secrets_set":["password"]`) {
				t.Errorf("%s GET %s does not say the password is set: %s", tok, path, body)
			}
		}
	}

	stored := func() core.Policy {
		t.Helper()
		sp, err := f.st.GetPolicy(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	// Saving what was read (no secrets, secrets_set echoed) keeps them.
	p.Checks[2].Params = json.RawMessage(`{"warn":70,"fail":90}`)
	st, body = f.send(t, "PUT", "/api/v1/policies/"+id, "admin", map[string]any{"name": p.Name, "checks": p.Checks}, nil)
	if st != http.StatusOK {
		t.Fatalf("save without secrets: %d %s", st, body)
	}
	leaks("update", body)
	sp := stored()
	if !strings.Contains(string(sp.Checks[0].Params), pw) || !strings.Contains(string(sp.Checks[1].Params), community) ||
		sp.Checks[0].SecretsSet != nil || !strings.Contains(compact(t, sp.Checks[2].Params), `"warn":70`) {
		t.Errorf("stored after a save without secrets: %+v", sp.Checks)
	}

	// A new URL or host without the secret again is refused, naming it.
	for i, moved := range []string{
		`{"url":"https://attacker.example.net/","username":"u"}`,
		`{"host":"198.51.100.9","template":"uptime"}`,
	} {
		cs := slices.Clone(p.Checks)
		cs[i].Params = json.RawMessage(moved)
		st, body := f.send(t, "PUT", "/api/v1/policies/"+id, "admin", map[string]any{"name": p.Name, "checks": cs}, nil)
		field := []string{"checks[0].params.password", "checks[1].params.community"}[i]
		if st != http.StatusBadRequest || !strings.Contains(fieldErrors(t, body), field) || !strings.Contains(body, "send") {
			t.Errorf("moving %s without its secret: %d %s", cs[i].Name, st, body)
		}
	}
	if sp := stored(); !strings.Contains(string(sp.Checks[0].Params), "shop.example.com") {
		t.Errorf("a refused save changed the policy: %+v", sp.Checks)
	}
	// Switching the SNMP check to version 3 drops its community, which v3
	// does not use, instead of keeping it where no field shows it.
	cs := slices.Clone(p.Checks)
	cs[1].Params = json.RawMessage(`{"host":"192.0.2.7","template":"uptime","version":"3","user":"mon","auth_protocol":"SHA","auth_passphrase":"pass-phrase-1"}`)
	if st, body := f.send(t, "PUT", "/api/v1/policies/"+id, "admin", map[string]any{"name": p.Name, "checks": cs}, nil); st != http.StatusOK {
		t.Fatalf("switch to SNMP v3: %d %s", st, body)
	}
	if sp := stored(); strings.Contains(string(sp.Checks[1].Params), community) || !strings.Contains(string(sp.Checks[1].Params), "pass-phrase-1") {
		t.Errorf("stored after the switch to v3: %s", sp.Checks[1].Params)
	}
	// With the secret again it is saved; a new type drops the old secret.
	cs = slices.Clone(p.Checks)
	cs[0].Params = json.RawMessage(`{"url":"https://neu.example.com/","username":"u","password":"neu-1234"}`)
	cs[1] = core.PolicyCheck{Name: "switch", Type: "ping", Params: json.RawMessage(`{"host":"192.0.2.7"}`), Schedule: cs[1].Schedule}
	if st, body := f.send(t, "PUT", "/api/v1/policies/"+id, "admin", map[string]any{"name": p.Name, "checks": cs}, nil); st != http.StatusOK {
		t.Fatalf("save with the secret again: %d %s", st, body)
	}
	sp = stored()
	if !strings.Contains(string(sp.Checks[0].Params), "neu-1234") || strings.Contains(string(sp.Checks[1].Params), community) {
		t.Errorf("stored: %+v", sp.Checks)
	}

	// The audit log never holds a secret in clear either.
	es, err := f.st.ListAudit(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.Contains(e.Detail, pw) || strings.Contains(e.Detail, "neu-1234") || strings.Contains(e.Detail, community) {
			t.Errorf("audit %s holds a secret: %s", e.Action, e.Detail)
		}
	}
}

func compact(t *testing.T, b []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return buf.String()
}
