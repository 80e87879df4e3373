package api_test

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

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
// Upgraded connections (the terminal) pass through unchecked.
func specChecked(t testing.TB, h http.Handler) http.Handler {
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
		_, pattern := ops.Handler(r)
		if r.Header.Get("Upgrade") != "" {
			h.ServeHTTP(w, r)
			return
		}
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
