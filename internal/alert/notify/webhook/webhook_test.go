package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
)

func TestSignKnownVector(t *testing.T) {
	// HMAC-SHA256("key", "1700000000.{}") computed independently with
	// printf '1700000000.{}' | openssl dgst -sha256 -hmac key
	const want = "sha256=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
	got := Sign("key", "1700000000", []byte("{}"))
	if got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
	if !Verify("key", "1700000000", []byte("{}"), got) || Verify("key", "1700000001", []byte("{}"), got) ||
		Verify("key", "1700000000", []byte("{ }"), got) {
		t.Fatal("Verify accepts a changed timestamp or body, or rejects the right one")
	}
}

func TestSendFormats(t *testing.T) {
	var gotJSON Payload
	var gotChat map[string]string
	var headers http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		headers = r.Header.Clone()
		if r.URL.Path == "/chat" {
			json.Unmarshal(b, &gotChat)
		} else {
			json.Unmarshal(b, &gotJSON)
			if !Verify("s", r.Header.Get(HeaderTimestamp), b, r.Header.Get(HeaderSignature)) {
				http.Error(w, "bad signature", http.StatusUnauthorized)
				return
			}
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	m := notify.Message{ID: "abc", Lang: "en", Subject: "[Wacht] FAILURE: cpu on h1", Text: "Device: h1\n",
		Event: notify.Event{Kind: notify.KindOutage, Device: "h1"}, Secret: "s", Format: FormatJSON}
	ctx := context.Background()
	if err := Send(ctx, srv.Client(), srv.URL+"/json", m, time.Unix(1700000000, 0)); err != nil {
		t.Fatal(err)
	}
	if gotJSON.ID != "abc" || gotJSON.Event.Device != "h1" || headers.Get(HeaderIdempotent) != "abc" ||
		headers.Get(HeaderTimestamp) != "1700000000" {
		t.Errorf("json: %+v, headers %v", gotJSON, headers)
	}
	m.Format, m.Secret = FormatChat, ""
	if err := Send(ctx, srv.Client(), srv.URL+"/chat", m, time.Now()); err != nil {
		t.Fatal(err)
	}
	if gotChat["text"] != "*[Wacht] FAILURE: cpu on h1*\nDevice: h1\n" || headers.Get(HeaderSignature) != "" {
		t.Errorf("chat: %q, signature %q", gotChat, headers.Get(HeaderSignature))
	}
	// A wrong secret is refused by the receiver: an error, so it is retried.
	m.Format, m.Secret = FormatJSON, "wrong"
	if err := Send(ctx, srv.Client(), srv.URL+"/json", m, time.Now()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("err = %v, want the 401", err)
	}
}
