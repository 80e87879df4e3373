package smtp_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
)

// TestExplainRealFailures: the errors of real failed sessions (against the
// test server, a closed port and a server that never answers) get their
// English and German explanation.
func TestExplainRealFailures(t *testing.T) {
	ctx := context.Background()
	plain := alerttest.Start(t, alerttest.Options{Mode: "none"})
	auth := alerttest.Start(t, alerttest.Options{Mode: smtp.TLSStartTLS, Username: "wacht", Password: "pw"})
	closedPort := port(t, alerttest.Closed(t))
	silentPort := port(t, alerttest.Silent(t))
	base := smtp.Config{From: "wacht@provider.example", Timeout: 2 * time.Second}
	cases := []struct {
		name   string
		c      smtp.Config
		en, de string
	}{
		{"refused", smtp.Config{Host: "127.0.0.1", Port: closedPort, TLS: smtp.TLSNone, From: base.From}, "refused the connection", "Verbindung abgelehnt"},
		{"no answer", smtp.Config{Host: "127.0.0.1", Port: silentPort, TLS: smtp.TLSNone,
			From: base.From, Timeout: 300 * time.Millisecond}, "did not answer in time", "nicht rechtzeitig geantwortet"},
		{"untrusted certificate", with(base, auth, smtp.TLSStartTLS, "wacht", "pw"), "(TLS) failed", "Zertifikat des Servers"},
		{"STARTTLS not offered", with(base, plain, smtp.TLSStartTLS, "", ""), "(TLS) failed", "TLS-Modus"},
		{"wrong password", withCA(with(base, auth, smtp.TLSStartTLS, "wacht", "nope"), auth), "user name or password", "Benutzername oder Passwort"},
		{"not configured", smtp.Config{}, "No mail server configured", "Kein Mailserver eingerichtet"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := smtp.Send(ctx, tc.c, "tech@provider.example", msg())
			if err == nil {
				t.Fatal("sent")
			}
			got := smtp.Explain(err.Error())
			if !strings.Contains(got.EN, tc.en) || !strings.Contains(got.DE, tc.de) {
				t.Errorf("%v\nexplained as %q / %q", err, got.EN, got.DE)
			}
		})
	}
	// A refused recipient, as servers word it.
	for _, raw := range []string{"failed to send mail: 550 5.1.1 <x@example.org>: Recipient address rejected: User unknown",
		"smtp: RCPT TO: 553 5.7.1 relaying denied"} {
		if got := smtp.Explain(raw); !strings.Contains(got.EN, "recipient address") || !strings.Contains(got.DE, "Empfängeradresse") {
			t.Errorf("%q explained as %q", raw, got.EN)
		}
	}
	if got := smtp.Explain("something odd"); got.DE != "Der Mailserver hat einen Fehler gemeldet." {
		t.Errorf("unknown error explained as %q", got.DE)
	}
}

// port is the port of a loopback address.
func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
