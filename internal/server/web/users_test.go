package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestDisableEnableDeleteUserInDashboard: disabling a user from the users
// page ends their open session and their sign-in at once; enabling lets
// them in again; deleting needs the confirm box and removes them from the
// list; an administrator cannot disable themself.
func TestDisableEnableDeleteUserInDashboard(t *testing.T) {
	f := newFixture(t)
	ro := f.users[core.RoleReadOnly]
	roPath := "/users/" + strconv.FormatInt(ro.ID, 10)
	admin := f.browser(t, "de")
	_, csrf := admin.login(f.users[core.RoleAdmin].Email, testPassword)
	victim := f.browser(t, "en")
	if p, _ := victim.login(ro.Email, testPassword); p.status != http.StatusSeeOther {
		t.Fatalf("read-only login: %d", p.status)
	}

	if p := admin.do("GET", "/users", nil); !strings.Contains(p.body, `action="`+roPath+`/disable"`) ||
		strings.Contains(p.body, `action="/users/`+strconv.FormatInt(f.users[core.RoleAdmin].ID, 10)+`/disable"`) {
		t.Errorf("users page: no disable button for the read-only user, or one for oneself")
	}
	if p := admin.do("POST", roPath+"/disable", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("disable: %d", p.status)
	}
	if p := victim.do("GET", "/", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Errorf("disabled user's open session: %d %s", p.status, p.header.Get("Location"))
	}
	if p, _ := f.browser(t, "en").login(ro.Email, testPassword); p.status != http.StatusUnauthorized {
		t.Errorf("disabled user's sign-in: %d", p.status)
	}
	if p := admin.do("GET", "/users", nil); !strings.Contains(p.body, "deaktiviert") {
		t.Error("users page does not show the user disabled")
	}
	if p := admin.do("POST", roPath+"/enable", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("enable: %d", p.status)
	}
	if p, _ := f.browser(t, "en").login(ro.Email, testPassword); p.status != http.StatusSeeOther {
		t.Errorf("enabled user's sign-in: %d", p.status)
	}

	self := "/users/" + strconv.FormatInt(f.users[core.RoleAdmin].ID, 10)
	if p := admin.do("POST", self+"/disable", url.Values{"csrf": {csrf}}); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "eigenes Konto") {
		t.Errorf("disabling oneself: %d", p.status)
	}
	if p := admin.do("POST", roPath+"/delete", url.Values{"csrf": {csrf}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Nichts wurde gelöscht") {
		t.Errorf("delete without confirmation: %d", p.status)
	}
	if p := admin.do("POST", roPath+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if p := admin.do("GET", "/users", nil); strings.Contains(p.body, ro.Email) {
		t.Error("deleted user still listed")
	}
	if p, _ := f.browser(t, "en").login(ro.Email, testPassword); p.status != http.StatusUnauthorized {
		t.Errorf("deleted user's sign-in: %d", p.status)
	}
}

// TestDisabledBetweenPasswordAndCode: a user disabled after the password
// step cannot finish signing in with the second factor.
func TestDisabledBetweenPasswordAndCode(t *testing.T) {
	f := newFixture(t)
	ro := f.users[core.RoleReadOnly]
	b := f.browser(t, "en")
	_, csrf := b.login(ro.Email, testPassword)
	secret, _ := enrolTOTP(t, b, csrf)
	b2 := f.browser(t, "en")
	passwordStep(t, b2, ro.Email)
	form := b2.do("GET", "/login/totp", nil)
	if err := f.st.SetUserDisabled(context.Background(), ro.ID, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	fp := b2.do("POST", "/login/totp", url.Values{"csrf": {csrfOf(t, form)}, "code": {code}})
	if fp.status == http.StatusSeeOther && fp.header.Get("Location") == "/" {
		t.Fatal("disabled user finished the second factor")
	}
	if r := b2.do("GET", "/", nil); r.status != http.StatusSeeOther {
		t.Errorf("disabled user signed in: %d", r.status)
	}
}
