package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/alert/notify/webhook"
)

// TestExplainRealFailures: the errors of real failed deliveries (receivers
// answering with an error status, a closed port, one that never answers,
// an untrusted certificate) get their English and German explanation.
func TestExplainRealFailures(t *testing.T) {
	status := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		http.Error(w, "nope", code)
	}))
	defer status.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()

	plain := &http.Client{Timeout: 300 * time.Millisecond}
	for _, tc := range []struct {
		name, url string
		en, de    string
	}{
		{"unauthorized", status.URL + "/401", "token in the URL or the signing secret", "Signaturgeheimnis"},
		{"gone", status.URL + "/404", "does not know this URL", "kennt diese URL nicht"},
		{"rate limited", status.URL + "/429", "retried later", "später wiederholt"},
		{"server error", status.URL + "/502", "server error", "Serverfehler"},
		{"bad request", status.URL + "/400", "rejected the message", "abgelehnt"},
		{"refused", "http://" + alerttest.Closed(t) + "/", "refused the connection", "Verbindung abgelehnt"},
		{"no answer", "http://" + alerttest.Silent(t) + "/", "did not answer in time", "nicht rechtzeitig"},
		{"untrusted certificate", tlsSrv.URL, "(TLS) failed", "Zertifikat des Empfängers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := webhook.Send(context.Background(), plain, tc.url, notify.Message{ID: "x", Subject: "s", Format: webhook.FormatJSON}, time.Now())
			if err == nil {
				t.Fatal("delivered")
			}
			got := webhook.Explain(err.Error())
			if !strings.Contains(got.EN, tc.en) || !strings.Contains(got.DE, tc.de) {
				t.Errorf("%v\nexplained as %q / %q", err, got.EN, got.DE)
			}
		})
	}
	if got := webhook.Explain("something odd"); got.DE != "Der Webhook konnte nicht zugestellt werden." {
		t.Errorf("unknown error explained as %q", got.DE)
	}
}
