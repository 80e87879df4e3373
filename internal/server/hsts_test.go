package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
)

// TestHSTSOnEveryHTTPSResponse asks a real server over TLS on loopback for
// a dashboard page, static asset, health check, API route (with and without
// a token) and gateway route: every answer carries Strict-Transport-Security.
func TestHSTSOnEveryHTTPSResponse(t *testing.T) {
	data := t.TempDir()
	srv := start(t, data)
	st, err := OpenStore(context.Background(), data, "")
	if err != nil {
		t.Fatal(err)
	}
	fp, err := st.GetSetting(context.Background(), SettingCertFingerprint)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: pinned(fp)}, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/login", "/", "/static/app.css", "/healthz", "/no-such-page",
		"/api/v1/devices", "/api/v1/nothing", "/api/agent/enroll", "/api/agent/ws"} {
		resp, err := hc.Get("https://" + srv.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Strict-Transport-Security"); got != hstsValue {
			t.Errorf("GET %s (%d): Strict-Transport-Security %q, want %q", path, resp.StatusCode, got, hstsValue)
		}
	}
}

// TestNoHSTSOverPlainHTTP: RFC 6797 forbids the header on plain HTTP, so a
// handler behind a TLS-terminating test server without TLS does not send it.
func TestNoHSTSOverPlainHTTP(t *testing.T) {
	st, err := OpenStore(context.Background(), t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	signer, err := actionkey.Load(filepath.Join(t.TempDir(), actionkey.File), nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Handler(st, gateway.New(gateway.Options{Store: st, ActionKey: signer}), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("plain HTTP response carries Strict-Transport-Security %q", got)
	}
}
