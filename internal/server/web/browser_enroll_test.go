package web

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// oneMSI is an installer source with one published MSI.
type oneMSI struct{}

var msiBytes = bytes.Repeat([]byte("MSI!"), 1000)

func (oneMSI) ListAgentFiles(context.Context, core.User) ([]core.AgentFile, error) {
	return []core.AgentFile{{Kind: "msi", OS: "windows", Arch: "amd64", Version: "0.9.0", Name: "wacht-agent-0.9.0-x64.msi", Size: int64(len(msiBytes))},
		{Kind: "binary", OS: "linux", Arch: "amd64", Version: "0.9.0", Name: "wacht-agent-linux-amd64"}}, nil
}

func (oneMSI) OpenInstaller(_ context.Context, kind, arch string) (core.AgentFile, io.ReadSeekCloser, error) {
	if kind != "msi" || arch != "amd64" {
		return core.AgentFile{}, nil, &service.NoInstallerError{Kind: kind, Arch: arch}
	}
	return core.AgentFile{Kind: kind, Arch: arch, Name: "wacht-agent-0.9.0-x64.msi", UploadedAt: time.Now()},
		struct {
			*bytes.Reader
			io.Closer
		}{bytes.NewReader(msiBytes), io.NopCloser(nil)}, nil
}

// TestBrowserAddDevice: in headless Chromium an administrator opens "Add
// device" from the client page, creates a token, sees it once with the
// install commands and the published MSI, and revokes it after
// confirming.
func TestBrowserAddDevice(t *testing.T) {
	needChromium(t)
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	d, _ := seed(t, st, "mueller-pc")
	for k, v := range map[string]string{service.SettingServerURL: "https://wacht.example.com:8443",
		service.SettingCertFingerprint: strings.Repeat("ab", 32), service.SettingCertPin: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="} {
		if err := st.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	hd, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: &fakeCommander{}}), Installers: oneMSI{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(hd)
	defer srv.Close()

	c := newChrome(t, srv.URL)
	step, text := c.step, c.text
	c.login("admin@example.com", "#device-list")
	site := strconv.FormatInt(d.SiteID, 10)
	step("client page → Add device", chromedp.Navigate(srv.URL+"/clients/"+strconv.FormatInt(d.ClientID, 10)),
		chromedp.Click("#add-device-"+site), chromedp.WaitVisible("#add-device-title"))
	if m := text("#installers"); !strings.Contains(m, "wacht-agent-0.9.0-x64.msi") || strings.Contains(m, "wacht-agent-linux-amd64") {
		t.Errorf("installers card:\n%s", m)
	}

	step("create a token",
		chromedp.SendKeys("#enroll-label", "Intune rollout"),
		chromedp.SetValue("#enroll-uses", "25"),
		chromedp.Click("#enroll-create"), chromedp.WaitVisible("#cmd-windows"))
	tokStr := strings.TrimSpace(text("#enroll-token"))
	tok, err := protocol.ParseToken(tokStr)
	if err != nil || tok.URL != "https://wacht.example.com:8443" || tok.Fingerprint != strings.Repeat("ab", 32) {
		t.Fatalf("token %q: %+v, %v", tokStr, tok, err)
	}
	win, lin, mac := text("#cmd-windows"), text("#cmd-linux"), text("#cmd-macos")
	if !strings.Contains(win, "msiexec.exe") || !strings.Contains(win, tokStr) || !strings.Contains(win, strings.Repeat("ab", 32)) ||
		!strings.Contains(win, "https://wacht.example.com:8443/api/agent/installers/msi/amd64") {
		t.Errorf("Windows command:\n%s", win)
	}
	if !strings.Contains(lin, "dpkg -i") || !strings.Contains(lin, "rpm -i") || !strings.Contains(lin, "--pinnedpubkey 'sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='") ||
		!strings.Contains(lin, "WACHT_TOKEN='"+tokStr+"'") {
		t.Errorf("Linux command:\n%s", lin)
	}
	if !strings.Contains(mac, "install.sh") || !strings.Contains(mac, "/api/agent/installers/tar.gz/") || !strings.Contains(mac, "WACHT_TOKEN='"+tokStr+"'") {
		t.Errorf("macOS command:\n%s", mac)
	}
	ts, err := st.ListEnrollmentTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, et := range ts {
		if et.Label == "Intune rollout" {
			id = et.ID
			if et.MaxUses != 25 || et.CreatedBy != "admin@example.com" || et.ExpiresAt == nil ||
				et.ExpiresAt.Before(time.Now().Add(7*24*time.Hour-time.Hour)) {
				t.Errorf("stored token %+v", et)
			}
		}
	}
	row := "#token-" + strconv.FormatInt(id, 10)
	if r := text(row); !strings.Contains(r, "Intune rollout") || !strings.Contains(r, "0/25") || !strings.Contains(r, "active") {
		t.Errorf("token row: %q", r)
	}

	revoke := "#revoke-" + strconv.FormatInt(id, 10)
	step("revoke after confirming", chromedp.Click(revoke), chromedp.WaitVisible(revoke+"-now"),
		chromedp.Click(revoke+"-now"), chromedp.WaitNotPresent(revoke+"-now"),
		chromedp.WaitVisible("#add-device-title"))
	if r := text(row); !strings.Contains(r, "revoked") {
		t.Errorf("token row after revoking: %q", r)
	}
	if strings.Contains(text("main"), tokStr) {
		t.Error("the token is shown again after the redirect")
	}
	c.checkConsole()
	// (The 404 below is logged as a failed load, so the console was checked first.)
	step("an installer nobody published", chromedp.Navigate(srv.URL+"/installers/rpm/arm64"), chromedp.WaitVisible(`p[role="alert"]`))
	if m := text("main"); !strings.Contains(m, "no installer published for rpm/arm64") {
		t.Errorf("missing installer page:\n%s", m)
	}
	if t.Failed() {
		c.screenshot("add-device.png")
	}
}
