package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestDisableEnableDeleteUser: an administrator disables a user, whose API
// token stops working at once and works again after enabling; deleting
// revokes it for good and keeps the audit chain intact; nobody disables or
// deletes themself or the last active administrator.
func TestDisableEnableDeleteUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tokens["admin"]
	user := func(email string) core.User {
		u, err := f.st.GetUserByEmail(ctx, email)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tech, root := user("tech@example.com"), user("admin@example.com")
	techPath := "/api/v1/users/" + strconv.FormatInt(tech.ID, 10)

	if code, body := f.send(t, "POST", techPath+"/disable", admin, "", nil); code != http.StatusNoContent {
		t.Fatalf("disable: %d %s", code, body)
	}
	if code := f.do(t, "GET", "/api/v1/devices", "tech", nil); code != http.StatusUnauthorized {
		t.Errorf("disabled user's token: %d, want 401", code)
	}
	var us []core.User
	if code := f.do(t, "GET", "/api/v1/users", "admin", &us); code != http.StatusOK {
		t.Fatal(code)
	}
	for _, u := range us {
		if u.ID == tech.ID && !u.Disabled {
			t.Errorf("list shows %s enabled", u.Email)
		}
	}
	if code, body := f.send(t, "POST", techPath+"/enable", admin, "", nil); code != http.StatusNoContent {
		t.Fatalf("enable: %d %s", code, body)
	}
	if code := f.do(t, "GET", "/api/v1/devices", "tech", nil); code != http.StatusOK {
		t.Errorf("enabled user's token: %d, want 200", code)
	}

	refused := func(method, path, wantCode string, status int) {
		t.Helper()
		code, body := f.send(t, method, path, admin, "", nil)
		var resp struct {
			Code    string    `json:"code"`
			Message core.Text `json:"message"`
		}
		_ = json.Unmarshal([]byte(body), &resp)
		if code != status || resp.Code != wantCode || (status == http.StatusConflict && (resp.Message.EN == "" || resp.Message.DE == "")) {
			t.Errorf("%s %s: %d %s, want %d %s", method, path, code, body, status, wantCode)
		}
	}
	rootPath := "/api/v1/users/" + strconv.FormatInt(root.ID, 10)
	refused("POST", rootPath+"/disable", "self", http.StatusConflict)
	refused("DELETE", rootPath, "self", http.StatusConflict)
	// old@ and gone@ are administrators too; the last active one cannot be
	// disabled (the CLI test and the store suite cover that refusal).
	for _, e := range []string{"old@example.com", "gone@example.com"} {
		if code, body := f.send(t, "POST", "/api/v1/users/"+strconv.FormatInt(user(e).ID, 10)+"/disable", admin, "", nil); code != http.StatusNoContent {
			t.Fatalf("disable %s: %d %s", e, code, body)
		}
	}
	refused("POST", "/api/v1/users/999999/disable", "not_found", http.StatusNotFound)

	if code, body := f.send(t, "DELETE", techPath, admin, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code := f.do(t, "GET", "/api/v1/devices", "tech", nil); code != http.StatusUnauthorized {
		t.Errorf("deleted user's token: %d, want 401", code)
	}
	refused("POST", techPath+"/enable", "not_found", http.StatusNotFound)
	if _, err := f.st.GetUserByEmail(ctx, "tech@example.com"); err == nil {
		t.Error("deleted user still found by e-mail")
	}
	for _, a := range []string{"user.disable", "user.enable", "user.delete"} {
		es, err := f.st.QueryAudit(ctx, core.AuditQuery{Action: a, Target: "user:" + strconv.FormatInt(tech.ID, 10)})
		if err != nil || len(es) != 1 || es[0].Detail != "tech@example.com" {
			t.Errorf("audit %s of the technician: %d entries, %v", a, len(es), err)
		}
	}
	if bad, _, err := f.st.VerifyAudit(ctx); err != nil || bad != 0 {
		t.Errorf("audit chain after deleting a user: bad entry %d, %v", bad, err)
	}
}
