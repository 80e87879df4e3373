package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestPrivilegedParameters replays the probes of issue 12 (H3): a
// technician put a backup check running /tmp/x.sh, an eventlog check
// reading /etc/shadow and a services check restarting services on a
// network device. Only administrators may set such parameters; a
// technician gets 403 naming the parameter in English and German, and may
// keep an administrator's check unchanged while editing the rest.
func TestPrivilegedParameters(t *testing.T) {
	f := newFixture(t)
	f.withSecrets(t)
	srv := f.srv
	send := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.tokens[token])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ctx := context.Background()
	site := f.device.SiteID
	devices := func() int {
		ds, err := f.st.ListNetDevices(ctx, site)
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	withChecks := func(checks string) string {
		return fmt.Sprintf(`{"name":"switch","address":"192.0.2.30","type":"switch","probe_id":%d,"checks":[%s]}`, f.device.ID, checks)
	}
	createPath := fmt.Sprintf("/api/v1/sites/%d/network-devices", site)
	// refused reports whether body is a 403 "privileged" naming field in
	// English and German.
	refused := func(code int, body, field string) bool {
		var r struct {
			Code   string `json:"code"`
			Fields []struct {
				Field   string    `json:"field"`
				Message core.Text `json:"message"`
			} `json:"fields"`
		}
		if code != http.StatusForbidden || json.Unmarshal([]byte(body), &r) != nil || r.Code != "privileged" {
			return false
		}
		for _, f := range r.Fields {
			if f.Field == field && strings.HasPrefix(f.Message.EN, "only an administrator may set") &&
				strings.HasPrefix(f.Message.DE, "nur ein Administrator darf") {
				return true
			}
		}
		return false
	}

	for _, tc := range []struct{ name, check, field string }{
		{"backup binary", `{"name":"b","type":"backup","params":{"products":[{"type":"acronis","binary":"/tmp/x.sh"}]}}`, "checks[0].params.products[0].binary"},
		{"eventlog files", `{"name":"e","type":"eventlog","params":{"source":"files","files":["/etc/shadow"]}}`, "checks[0].params.files"},
		{"services restart", `{"name":"s","type":"services","params":{"restart":true}}`, "checks[0].params.restart"},
		{"restic repository", `{"name":"r","type":"backup","params":{"products":[{"type":"restic","repository":"/srv/r","password_file":"/root/pw"}]}}`, "checks[0].params.products[0].password_file"},
	} {
		before := devices()
		code, body := send("POST", createPath, "tech", withChecks(tc.check))
		if !refused(code, body, tc.field) {
			t.Errorf("%s by a technician: %d %s; want 403 privileged naming %s in EN and DE", tc.name, code, body, tc.field)
		}
		if devices() != before {
			t.Errorf("%s: the refused device was stored", tc.name)
		}
	}
	es, err := f.st.QueryAudit(ctx, core.AuditQuery{Action: "privileged.denied"})
	if err != nil || len(es) != 4 || es[0].Result != core.AuditDenied || !strings.Contains(es[0].Detail, "checks[0].params.") {
		t.Errorf("audit of refusals: %v %+v", err, es)
	}

	// The policy route is for administrators alone, whatever the check.
	if code, _ := send("POST", "/api/v1/policies", "tech", `{"name":"p","checks":[{"name":"s","type":"services","params":{"restart":true}}]}`); code != http.StatusForbidden {
		t.Errorf("technician creating a policy: %d, want 403", code)
	}

	// An administrator may; a technician may then edit the device and its
	// other checks, keeping the administrator's check as it is.
	code, body := send("POST", createPath, "admin", withChecks(`{"name":"s","type":"services","params":{"restart":true,"mode":"named","services":["cups"]}},{"name":"ping","type":"ping"}`))
	if code != http.StatusCreated {
		t.Fatalf("administrator: %d %s", code, body)
	}
	var nd service.NetDevice
	json.Unmarshal([]byte(body), &nd)
	upd := fmt.Sprintf("/api/v1/network-devices/%d", nd.ID)
	code, body = send("PUT", upd, "tech", fmt.Sprintf(`{"name":"switch 2","address":"192.0.2.31","type":"switch","probe_id":%d,"checks":[
		{"name":"s","type":"services","params":{"services":["cups"], "mode":"named","restart":true}},
		{"name":"ping","type":"ping","params":{"count":2}}]}`, f.device.ID))
	if code != http.StatusOK {
		t.Fatalf("technician keeping the check unchanged: %d %s", code, body)
	}
	stored, err := f.st.GetNetDevice(ctx, nd.ID)
	if err != nil || stored.Name != "switch 2" || len(stored.Checks) != 2 || !strings.Contains(string(stored.Checks[0].Params), `"restart":true`) {
		t.Fatalf("after the technician's edit: %v %+v", err, stored)
	}
	// Changing anything of that check, or setting it elsewhere, is refused.
	for _, checks := range []string{
		`{"name":"s","type":"services","params":{"restart":true,"mode":"named","services":["cups","sshd"]}}`,
		`{"name":"s2","type":"services","params":{"restart":true,"mode":"named","services":["cups"]}}`,
	} {
		code, body = send("PUT", upd, "tech", withChecks(checks))
		if !refused(code, body, "checks[0].params.restart") {
			t.Errorf("technician changing %s: %d %s; want 403", checks, code, body)
		}
	}
	if got, _ := f.st.GetNetDevice(ctx, nd.ID); got.Name != "switch 2" || len(got.Checks) != 2 {
		t.Errorf("a refused edit changed the device: %+v", got)
	}
	// Turning the privileged setting off is no escalation.
	if code, body = send("PUT", upd, "tech", withChecks(`{"name":"s","type":"services","params":{"mode":"named","services":["cups"]}}`)); code != http.StatusOK {
		t.Errorf("technician turning restarts off: %d %s", code, body)
	}
}
