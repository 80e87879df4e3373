package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/alert"
)

// TestSMTPPasswordStaysWithItsServer: the stored SMTP password is kept
// when the settings are saved without it, but never sent to another
// server, port or TLS mode — by a save or a test mail — unless it is typed
// again (issue 12, M5: a stored secret is never sent to a new target).
func TestSMTPPasswordStaysWithItsServer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tokens["admin"]
	put := func(smtp string) (int, string) {
		t.Helper()
		return f.send(t, "PUT", "/api/v1/alerts/settings", admin, `{"smtp":`+smtp+`}`, nil)
	}
	if st, body := put(`{"host":"mail.provider.example","username":"wacht","password":"geheim-4711","from":"wacht@provider.example"}`); st != http.StatusOK {
		t.Fatalf("first save: %d %s", st, body)
	}
	stored := func() alert.Settings {
		t.Helper()
		s, err := alert.LoadSettings(ctx, f.st)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, moved := range []string{
		`{"host":"mail.attacker.example","username":"wacht","from":"wacht@provider.example"}`,
		`{"host":"mail.provider.example","port":2525,"username":"wacht","from":"wacht@provider.example"}`,
		`{"host":"mail.provider.example","tls":"tls","username":"wacht","password":"********","from":"wacht@provider.example"}`,
	} {
		st, body := put(moved)
		if st != http.StatusBadRequest || !strings.Contains(body, `"smtp.password"`) || !strings.Contains(body, "send password again") {
			t.Errorf("saving %s without the password: %d %s", moved, st, body)
		}
		st, body = f.send(t, "POST", "/api/v1/alerts/settings/test", admin, `{"to":"tech@provider.example","settings":{"smtp":`+moved+`}}`, nil)
		if st != http.StatusBadRequest || !strings.Contains(body, `"smtp.password"`) {
			t.Errorf("test mail with %s without the password: %d %s", moved, st, body)
		}
	}
	if s := stored(); s.SMTP.Host != "mail.provider.example" || s.SMTP.Password != "geheim-4711" {
		t.Errorf("a refused save changed the settings: %+v", s.SMTP)
	}
	// The same server (the default port written out): the password stays.
	if st, body := put(`{"host":"Mail.Provider.Example","port":587,"tls":"starttls","username":"wacht","from":"alerts@provider.example"}`); st != http.StatusOK {
		t.Fatalf("save for the same server: %d %s", st, body)
	}
	if s := stored(); s.SMTP.Password != "geheim-4711" || s.SMTP.From != "alerts@provider.example" {
		t.Errorf("after a save for the same server: %+v", s.SMTP)
	}
	// Another server with the password typed again is fine.
	if st, body := put(`{"host":"smtp.neu.example","username":"wacht","password":"neu-1234","from":"alerts@provider.example"}`); st != http.StatusOK {
		t.Fatalf("save with the password: %d %s", st, body)
	}
	if s := stored(); s.SMTP.Password != "neu-1234" || s.SMTP.Host != "smtp.neu.example" {
		t.Errorf("after a save with the password: %+v", s.SMTP)
	}
}
