package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
)

// specPath is docs/openapi.yaml relative to this package.
const specPath = "../../../docs/openapi.yaml"

// unpublished are API routes deliberately left out of the spec, with why.
var unpublished = map[string]string{
	"/api/v1/": "catch-all answering 404 for unknown API routes, not an operation",
}

var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(specPath)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

func spec(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := loadSpec()
	if err != nil {
		t.Fatalf("%s: %v", specPath, err)
	}
	return doc
}

// TestOpenAPIMatchesRoutes fails on an API route missing from the spec and on
// a spec operation without a route, so that the spec cannot fall behind.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := spec(t)
	var inSpec []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+path)
		}
	}
	var routed []string
	for _, r := range api.Routes() {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			if _, skip := unpublished[r.Pattern]; !skip {
				t.Errorf("route %q has no method", r.Pattern)
			}
			continue
		}
		routed = append(routed, method+" "+path)
	}
	for _, op := range routed {
		if !slices.Contains(inSpec, op) {
			t.Errorf("route %s is missing from %s", op, specPath)
		}
	}
	for _, op := range inSpec {
		if !slices.Contains(routed, op) {
			t.Errorf("%s documents %s, which no route serves", specPath, op)
		}
	}
}

// specChecked wraps the API handler h so that each JSON answer, and each
// answer without a body, is validated against the spec's operation for its
// request: status documented, headers and body matching their schemas. The
// failures are reported when t ends, after the test server has closed.
// Upgraded connections (the terminal) pass through unchecked, and so do
// benchmarks.
func specChecked(t testing.TB, h http.Handler) http.Handler {
	if _, bench := t.(*testing.B); bench {
		return h // benchmarks measure the server, not the validator
	}
	doc := spec(t)
	ops := http.NewServeMux()
	for path := range doc.Paths.Map() {
		for method := range doc.Paths.Find(path).Operations() {
			ops.Handle(method+" "+path, http.NotFoundHandler())
		}
	}
	var (
		mu       sync.Mutex
		failures []string
	)
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range failures {
			t.Error(f)
		}
	})
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			h.ServeHTTP(w, r)
			return
		}
		_, pattern := ops.Handler(r)
		rec := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		fail := func(format string, args ...any) {
			mu.Lock()
			defer mu.Unlock()
			failures = append(failures, fmt.Sprintf("%s %s → %d: ", r.Method, r.URL, rec.status())+fmt.Sprintf(format, args...))
		}
		ct, _, _ := mime.ParseMediaType(w.Header().Get("Content-Type"))
		if ct != "application/json" && rec.body.Len() > 0 {
			return // downloads, CSV, PDF: not JSON schemas
		}
		method, path, _ := strings.Cut(pattern, " ")
		if path == "" || path == "/" {
			if rec.status() != http.StatusNotFound && rec.status() != http.StatusUnauthorized && rec.status() != http.StatusMethodNotAllowed {
				fail("no operation in %s", specPath)
			}
			return
		}
		item := doc.Paths.Find(path)
		route := &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: opts},
			Status:                 rec.status(),
			Header:                 w.Header(),
			Options:                opts,
		}
		in.SetBodyBytes(rec.body.Bytes())
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			fail("%v\n%s", err, rec.body.Bytes())
		}
	})
}

// teeWriter passes an answer on and keeps a copy of its status and body.
type teeWriter struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection (flushing
// streamed answers).
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *teeWriter) Flush() { http.NewResponseController(w.ResponseWriter).Flush() }

// TestOpenAPIResponses walks a spread of routes, read and write, good and
// refused, so that specChecked holds their answers against the spec: the
// other tests of this package cover most of the rest.
func TestOpenAPIResponses(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testOpenAPIResponses(t, newFixtureOn(t, e.open)) })
	}
}

