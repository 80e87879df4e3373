package website

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// testCA issues server certificates for 127.0.0.1 with chosen lifetimes.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Wacht Test CA"},
		NotBefore: time.Now().Add(-10 * 24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

func (ca *testCA) issue(t *testing.T, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: notBefore, NotAfter: notAfter, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func tlsServer(t *testing.T, cert tls.Certificate, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewUnstartedServer(h)
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

type collect struct{ rs []check.Result }

func (c *collect) Report(r check.Result) { c.rs = append(c.rs, r) }

func run(t *testing.T, params map[string]any) check.Result {
	t.Helper()
	raw, _ := json.Marshal(params)
	c, err := check.New(Name, raw)
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	var rep collect
	if err := c.Run(context.Background(), &rep); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(rep.rs) != 1 {
		t.Fatalf("got %d results, want 1", len(rep.rs))
	}
	r := rep.rs[0]
	if r.Message.EN == "" || r.Message.DE == "" {
		t.Errorf("message not in both languages: %+v", r.Message)
	}
	return r
}

func mux() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<h1>Willkommen bei Müller GmbH</h1>")) })
	m.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusNotFound) })
	m.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) })
	m.HandleFunc("/loop2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	m.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/", http.StatusMovedPermanently) })
	m.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(30 * time.Second):
		case <-r.Context().Done():
		}
	})
	m.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "admin" || p != "s3cr3t!" || r.Header.Get("X-Tenant") != "kunde1" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte("secret area"))
	})
	m.HandleFunc("/head", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead {
			http.Error(w, "HEAD only", http.StatusMethodNotAllowed)
		}
	})
	m.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < 64; i++ { // 4 MiB, more than MaxBody
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte("TAIL"))
	})
	return m
}

