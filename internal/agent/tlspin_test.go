package agent

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestPinnedClient(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Proto))
	}))
	defer srv.Close()
	pin := protocol.Fingerprint(srv.Certificate().Raw)

	for _, p := range []string{pin, strings.ToUpper(pin)} {
		resp, err := NewHTTPClient(p).Get(srv.URL)
		if err != nil {
			t.Fatalf("matching pin refused: %v", err)
		}
		buf := make([]byte, 16)
		n, _ := resp.Body.Read(buf)
		resp.Body.Close()
		if string(buf[:n]) != "HTTP/1.1" {
			t.Errorf("protocol %q, want HTTP/1.1", buf[:n])
		}
	}

	wrong := strings.Repeat("ab", 32)
	_, err := NewHTTPClient(wrong).Get(srv.URL)
	if err == nil || !errors.Is(err, ErrPinMismatch) {
		t.Errorf("mismatching pin: err = %v, want ErrPinMismatch", err)
	}

	// Without a pin the system CAs verify, and they do not trust the test
	// server's certificate.
	if _, err := NewHTTPClient("").Get(srv.URL); err == nil {
		t.Error("unpinned client trusted a self-signed certificate")
	}
}
