package web

import (
	"net/http"
	"strings"
	"testing"
)

// TestSettingsMenu: every page's menu has a Settings entry whose index
// reaches the notification settings and the other settings pages, the
// administrators' ones for administrators only.
func TestSettingsMenu(t *testing.T) {
	f := newFixture(t)
	admin := f.browser(t, "de")
	admin.login("admin@example.com", testPassword)
	p := admin.do("GET", "/alerts", nil)
	if !strings.Contains(p.body, `<a href="/settings" id="nav-settings">Einstellungen</a>`) {
		t.Fatalf("no Settings entry in the menu:\n%s", p.body)
	}
	p = admin.do("GET", "/settings", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="nav-settings" class="active"`) {
		t.Fatalf("settings index: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{`href="/settings/alerts" id="settings-alerts">Benachrichtigungen</a>`, `href="/users"`,
		`href="/agents"`, `href="/account/tokens"`, `href="/account/2fa"`, `href="/account/reports"`, "Mailserver (SMTP)"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("admin's settings index lacks %s", want)
		}
	}
	// Each linked page opens for the administrator.
	for _, l := range settingsLinks {
		if got := admin.do("GET", l.Path, nil); got.status != http.StatusOK {
			t.Errorf("%s: %d", l.Path, got.status)
		}
	}

	ro := f.browser(t, "en")
	ro.login("readonly@example.com", testPassword)
	p = ro.do("GET", "/settings", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `href="/account/tokens"`) || !strings.Contains(p.body, "Daily digest") {
		t.Fatalf("read-only settings index: %d\n%s", p.status, p.body)
	}
	for _, admin := range []string{"/settings/alerts", `href="/users"`, `href="/agents"`} {
		if strings.Contains(p.body, admin) {
			t.Errorf("read-only user sees %s", admin)
		}
	}
}