func TestWebsite(t *testing.T) {
	ca := newCA(t)
	now := time.Now()
	good := tlsServer(t, ca.issue(t, now.Add(-time.Hour), now.Add(90*24*time.Hour)), mux())
	soon := tlsServer(t, ca.issue(t, now.Add(-time.Hour), now.Add(5*24*time.Hour+time.Hour)), mux())
	expired := tlsServer(t, ca.issue(t, now.Add(-60*24*time.Hour), now.Add(-3*24*time.Hour)), mux())
	plain := httptest.NewServer(mux())
	t.Cleanup(plain.Close)

	tests := []struct {
		name   string
		params map[string]any
		want   core.Status
		msg    string // substring of the English message
		msgDE  string
		value  bool
	}{
		{"ok", map[string]any{"url": good.URL + "/", "contains": "Müller"}, core.StatusOK, "HTTP 200", "in 89 Tagen", true},
		{"wrong status", map[string]any{"url": good.URL + "/missing"}, core.StatusFailure, "status 404 is not the expected 2xx", "Status 404", true},
		{"expected 404", map[string]any{"url": good.URL + "/missing", "expect_status": []int{404}}, core.StatusOK, "HTTP 404", "", true},
		{"missing text", map[string]any{"url": good.URL + "/", "contains": "Schulze"}, core.StatusFailure, `text "Schulze" not found`, "nicht gefunden", true},
		{"unwanted text", map[string]any{"url": good.URL + "/", "not_contains": "Willkommen"}, core.StatusFailure, `unwanted text "Willkommen" found`, "unerwünschter Text", true},
		{"slow", map[string]any{"url": good.URL + "/slow", "timeout_seconds": 1}, core.StatusFailure, "no complete response within 1 s", "innerhalb von 1 s", false},
		{"response threshold", map[string]any{"url": good.URL + "/", "response_ms": map[string]any{"warn": 0.001}}, core.StatusWarning, "response took longer than 0 ms", "Antwort dauerte", true},
		{"soon expiring", map[string]any{"url": soon.URL + "/"}, core.StatusFailure, "in 5 days", "in 5 Tagen", true},
		{"soon expiring warn only", map[string]any{"url": soon.URL + "/", "cert_days": map[string]any{"warn": 10, "fail": 3}}, core.StatusWarning, "in 5 days", "", true},
		{"expired", map[string]any{"url": expired.URL + "/"}, core.StatusFailure, "expired on", "abgelaufen (vor 3 Tagen)", false},
		{"expired skip verify", map[string]any{"url": expired.URL + "/", "tls_skip_verify": true}, core.StatusFailure, "(3 days ago)", "", true},
		{"redirect loop", map[string]any{"url": good.URL + "/loop"}, core.StatusFailure, "redirect loop: stopped after 10 redirects", "Weiterleitungsschleife", false},
		{"redirect followed", map[string]any{"url": good.URL + "/moved"}, core.StatusOK, "HTTP 200 in", "nach 1 Weiterleitungen", true},
		{"redirect not followed", map[string]any{"url": good.URL + "/moved", "follow_redirects": false}, core.StatusFailure, "status 301", "", true},
		{"redirect expected", map[string]any{"url": good.URL + "/moved", "follow_redirects": false, "expect_status": []int{301, 302}}, core.StatusOK, "HTTP 301", "", true},
		{"basic auth", map[string]any{"url": good.URL + "/auth", "username": "admin", "password": "s3cr3t!", "headers": map[string]string{"X-Tenant": "kunde1"}, "contains": "secret area"}, core.StatusOK, "HTTP 200", "", true},
		{"basic auth wrong", map[string]any{"url": good.URL + "/auth", "username": "admin", "password": "wrong-pw"}, core.StatusFailure, "status 401", "", true},
		{"head", map[string]any{"url": good.URL + "/head", "method": "HEAD"}, core.StatusOK, "HTTP 200", "", true},
		{"plain http", map[string]any{"url": plain.URL + "/"}, core.StatusOK, "HTTP 200", "", true},
		{"big body bounded", map[string]any{"url": plain.URL + "/big", "contains": "TAIL"}, core.StatusFailure, "not found in the first 1 MiB", "", true},
		{"refused", map[string]any{"url": "http://127.0.0.1:1/"}, core.StatusFailure, "request failed", "Anfrage fehlgeschlagen", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := map[string]any{}
			for k, v := range tt.params {
				p[k] = v
			}
			if _, ok := p["ca_pem"]; !ok {
				p["ca_pem"] = ca.pem
			}
			r := run(t, p)
			if r.Status != tt.want {
				t.Errorf("status %v, want %v (%s)", r.Status, tt.want, r.Message.EN)
			}
			if !strings.Contains(r.Message.EN, tt.msg) || !strings.Contains(r.Message.DE, tt.msgDE) {
				t.Errorf("message %q / %q, want %q / %q", r.Message.EN, r.Message.DE, tt.msg, tt.msgDE)
			}
			if (r.Value != nil) != tt.value {
				t.Errorf("value %v, want set=%v", r.Value, tt.value)
			}
			if strings.Contains(r.Message.EN+r.Message.DE, "s3cr3t") {
				t.Errorf("password echoed: %q", r.Message.EN)
			}
		})
	}
}

func TestUntrustedCertificate(t *testing.T) {
	ca, other := newCA(t), newCA(t)
	s := tlsServer(t, ca.issue(t, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour)), mux())
	r := run(t, map[string]any{"url": s.URL + "/", "ca_pem": other.pem})
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "not signed by a trusted authority") {
		t.Errorf("got %v %q", r.Status, r.Message.EN)
	}
}

func TestParams(t *testing.T) {
	if _, err := check.New(Name, nil); !errors.Is(err, check.ErrNotConfigured) {
		t.Errorf("nil params: %v, want ErrNotConfigured", err)
	}
	bad := map[string]string{
		`{"url":"ftp://example.org/"}`:                               "url: must be an absolute http or https URL",
		`{"url":"::not a url"}`:                                      "url:",
		`{"url":"https://"}`:                                         "url: must be an absolute http or https URL with a host",
		`{"url":"https://u:p@host/"}`:                                "without credentials",
		`{"url":"https://h/","method":"POST"}`:                       "method:",
		`{"url":"https://h/","expect_status":[42]}`:                  "expect_status[0]: must be between 100 and 599",
		`{"url":"https://h/","timeout_seconds":61}`:                  "timeout_seconds:",
		`{"url":"https://h/","cert_days":{"warn":3,"fail":7}}`:       "cert_days.warn: must not be below fail",
		`{"url":"https://h/","response_ms":{"warn":900,"fail":100}}`: "response_ms.warn: must not be above fail",
		`{"url":"https://h/","headers":{"X-A":"b\r\nEvil: 1"}}`:      "headers.X-A: is not a valid header",
		`{"url":"https://h/","method":"HEAD","contains":"x"}`:        "contains:",
		`{"url":"https://h/","ca_pem":"garbage"}`:                    "ca_pem:",
		`{"url":"https://h/","password":"x"}`:                        "username:",
		`{"url":"https://h/","bogus":1}`:                             "bogus: unknown parameter; valid: ca_pem,",
	}
	for raw, want := range bad {
		_, err := check.New(Name, json.RawMessage(raw))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", raw, err, want)
		}
	}
}

