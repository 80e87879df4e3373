package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/netguard"
)

// Administrators read and replace the ranges server-run website checks may
// reach; a bad range is refused naming the field in both languages and
// changes nothing; a change is audited.
func TestServerChecksSetting(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	send := func(method, token, body string) (int, string) {
		return f.send(t, method, "/api/v1/settings/server-checks", f.tokens[token], body, nil)
	}
	if code, body := send("GET", "admin", ""); code != http.StatusOK || !strings.Contains(body, `"allow": []`) {
		t.Errorf("unset: %d %s", code, body)
	}
	if code, _ := send("PUT", "tech", `{"allow":["0.0.0.0/0"]}`); code != http.StatusForbidden {
		t.Errorf("technician: %d, want 403", code)
	}
	code, body := send("PUT", "admin", `{"allow":["10.1.2.3/8","192.0.2.10","fd00::/8"]}`)
	if code != http.StatusOK || !strings.Contains(body, `"10.0.0.0/8"`) || !strings.Contains(body, `"192.0.2.10/32"`) {
		t.Errorf("set: %d %s", code, body)
	}
	code, body = send("PUT", "admin", `{"allow":["10.0.0.0/8","intranet"]}`)
	if code != http.StatusBadRequest || !strings.Contains(body, `"field": "allow"`) || !strings.Contains(body, "kein Adressbereich") {
		t.Errorf("bad range: %d %s", code, body)
	}
	if v, err := f.st.GetSetting(ctx, netguard.SettingAllow); err != nil || v != "10.0.0.0/8,192.0.2.10/32,fd00::/8" {
		t.Errorf("stored %q %v", v, err)
	}
	audit, err := f.st.ListAudit(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range audit {
		found = found || e.Action == "settings.server-checks" && strings.Contains(e.Detail, "10.0.0.0/8")
	}
	if !found {
		t.Errorf("no audit entry settings.server-checks in %+v", audit)
	}
}
