package server

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestEnrollmentOnRealServer: a running server stores its certificate's
// SPKI pin next to the fingerprint, a token made from the stored settings
// carries both into its commands, and the installer route is mounted
// before the gateway and answers by the token's state.
func TestEnrollmentOnRealServer(t *testing.T) {
	data := t.TempDir()
	srv := start(t, data)
	ctx := context.Background()
	st, err := OpenStore(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fp, pin, err := tlsconf.PinFile(filepath.Join(data, "tls", tlsconf.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetSetting(ctx, service.SettingCertPin); err != nil || got != pin {
		t.Fatalf("stored pin %q (%v), want %q", got, err, pin)
	}
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Hannover")
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Deps{Store: st})
	active, err := svc.CreateSiteEnrollmentToken(ctx, service.CLI, site.ID, service.SiteToken{Label: "active"})
	if err != nil {
		t.Fatal(err)
	}
	if active.Server.Fingerprint != fp || active.Server.Pin != pin || !strings.Contains(active.Commands.Linux, "sha256//"+pin) ||
		!strings.Contains(active.Commands.Windows, fp) {
		t.Errorf("issued %+v", active)
	}
	revoked, err := svc.CreateSiteEnrollmentToken(ctx, service.CLI, site.ID, service.SiteToken{Label: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.RevokeEnrollmentToken(ctx, service.CLI, revoked.ID); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: pinned(fp)}, Timeout: 10 * time.Second}
	for _, c := range []struct {
		token  string
		status int
		code   string
	}{{"", 401, protocol.EnrollTokenUnknown}, {revoked.Token, 403, protocol.EnrollTokenRevoked}} {
		req, _ := http.NewRequest("GET", "https://"+srv.addr+"/api/agent/installers/msi/amd64", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e protocol.ErrorResponse
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != c.status || e.Code != c.code {
			t.Errorf("token %.20q: %d %+v, want %d %s", c.token, resp.StatusCode, e, c.status, c.code)
		}
	}
	// An active token passes the check (what follows depends on what
	// is published).
	req, _ := http.NewRequest("GET", "https://"+srv.addr+"/api/agent/installers/msi/amd64", nil)
	req.Header.Set("Authorization", "Bearer "+active.Token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		t.Errorf("active token refused: %d", resp.StatusCode)
	}
}