// Headers that would redirect the request (Host), break its framing or
// hold credentials in readable parameters are refused in both languages.
func TestRefusedHeaders(t *testing.T) {
	for _, h := range []string{"Host", "host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade",
		"Expect", "authorization", "Proxy-Authorization"} {
		raw, _ := json.Marshal(map[string]any{"url": "https://shop.example/", "headers": map[string]string{h: "x"}})
		_, err := check.New(Name, raw)
		var le check.Localized
		if !errors.As(err, &le) || !strings.Contains(le.Localized().EN, "may not be set") ||
			!strings.Contains(le.Localized().DE, "darf nicht gesetzt werden") {
			t.Errorf("header %s: %v, want a refusal in both languages", h, err)
		}
	}
	raw := json.RawMessage(`{"url":"https://shop.example/","headers":{"X-Tenant":"kunde1","Accept-Language":"de"}}`)
	if _, err := check.New(Name, raw); err != nil {
		t.Errorf("ordinary headers: %v", err)
	}
}

// refuser is a dial control that refuses one address in both languages.
type refuser struct {
	addr  string
	dials []string
}

func (f *refuser) control(network, address string, _ syscall.RawConn) error {
	f.dials = append(f.dials, address)
	if strings.HasPrefix(address, f.addr+":") {
		return &check.TextError{Msg: core.Text{EN: "connection to " + f.addr + " refused", DE: "Verbindung zu " + f.addr + " verweigert"}}
	}
	return nil
}

func runRestricted(t *testing.T, raw string, control func(string, string, syscall.RawConn) error) check.Result {
	t.Helper()
	c, err := New(json.RawMessage(raw))
	if err != nil {
		t.Fatal(err)
	}
	c.RestrictDial(control)
	var rep collect
	if err := c.Run(context.Background(), &rep); err != nil || len(rep.rs) != 1 {
		t.Fatalf("run: %v, %d results", err, len(rep.rs))
	}
	return rep.rs[0]
}

// A restricted check asks the dial control about the resolved address
// ("localhost" becomes 127.0.0.1) and reports a refusal as an error in
// both languages, without a request reaching the server; a redirect from
// an allowed host to a refused one is refused at the redirect's dial.
func TestRestrictDial(t *testing.T) {
	var hits int
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer target.Close()
	_, port, _ := net.SplitHostPort(target.Listener.Addr().String())

	f := &refuser{addr: "127.0.0.1"}
	r := runRestricted(t, `{"url":"http://localhost:`+port+`/"}`, f.control)
	if r.Status != core.StatusError || !strings.Contains(r.Message.EN, "connection to 127.0.0.1 refused") ||
		!strings.Contains(r.Message.DE, "Verbindung zu 127.0.0.1 verweigert") {
		t.Errorf("got %v %q / %q", r.Status, r.Message.EN, r.Message.DE)
	}
	if hits != 0 || len(f.dials) == 0 || !strings.HasPrefix(f.dials[0], "127.0.0.1:") {
		t.Errorf("%d requests reached the server, dials %v", hits, f.dials)
	}

	// The allowed host (listening on 127.0.0.2) redirects to the refused
	// 127.0.0.1.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 here: %v", err)
	}
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/admin", http.StatusFound)
	}))
	front.Listener.Close()
	front.Listener = ln
	front.Start()
	defer front.Close()
	f = &refuser{addr: "127.0.0.1"}
	r = runRestricted(t, `{"url":"`+front.URL+`/"}`, f.control)
	if r.Status != core.StatusError || !strings.Contains(r.Message.EN, "refused") || hits != 0 {
		t.Errorf("redirect to a refused address: %v %q, %d requests reached it", r.Status, r.Message.EN, hits)
	}
	if len(f.dials) != 2 || !strings.HasPrefix(f.dials[0], "127.0.0.2:") {
		t.Errorf("dials %v, want the allowed host then the refused one", f.dials)
	}
}
