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

// TestSendHTMLAlternative: a message with HTML goes out as
// multipart/alternative with both parts; one without stays plain text.
func TestSendHTMLAlternative(t *testing.T) {
	srv := alerttest.Start(t, alerttest.Options{Mode: smtp.TLSNone})
	c := smtp.Config{Host: srv.Host(), Port: srv.Port(), TLS: smtp.TLSNone, From: "wacht@provider.example", Timeout: 5 * time.Second}
	m := notify.Message{ID: notify.StableID("report:1:2026-11-27:a"), Lang: "de", Subject: "[Wacht] Tagesbericht Müller GmbH – 27.11.2026",
		Text: "Tagesbericht für Müller GmbH\nKeine kritischen Ereignisse\n", HTML: "<!DOCTYPE html><html><body><h1>Tagesbericht für Müller GmbH</h1></body></html>",
		Event: notify.Event{Kind: notify.KindReport}}
	if err := smtp.Send(context.Background(), c, "it@mueller.example", m); err != nil {
		t.Fatal(err)
	}
	plain := msg()
	if err := smtp.Send(context.Background(), c, "it@mueller.example", plain); err != nil {
		t.Fatal(err)
	}
	ms := srv.WaitFor(t, 2, 5*time.Second)
	if ct := ms[0].Header("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type %q", ct)
	}
	p := ms[0].Parts()
	if p["text/plain"] != m.Text || !strings.Contains(p["text/html"], "<h1>Tagesbericht für Müller GmbH</h1>") || ms[0].Header("X-Wacht-Event") != "report" {
		t.Errorf("parts %q, event %q", p, ms[0].Header("X-Wacht-Event"))
	}
	if ct := ms[1].Header("Content-Type"); !strings.HasPrefix(ct, "text/plain") || len(ms[1].Parts()) != 1 {
		t.Errorf("plain message: Content-Type %q, parts %v", ct, ms[1].Parts())
	}
}
