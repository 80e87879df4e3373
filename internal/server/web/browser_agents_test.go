package web

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/wacht-rmm/wacht/internal/release/releasetest"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// agentBuild writes an agent "binary" (an ELF header of x86-64, enough for
// release.Platform) and its signed manifest into dir; tamper changes the
// file after signing.
func agentBuild(t *testing.T, dir string, key ed25519.PrivateKey, version string, tamper bool) (file, manifest string) {
	t.Helper()
	b := releasetest.ELF(elf.EM_X86_64, "build "+version)
	sum := sha256.Sum256(b)
	s, err := release.Sign(key, release.Manifest{Product: release.Product, Kind: release.KindBinary, Version: version, OS: "linux", Arch: "amd64",
		Name: "wacht-agent-linux-amd64", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))})
	if err != nil {
		t.Fatal(err)
	}
	if tamper {
		b[len(b)-1] ^= 1
	}
	sub := filepath.Join(dir, version)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	file = filepath.Join(sub, "wacht-agent-linux-amd64")
	js, _ := json.Marshal(s)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file+release.SigSuffix, js, 0o600); err != nil {
		t.Fatal(err)
	}
	return file, file + release.SigSuffix
}

// TestBrowserAgents publishes a signed agent build on the Agents page
// (a tampered one is refused with the reason), sees the fleet's versions,
// starts a rollout with a pilot client and pauses, resumes and cancels
// it with the page's buttons.
func TestBrowserAgents(t *testing.T) {
	needChromium(t)
	st := storetest.NewSQLite(t)
	f := &fixture{st: st, cmd: &fakeCommander{}}
	f.device, f.users = seed(t, st, "pc-01")
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	box, err := seal.NewBox([]byte(rand.Text() + rand.Text())[:32])
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blobs.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Secrets: box, Blobs: bs,
		ReleaseKeys: []ed25519.PublicKey{pub}})})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	dir := t.TempDir()
	badFile, badManifest := agentBuild(t, dir, key, "0.2.0", true)
	file, manifest := agentBuild(t, dir, key, "0.3.0", false)

	c := newChrome(t, f.srv.URL)
	c.login("admin@example.com", "#nav-agents")
	c.step("open the Agents page", chromedp.Click("#nav-agents"), chromedp.WaitVisible("#agent-versions"), chromedp.WaitVisible("#no-binaries"))
	if got := c.text(`#agent-versions tr[data-version="0.1.0"]`); !strings.Contains(got, "linux") || !strings.Contains(got, "100 %") {
		t.Errorf("versions row: %q", got)
	}
	c.upload("#agent-upload-file", badFile)
	c.upload("#agent-upload-manifest", badManifest)
	c.step("upload a tampered build", chromedp.Click("#agent-upload-button"), chromedp.WaitVisible("#agent-upload-status .n-failure"))
	if got := c.text("#agent-upload-status"); !strings.Contains(got, "tampered") {
		t.Errorf("refusal shown: %q", got)
	}
	// The refused upload is the one expected failure in the console.
	c.mu.Lock()
	for _, m := range c.console {
		if !strings.Contains(m, "status of 400") {
			t.Errorf("browser console: %s", m)
		}
	}
	c.console = nil
	c.mu.Unlock()
	c.upload("#agent-upload-file", file)
	c.upload("#agent-upload-manifest", manifest)
	c.step("upload the build", chromedp.Click("#agent-upload-button"), chromedp.WaitVisible(`#agent-files tbody tr[id^="agent-file-"]`), chromedp.WaitVisible("#rollout-form"))
	fs, err := st.ListAgentFiles(context.Background())
	if err != nil || len(fs) != 1 || fs[0].Version != "0.3.0" {
		t.Fatalf("stored files: %+v %v", fs, err)
	}
	c.step("start a rollout", chromedp.SetValue("#rollout-clients", strconv.FormatInt(f.device.ClientID, 10)), chromedp.SetValue("#rollout-percent", "10"),
		chromedp.Click("#rollout-auto-promote"), chromedp.Click("#rollout-start"), chromedp.WaitVisible("#rollout-progress"), chromedp.WaitVisible("#rollout-pause"))
	if got := c.text("#rollout-state"); got != "running" {
		t.Errorf("state %q", got)
	}
	if got := c.text("#rollout-stage"); got != "pilot ring" {
		t.Errorf("stage %q", got)
	}
	c.step("pause", chromedp.Click("#rollout-pause"), chromedp.WaitVisible("#rollout-resume"), chromedp.WaitVisible("#rollout-pause-reason"))
	c.step("resume", chromedp.Click("#rollout-resume"), chromedp.WaitVisible("#rollout-pause"))
	c.step("cancel", chromedp.Click("#rollout-cancel"), chromedp.WaitVisible("#rollout-form"))
	if got := c.text("#rollout-state"); got != "cancelled" {
		t.Errorf("state after cancel %q", got)
	}
	rs, err := st.ListRollouts(context.Background(), 10)
	if err != nil || len(rs) != 1 || rs[0].State != core.RolloutCancelled || !rs[0].AutoPromote || rs[0].PilotPercent != 10 || len(rs[0].PilotClients) != 1 {
		t.Errorf("stored rollout: %+v %v", rs, err)
	}
	c.screenshot("agents.png")
	c.checkConsole()
}
