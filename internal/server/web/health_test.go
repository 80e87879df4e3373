package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// /healthz needs no sign-in and says whether the database answers.
func TestHealthz(t *testing.T) {
	f := newFixture(t)
	get := func() (int, string) {
		resp, err := f.srv.Client().Get(f.srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	f.st.Close() // the database goes away
	if code, _ := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("without database: %d, want 503", code)
	}
}
