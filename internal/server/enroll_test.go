package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
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

	// The token from the service enrolls a device through the gateway;
	// only that uses it up.
	tok, err := protocol.ParseToken(active.Token)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(protocol.EnrollRequest{Token: tok.Secret, PublicKey: pub, Hostname: "pc1", OS: "linux", MachineID: "m1"})
	resp, err = hc.Post(tok.URL+protocol.PathEnroll, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var er protocol.EnrollResponse
	_ = json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || er.DeviceID == 0 || er.Site != "Hannover" {
		t.Fatalf("enroll with the issued token: %d %+v", resp.StatusCode, er)
	}
	got, err := st.GetEnrollmentToken(ctx, active.ID)
	if err != nil || got.Uses != 1 || got.Label != "active" {
		t.Errorf("after one download and one enrollment: %+v %v", got, err)
	}
}
