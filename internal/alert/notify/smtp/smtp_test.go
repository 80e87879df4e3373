package smtp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
)

func msg() notify.Message {
	return notify.Message{ID: notify.StableID("k1"), Lang: "de", Subject: "[Wacht] STÖRUNG: disk C: auf srv01",
		Text: "Wert: 96,5 %\nGerät: srv01\n", Event: notify.Event{Kind: notify.KindOutage}}
}

func TestSendModes(t *testing.T) {
	for _, tc := range []struct {
		name, mode, user string
	}{
		{"starttls with auth", smtp.TLSStartTLS, "wacht"},
		{"implicit tls with auth", smtp.TLSImplicit, "wacht"},
		{"starttls without auth", smtp.TLSStartTLS, ""},
		{"plain on loopback", smtp.TLSNone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := alerttest.Start(t, alerttest.Options{Mode: tc.mode, Username: tc.user, Password: "pw"})
			c := smtp.Config{Host: srv.Host(), Port: srv.Port(), TLS: tc.mode, Username: tc.user, Password: "pw",
				From: "wacht@provider.example", TLSConfig: srv.CertPool, Timeout: 5 * time.Second}
			if err := smtp.Send(context.Background(), c, "tech@provider.example", msg()); err != nil {
				t.Fatalf("Send: %v", err)
			}
			m := srv.WaitFor(t, 1, 5*time.Second)[0]
			if m.From != "wacht@provider.example" || len(m.To) != 1 || m.To[0] != "tech@provider.example" {
				t.Errorf("envelope %q → %v", m.From, m.To)
			}
			if m.TLS != (tc.mode != smtp.TLSNone) || m.AuthUser != tc.user {
				t.Errorf("TLS %v, auth %q", m.TLS, m.AuthUser)
			}
			if got := m.Header("Message-Id"); got != "<"+notify.StableID("k1")+"@provider.example>" {
				t.Errorf("Message-Id %q", got)
			}
			if m.Header("Subject") != msg().Subject || !strings.Contains(m.Body(), "Wert: 96,5 %") {
				t.Errorf("subject %q body %q", m.Header("Subject"), m.Body())
			}
		})
	}
}

func TestSendRefusals(t *testing.T) {
	ctx := context.Background()
	plain := alerttest.Start(t, alerttest.Options{Mode: "none"})
	auth := alerttest.Start(t, alerttest.Options{Mode: smtp.TLSStartTLS, Username: "wacht", Password: "pw"})
	base := smtp.Config{From: "wacht@provider.example", Timeout: 5 * time.Second}
	cases := []struct {
		name string
		c    smtp.Config
		want string
	}{
		{"starttls required but not offered", with(base, plain, smtp.TLSStartTLS, "", ""), "STARTTLS"},
		{"untrusted certificate", with(base, auth, smtp.TLSStartTLS, "wacht", "pw"), "certificate"},
		{"wrong password", withCA(with(base, auth, smtp.TLSStartTLS, "wacht", "nope"), auth), "auth"},
		{"no TLS to a remote host", smtp.Config{Host: "mail.example.org", TLS: smtp.TLSNone, From: "a@b.c"}, "loopback"},
		{"not configured", smtp.Config{}, "no server"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := smtp.Send(ctx, tc.c, "tech@provider.example", msg())
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if n := len(plain.Mails()) + len(auth.Mails()); n != 0 {
		t.Errorf("%d mails accepted, want none", n)
	}
}

func with(c smtp.Config, srv *alerttest.Server, mode, user, pw string) smtp.Config {
	c.Host, c.Port, c.TLS, c.Username, c.Password = srv.Host(), srv.Port(), mode, user, pw
	return c
}

func withCA(c smtp.Config, srv *alerttest.Server) smtp.Config {
	c.TLSConfig = srv.CertPool
	return c
}

func TestSendManyOneConnection(t *testing.T) {
	srv := alerttest.Start(t, alerttest.Options{Mode: smtp.TLSStartTLS})
	c := smtp.Config{Host: srv.Host(), Port: srv.Port(), From: "wacht@provider.example", TLSConfig: srv.CertPool}
	errs := smtp.SendMany(context.Background(), c, []smtp.Envelope{
		{To: "a@provider.example", Message: msg()},
		{To: "not an address", Message: msg()},
		{To: "b@provider.example", Message: msg()},
	})
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Fatalf("errs = %v, want only the bad address to fail", errs)
	}
	ms := srv.WaitFor(t, 2, 5*time.Second)
	if ms[0].To[0] != "a@provider.example" || ms[1].To[0] != "b@provider.example" || !ms[0].TLS {
		t.Errorf("mails to %v and %v", ms[0].To, ms[1].To)
	}
	srv.Stop()
	for i, err := range smtp.SendMany(context.Background(), c, []smtp.Envelope{{To: "a@provider.example", Message: msg()}, {To: "b@provider.example", Message: msg()}}) {
		if err == nil {
			t.Errorf("message %d: no error with the server down", i)
		}
	}
}
