package webhook

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
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
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepts, never answers
		}
	}()
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := gone.Addr().String()
	gone.Close()
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
		{"refused", "http://" + closed + "/", "refused the connection", "Verbindung abgelehnt"},
		{"no answer", "http://" + silent.Addr().String() + "/", "did not answer in time", "nicht rechtzeitig"},
		{"untrusted certificate", tlsSrv.URL, "(TLS) failed", "Zertifikat des Empfängers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Send(context.Background(), plain, tc.url, notify.Message{ID: "x", Subject: "s", Format: FormatJSON}, time.Now())
			if err == nil {
				t.Fatal("delivered")
			}
			got := Explain(err.Error())
			if !strings.Contains(got.EN, tc.en) || !strings.Contains(got.DE, tc.de) {
				t.Errorf("%v\nexplained as %q / %q", err, got.EN, got.DE)
			}
		})
	}
	if got := Explain("something odd"); got.DE != "Der Webhook konnte nicht zugestellt werden." {
		t.Errorf("unknown error explained as %q", got.DE)
	}
}
