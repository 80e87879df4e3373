package loadsim

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestFetchBlob downloads from a pinned TLS server that serves a file to
// the right ticket only, and refuses what has another size or hash.
func TestFetchBlob(t *testing.T) {
	data := []byte(strings.Repeat("Installationsprogramm ", 5000))
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	var body []byte // what the server sends
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != BlobPath+sum || r.Header.Get(TicketHeader) != "ticket-1" {
			http.Error(w, `{"code":"ticket"}`, http.StatusUnauthorized)
			return
		}
		w.Write(body)
	}))
	defer ts.Close()
	s := &Sim{server: ts.URL, fp: protocol.Fingerprint(ts.Certificate().Raw)}
	ctx := t.Context()

	body = data
	if n, err := s.FetchBlob(ctx, sum, int64(len(data)), "ticket-1"); err != nil || n != int64(len(data)) {
		t.Fatalf("FetchBlob = %d, %v", n, err)
	}
	if _, err := s.FetchBlob(ctx, sum, int64(len(data)), "ticket-2"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong ticket: %v", err)
	}
	for name, b := range map[string][]byte{
		"changed": append([]byte("X"), data[1:]...),
		"short":   data[:len(data)-1],
		"long":    append(append([]byte{}, data...), 'x'),
	} {
		body = b
		if _, err := s.FetchBlob(ctx, sum, int64(len(data)), "ticket-1"); !errors.Is(err, ErrBlobMismatch) {
			t.Errorf("%s: %v", name, err)
		}
	}
	body = data
	s.fp = strings.Repeat("ab", 32)
	if _, err := s.FetchBlob(ctx, sum, int64(len(data)), "ticket-1"); !errors.Is(err, agent.ErrPinMismatch) {
		t.Errorf("another certificate: %v", err)
	}
}
