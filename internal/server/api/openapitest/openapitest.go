// Package openapitest holds API answers against docs/openapi.yaml in
// tests: the api package's tests through a wrapped handler, the
// end-to-end tests through a wrapped client transport, so that every
// answer a test records is checked against the spec that clients are
// generated from.
package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// SpecPath is docs/openapi.yaml, found from this file.
var SpecPath = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "docs", "openapi.yaml")
}()

// Load reads and validates the spec once.
var Load = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(SpecPath)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

// Spec is the spec, or the test fails.
func Spec(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := Load()
	if err != nil {
		t.Fatalf("%s: %v", SpecPath, err)
	}
	return doc
}

// checker validates answers and reports every mismatch when the test ends.
type checker struct {
	doc      *openapi3.T
	ops      *http.ServeMux // the spec's operations, to find an answer's
	mu       sync.Mutex
	failures []string
}

func newChecker(t testing.TB) *checker {
	c := &checker{doc: Spec(t), ops: http.NewServeMux()}
	for path := range c.doc.Paths.Map() {
		for method := range c.doc.Paths.Find(path).Operations() {
			c.ops.Handle(method+" "+path, http.NotFoundHandler())
		}
	}
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, f := range c.failures {
			t.Error(f)
		}
	})
	return c
}

var opts = &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}

// check validates one answer to r. A path under /api/v1/ that no
// operation documents may only be refused (404, 401, 405).
func (c *checker) check(r *http.Request, status int, header http.Header, body []byte) {
	fail := func(format string, args ...any) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.failures = append(c.failures, fmt.Sprintf("%s %s → %d: ", r.Method, r.URL.RequestURI(), status)+fmt.Sprintf(format, args...))
	}
	ct, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
	if ct != "application/json" && len(body) > 0 {
		return // downloads, CSV, PDF: not JSON schemas
	}
	_, pattern := c.ops.Handler(r)
	method, path, _ := strings.Cut(pattern, " ")
	if path == "" || path == "/" {
		if strings.HasPrefix(r.URL.Path, "/api/v1/") && status != http.StatusNotFound && status != http.StatusUnauthorized && status != http.StatusMethodNotAllowed {
			fail("no operation in %s", SpecPath)
		}
		return
	}
	item := c.doc.Paths.Find(path)
	route := &routers.Route{Spec: c.doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: opts},
		Status:                 status,
		Header:                 header,
		Options:                opts,
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		fail("%v\n%s", err, body)
	}
}

// Handler wraps h so that every answer it gives is validated; the test
// fails at its end on any mismatch. Benchmarks get h itself: they measure
// the server, not the validator.
func Handler(t testing.TB, h http.Handler) http.Handler {
	if _, bench := t.(*testing.B); bench {
		return h
	}
	c := newChecker(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			h.ServeHTTP(w, r)
			return
		}
		rec := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		c.check(r, rec.status(), w.Header(), rec.body.Bytes())
	})
}

// Transport wraps base (http.DefaultTransport if nil) so that every answer
// of an API path documented in the spec is validated as the client reads
// it; the test fails at its end on any mismatch. Benchmarks get base
// itself.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if _, bench := t.(*testing.B); bench {
		return base
	}
	return &transport{base: base, c: newChecker(t)}
}

type transport struct {
	base http.RoundTripper
	c    *checker
}

func (tr *transport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := tr.base.RoundTrip(r)
	if err != nil || !strings.HasPrefix(r.URL.Path, "/api/") {
		return resp, err
	}
	// Only JSON and empty answers are read here: a download or a stream
	// reaches the caller untouched, as it arrives.
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct != "application/json" && resp.ContentLength != 0 && resp.StatusCode != http.StatusNoContent {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, nil // the caller sees the short body
	}
	tr.c.check(r, resp.StatusCode, resp.Header, body)
	return resp, nil
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
