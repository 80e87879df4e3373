package alert

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestOutboxCarriesAttachment: a message with a ~200 KB attachment (the
// monthly report's PDF) survives the sealed outbox and arrives by e-mail
// with its bytes intact; the same message to a webhook arrives without it.
func TestOutboxCarriesAttachment(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	var mu sync.Mutex
	var hooks [][]byte
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooks = append(hooks, b)
		mu.Unlock()
	}))
	defer hook.Close()

	pdf := make([]byte, 200<<10)
	copy(pdf, "%PDF-1.7\n")
	if _, err := rand.Read(pdf[9:]); err != nil {
		t.Fatal(err)
	}
	m := notify.Message{ID: notify.StableID("monthly:1:2026-11"), Lang: "de", Subject: "[Wacht] Monatsbericht November 2026",
		Text: "Im Anhang der Monatsbericht.\n", Event: notify.Event{Kind: notify.KindReport, Client: "Müller GmbH"},
		Attachments: []notify.Attachment{{Name: "Monatsbericht-2026-11.pdf", ContentType: "application/pdf", Data: pdf}}}
	mail, err := json.Marshal(m)
	must(t, "Marshal", err)
	m.Format = "json"
	wh, err := json.Marshal(m)
	must(t, "Marshal", err)
	queued, err := st.QueueReport(ctx, nil, []core.OutboxItem{
		{DedupeKey: "monthly:1:2026-11:mail", Channel: core.ChannelEmail, Target: "it@mueller.example", Payload: mail},
		{DedupeKey: "monthly:1:2026-11:hook", Channel: core.ChannelWebhook, Target: hook.URL, Payload: wh},
	})
	must(t, "QueueReport", err)
	if !queued {
		t.Fatal("not queued")
	}
	e := New(Options{Store: st, HTTPClient: hook.Client()})
	deliverAll(t, e)
	got := srv.WaitFor(t, 1, 10*time.Second)[0]
	if ct := got.Header("Content-Type"); !strings.HasPrefix(ct, "multipart/mixed") {
		t.Fatalf("Content-Type %q", ct)
	}
	// The base64 body of the attachment, line-wrapped, decodes to the PDF.
	body := got.Body()
	i := strings.Index(body, `filename="Monatsbericht-2026-11.pdf"`)
	if i < 0 {
		t.Fatalf("no attachment named Monatsbericht-2026-11.pdf in %.500s", body)
	}
	rest := body[i:]
	start := strings.Index(rest, "\r\n\r\n")
	if start < 0 {
		start = strings.Index(rest, "\n\n")
	}
	end := strings.Index(rest[start:], "--")
	b64 := strings.Join(strings.Fields(rest[start:start+end]), "")
	dec, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || !bytes.Equal(dec, pdf) {
		t.Errorf("attachment: %d bytes (err %v), want the %d sent", len(dec), err, len(pdf))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hooks) != 1 {
		t.Fatalf("%d webhook deliveries", len(hooks))
	}
	if len(hooks[0]) > 4096 || bytes.Contains(hooks[0], []byte("Monatsbericht-2026-11.pdf")) {
		t.Errorf("webhook body of %d bytes carries the attachment", len(hooks[0]))
	}
	box, err := st.ListOutbox(ctx, 0)
	must(t, "ListOutbox", err)
	for _, it := range box {
		if it.DeliveredAt == nil {
			t.Errorf("%s not delivered: %s", it.DedupeKey, it.LastError)
		}
	}
}