func testOpenAPIResponses(t *testing.T, f *fixture) {
	dev := "/api/v1/devices/" + itoa(f.device.ID)
	site := itoa(f.device.SiteID)
	var created struct {
		ID int64 `json:"id"`
	}
	var checks []core.CheckState
	if code := f.do(t, "GET", dev+"/checks", "readonly", &checks); code != http.StatusOK || len(checks) == 0 {
		t.Fatalf("checks: %d %v", code, checks)
	}
	steps := []struct {
		method, path, token, body string
		want                      int
		out                       any
	}{
		{"GET", "/api/v1/devices?sort=status&order=desc", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/devices?order=sideways", "readonly", "", http.StatusBadRequest, nil},
		{"GET", dev, "readonly", "", http.StatusOK, nil},
		{"GET", dev + "/checks", "readonly", "", http.StatusOK, nil},
		{"GET", dev + "/policies", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/devices/0", "readonly", "", http.StatusBadRequest, nil},
		{"GET", "/api/v1/devices/999999", "readonly", "", http.StatusNotFound, nil},
		{"GET", "/api/v1/no-such-route", "readonly", "", http.StatusNotFound, nil},
		{"GET", "/api/v1/clients", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites/" + site, "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites/" + site + "/policies", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/default/policies", "readonly", "", http.StatusOK, nil},
		{"POST", "/api/v1/sites", "admin", `{"client_id":` + itoa(f.device.ClientID) + `,"name":"Lager"}`, http.StatusCreated, &created},
		{"POST", "/api/v1/sites", "admin", `{"client_id":` + itoa(f.device.ClientID) + `,"name":""}`, http.StatusBadRequest, nil},
		{"GET", "/api/v1/policies", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/outages?state=open", "readonly", "", http.StatusOK, nil},
		{"GET", dev + "/outages", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/alerts/presence", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/alerts/settings", "readonly", "", http.StatusForbidden, nil},
		{"GET", "/api/v1/alerts/settings", "admin", "", http.StatusOK, nil},
		{"PUT", "/api/v1/alerts/settings", "admin", `{"smtp":{"host":"mail.example.com","port":587,"tls":"starttls","from":"wacht@example.com"},
			"office_hours":{"days":[1,2,3,4,5],"start":"08:00","end":"17:00","timezone":"Europe/Berlin"},"offline_alert_delay":600}`, http.StatusOK, nil},
		{"POST", "/api/v1/alerts/settings/test", "admin", `{"to":"not an address"}`, http.StatusBadRequest, nil},
		{"GET", "/api/v1/alerts/recipients", "admin", "", http.StatusOK, nil},
		{"POST", "/api/v1/alerts/recipients", "admin", `{"level":"default","channel":"email","target":"ops@example.com","lang":"en"}`, http.StatusCreated, nil},
		{"POST", "/api/v1/alerts/recipients", "admin", `{"level":"default","channel":"pigeon","target":"loft"}`, http.StatusBadRequest, nil},
		{"DELETE", "/api/v1/alerts/recipients/999999", "admin", "", http.StatusNotFound, nil},
		{"GET", "/api/v1/alerts/outbox?limit=10", "admin", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites/" + site + "/network-devices", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/network-devices/999999", "readonly", "", http.StatusNotFound, nil},
		{"POST", dev + "/checks/999999/clear", "tech", `{"until_pass":true}`, http.StatusNotFound, nil},
		{"POST", dev + "/checks/" + itoa(checks[0].CheckID) + "/clear", "tech", `{"until_pass":true,"comment":"known"}`, http.StatusNoContent, nil},
		{"POST", dev + "/checks/" + itoa(checks[0].CheckID) + "/clear", "tech", `{}`, http.StatusBadRequest, nil},
		{"POST", "/api/v1/outages/999999/ack", "tech", `{"comment":"seen"}`, http.StatusNotFound, nil},
		{"GET", "/api/v1/audit?limit=5", "admin", "", http.StatusOK, nil},
		{"GET", "/api/v1/settings/remote", "admin", "", http.StatusOK, nil},
		{"PUT", "/api/v1/settings/require-2fa", "admin", `{"required":false}`, http.StatusOK, nil},
		{"POST", "/api/v1/users", "admin", `{"email":"new@example.com","password":"lang-genug-1","role":"readonly"}`, http.StatusCreated, nil},
	}
	for _, s := range steps {
		if code := f.sendJSON(t, s.method, s.path, s.token, s.body, s.out); code != s.want {
			t.Errorf("%s %s as %s: %d, want %d", s.method, s.path, s.token, code, s.want)
		}
	}
	if code := f.sendJSON(t, "DELETE", "/api/v1/sites/"+itoa(created.ID), "admin", "", nil); code != http.StatusOK {
		t.Errorf("delete site: %d", code)
	}
}

// recordingTB keeps what specChecked reports instead of failing the test.
type recordingTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recordingTB) Cleanup(fn func()) { r.cleanups = append(r.cleanups, fn) }

// TestSpecCheckedFails proves that specChecked reports a body against its
// schema, an undocumented status and an answer of no operation, and lets a
// right one pass.
func TestSpecCheckedFails(t *testing.T) {
	answer := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/devices", answer(http.StatusOK, `[{"id":"seven","worst_status":"fine"}]`))
	mux.Handle("GET /api/v1/clients", answer(http.StatusTeapot, `{"error":"teapot","code":"internal"}`))
	mux.Handle("GET /api/v1/unlisted", answer(http.StatusOK, `{}`))
	mux.Handle("GET /api/v1/sites", answer(http.StatusOK, `[{"id":1,"client_id":2,"name":"HQ"}]`))
	rec := &recordingTB{TB: t}
	srv := httptest.NewServer(specChecked(rec, mux))
	for _, p := range []string{"/api/v1/devices", "/api/v1/clients", "/api/v1/unlisted", "/api/v1/sites"} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	srv.Close()
	for _, fn := range rec.cleanups {
		fn()
	}
	want := []string{"GET /api/v1/devices → 200: response body doesn't match", "GET /api/v1/clients → 418: status is not supported",
		"GET /api/v1/unlisted → 200: no operation"}
	if len(rec.errs) != len(want) {
		t.Fatalf("reported %d failures, want %d: %q", len(rec.errs), len(want), rec.errs)
	}
	for i, w := range want {
		if !strings.HasPrefix(rec.errs[i], w) {
			t.Errorf("failure %d: %.200q, want it to start with %q", i, rec.errs[i], w)
		}
	}
}
