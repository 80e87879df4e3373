package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestSSOProviderSettings: an administrator adds a provider (bad fields
// are named beside the fields, in German too), the secret is never shown
// and an edit without it keeps it, the redirect URI to register is shown,
// the login page offers the provider, and every change is audited.
func TestSSOProviderSettings(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.st.SetSetting(ctx, service.SettingServerURL, "https://wacht.example.de"); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	if p := b.do("GET", ssoSettingsPath, nil); p.status != http.StatusOK || !strings.Contains(p.body, "Noch kein Anmeldeanbieter") {
		t.Fatalf("empty page: %d\n%s", p.status, p.body)
	}
	form := url.Values{"csrf": {csrf}, "name": {"Entra ID"}, "issuer": {"ftp://login.example"}, "client_id": {"app-1"},
		"client_secret": {"streng-geheim-42"}, "domains": {"example.com, Example.DE"}, "default_role": {"admin"},
		"roles_claim": {""}, "role_map": {"wacht-admins = admin\nkaputt"}, "auto_create": {"on"}}
	p := b.do("POST", ssoSettingsPath, form)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="role_map-error"`) || strings.Contains(p.body, "streng-geheim-42") {
		t.Fatalf("bad role map: %d\n%s", p.status, p.body)
	}
	form.Set("role_map", "wacht-admins = admin")
	p = b.do("POST", ssoSettingsPath, form)
	for _, id := range []string{"issuer-error", "default_role-error", "roles_claim-error"} {
		if !strings.Contains(p.body, `id="`+id+`"`) {
			t.Errorf("no %s in:\n%s", id, p.body)
		}
	}
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "muss die https://-Issuer-URL") || strings.Contains(p.body, "streng-geheim-42") {
		t.Fatalf("invalid provider: %d\n%s", p.status, p.body)
	}
	form.Set("issuer", "https://login.microsoftonline.com/t1/v2.0")
	form.Set("default_role", "readonly")
	form.Set("roles_claim", "groups")
	if p = b.do("POST", ssoSettingsPath, form); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", p.status, p.body)
	}
	ps, err := f.st.ListOIDCProviders(ctx)
	if err != nil || len(ps) != 1 {
		t.Fatalf("providers %+v, %v", ps, err)
	}
	pr := ps[0]
	if pr.ClientSecret != "streng-geheim-42" || strings.Join(pr.Domains, ",") != "example.com,example.de" || !pr.AutoCreate ||
		pr.RoleMap["wacht-admins"] != core.RoleAdmin || pr.EnforcesMFA {
		t.Errorf("stored %+v", pr)
	}
	id := strconv.FormatInt(pr.ID, 10)
	page := b.do("GET", ssoSettingsPath+"?edit="+id, nil)
	if strings.Contains(page.body, "streng-geheim-42") || !strings.Contains(page.body, "https://wacht.example.de/auth/oidc/"+id+"/callback") ||
		!strings.Contains(page.body, `value="Entra ID"`) {
		t.Errorf("edit page:\n%s", page.body)
	}
	form.Set("id", id)
	form.Set("client_secret", "")
	form.Set("enforces_mfa", "on")
	if p = b.do("POST", ssoSettingsPath, form); p.status != http.StatusSeeOther {
		t.Fatalf("update: %d\n%s", p.status, p.body)
	}
	if got, _ := f.st.GetOIDCProvider(ctx, pr.ID); got.ClientSecret != "streng-geheim-42" || !got.EnforcesMFA {
		t.Errorf("after update %+v", got)
	}
	login := f.browser(t, "en").do("GET", "/login", nil)
	if !strings.Contains(login.body, `href="/auth/oidc/`+id+`/start"`) || !strings.Contains(login.body, "Sign in with Entra ID") {
		t.Errorf("login page:\n%s", login.body)
	}
	if n := len(auditOf(t, f, "sso.provider-create")); n != 1 {
		t.Errorf("%d create audits", n)
	}
	up := auditOf(t, f, "sso.provider-update")
	if len(up) != 1 || strings.Contains(up[0].Detail, "streng-geheim") {
		t.Errorf("update audits %+v", up)
	}
	// A read-only user may not see the page.
	ro := f.browser(t, "en")
	ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", ssoSettingsPath, nil); p.status != http.StatusForbidden {
		t.Errorf("read-only user: %d", p.status)
	}
}
