package openapitest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recordingTB keeps what the checker reports instead of failing the test.
type recordingTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recordingTB) Cleanup(fn func()) { r.cleanups = append(r.cleanups, fn) }

// TestCheckerFails proves that both the wrapped handler and the wrapped
// transport report a body against its schema, an undocumented status and
// an answer of no operation, and let a right one and a download pass.
func TestCheckerFails(t *testing.T) {
	answer := func(status int, ct, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/devices", answer(http.StatusOK, "application/json", `[{"id":"seven","worst_status":"fine"}]`))
	mux.Handle("GET /api/v1/clients", answer(http.StatusTeapot, "application/json", `{"error":"teapot","code":"internal"}`))
	mux.Handle("GET /api/v1/unlisted", answer(http.StatusOK, "application/json", `{}`))
	mux.Handle("GET /api/v1/sites", answer(http.StatusOK, "application/json", `[{"id":1,"client_id":2,"name":"HQ"}]`))
	mux.Handle("GET /api/v1/billing/export", answer(http.StatusOK, "text/csv", "not;json\n"))
	paths := []string{"/api/v1/devices", "/api/v1/clients", "/api/v1/unlisted", "/api/v1/sites", "/api/v1/billing/export"}
	want := []string{"GET /api/v1/devices → 200: response body doesn't match", "GET /api/v1/clients → 418: status is not supported",
		"GET /api/v1/unlisted → 200: no operation"}
	for _, side := range []string{"handler", "transport"} {
		t.Run(side, func(t *testing.T) {
			rec := &recordingTB{TB: t}
			var srv *httptest.Server
			client := http.DefaultClient
			if side == "handler" {
				srv = httptest.NewServer(Handler(rec, mux))
			} else {
				srv = httptest.NewServer(mux)
				client = &http.Client{Transport: Transport(rec, nil)}
			}
			for _, p := range paths {
				resp, err := client.Get(srv.URL + p)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			srv.Close()
			for _, fn := range rec.cleanups {
				fn()
			}
			if len(rec.errs) != len(want) {
				t.Fatalf("reported %d failures, want %d: %q", len(rec.errs), len(want), rec.errs)
			}
			for i, w := range want {
				if !strings.HasPrefix(rec.errs[i], w) {
					t.Errorf("failure %d: %.200q, want it to start with %q", i, rec.errs[i], w)
				}
			}
		})
	}
}
