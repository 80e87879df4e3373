package web

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"github.com/wacht-rmm/wacht/internal/core"
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

// TestNotNotifiedShown: an outage that reached nobody says why on the
// alerts page, in German and English; the notification settings say that
// no mail server is configured, and no longer once one is.
func TestNotNotifiedShown(t *testing.T) {
	f := newAlertsFixture(t)
	ctx := context.Background()
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Unnotified: map[string]string{"disk": core.NotNotifiedNoRecipient,
		"foreign": core.NotNotifiedNoMailServer}}); err != nil {
		t.Fatal(err)
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	p := de.do("GET", "/alerts", nil)
	for _, want := range []string{"Nicht benachrichtigt: kein Empfänger", "Nicht benachrichtigt: kein Mailserver eingerichtet"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("German alerts page lacks %q", want)
		}
	}
	en := f.browser(t, "en")
	en.login("admin@example.com", testPassword)
	if p := en.do("GET", "/alerts", nil); !strings.Contains(p.body, "Not notified: no recipient") {
		t.Errorf("English alerts page lacks the reason")
	}
	if p := en.do("GET", "/settings/alerts", nil); !strings.Contains(p.body, `id="mail-off"`) {
		t.Errorf("settings page does not say that no mail server is configured")
	}
	if err := alert.SaveSettings(ctx, f.st, alert.Settings{SMTP: smtp.Config{Host: "127.0.0.1", Port: 2525, TLS: smtp.TLSNone,
		From: "wacht@provider.example"}}); err != nil {
		t.Fatal(err)
	}
	if p := en.do("GET", "/settings/alerts", nil); strings.Contains(p.body, `id="mail-off"`) {
		t.Errorf("settings page says no mail server is configured though one is")
	}
}

// TestMailErrorsExplained: a failed test mail and a mail retrying in the
// outbox say in the page's language what went wrong, the server's raw
// answer beside it.
func TestMailErrorsExplained(t *testing.T) {
	f := newAlertsFixture(t)
	ctx := context.Background()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(gone.Addr().(*net.TCPAddr).Port)
	gone.Close()
	de := f.browser(t, "de")
	_, csrf := de.login("admin@example.com", testPassword)
	p := de.do("POST", "/settings/alerts/test", url.Values{"csrf": {csrf}, "smtp.host": {"127.0.0.1"}, "smtp.port": {port},
		"smtp.tls": {"none"}, "smtp.from": {"wacht@provider.example"}, "office_hours.days": {"1"}, "office_hours.start": {"08:00"},
		"office_hours.end": {"17:00"}, "office_hours.timezone": {"Europe/Berlin"}, "test_to": {"tech@provider.example"}})
	if !strings.Contains(p.body, `<span id="test-explained">Der Mailserver hat die Verbindung abgelehnt`) ||
		!strings.Contains(p.body, "connection refused") {
		t.Errorf("failed test mail not explained in German: %d\n%s", p.status, p.body)
	}

	if _, err := f.st.QueueReport(ctx, nil, []core.OutboxItem{{DedupeKey: "k", Channel: core.ChannelEmail,
		Target: "it@kunde.example", Payload: []byte(`{}`), NextAttemptAt: time.Now(), CreatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	box, err := f.st.ListOutbox(ctx, 0)
	if err != nil || len(box) != 1 {
		t.Fatalf("outbox %v %v", box, err)
	}
	if err := f.st.MarkFailed(ctx, box[0].ID, "smtp: 535 5.7.8 authentication failed", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	p = de.do("GET", "/settings/alerts", nil)
	if !strings.Contains(p.body, `<span class="mail-error">Der Mailserver hat Benutzername oder Passwort abgelehnt.</span>`) ||
		!strings.Contains(p.body, "535 5.7.8 authentication failed") {
		t.Errorf("outbox error not explained in German:\n%s", p.body)
	}
}
