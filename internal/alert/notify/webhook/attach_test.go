package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
)

// TestSendLeavesAttachmentsOut: an e-mail's attachment (the monthly
// report's PDF) never reaches a webhook, in either format.
func TestSendLeavesAttachmentsOut(t *testing.T) {
	var bodies [][]byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, b)
	}))
	defer srv.Close()
	pdf := bytes.Repeat([]byte("%PDF-1.7 Monatsbericht "), 9000) // ~200 KB
	m := notify.Message{ID: "m1", Lang: "de", Subject: "[Wacht] Monatsbericht", Text: "Monatsbericht November 2026\n",
		Event:       notify.Event{Kind: notify.KindReport, Client: "Müller GmbH"},
		Attachments: []notify.Attachment{{Name: "Monatsbericht-2026-11.pdf", ContentType: "application/pdf", Data: pdf}},
		Secret:      "s3cret"}
	for _, f := range []string{FormatJSON, FormatChat} {
		m.Format = f
		if err := Send(context.Background(), srv.Client(), srv.URL, m, time.Now()); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if len(bodies) != 2 {
		t.Fatalf("%d deliveries", len(bodies))
	}
	enc := base64.StdEncoding.EncodeToString(pdf[:300])
	for i, b := range bodies {
		s := string(b)
		if len(b) > 2000 || strings.Contains(s, "attachment") || strings.Contains(s, "Monatsbericht-2026-11.pdf") ||
			strings.Contains(s, enc[:64]) || !strings.Contains(s, "Monatsbericht November 2026") {
			t.Errorf("body %d (%d bytes) carries the attachment or lost the text: %.300s", i, len(b), s)
		}
	}
}
