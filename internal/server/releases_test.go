package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/codesign"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/release/releasetest"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func TestLoadReleaseKeys(t *testing.T) {
	data, other := t.TempDir(), t.TempDir()
	if keys, err := LoadReleaseKeys(data, nil); err != nil || len(keys) != 0 {
		t.Fatalf("no keys: %v %v", keys, err)
	}
	a, err := release.GenerateKey(filepath.Join(other, "a.key"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := release.GenerateKey(filepath.Join(other, "b.key"))
	if err != nil {
		t.Fatal(err)
	}
	pubA, _ := os.ReadFile(filepath.Join(other, "a.key.pub"))
	if err := os.WriteFile(filepath.Join(data, ReleasePubFile), pubA, 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadReleaseKeys(data, []string{filepath.Join(other, "b.key.pub"), filepath.Join(other, "a.key.pub")})
	if err != nil || len(keys) != 2 || !keys[0].Equal(a) || !keys[1].Equal(b) {
		t.Fatalf("keys: %v %v", keys, err)
	}
	// A private key where a public one belongs is an error, not ignored.
	if _, err := LoadReleaseKeys(data, []string{filepath.Join(other, "a.key")}); err == nil {
		t.Error("a private key file accepted as a public key")
	}
}

// TestAgentFileRoutes runs the server's handler as Run builds it: an
// administrator publishes a signed agent build above the API's request
// limit, and a device's ticket downloads it from the blob route.
func TestAgentFileRoutes(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	gw := gateway.New(gateway.Options{Store: st, ActionKey: actionkey.NewSigner(key, nil)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		gw.Hub().Shutdown(ctx)
	})
	box, _ := seal.NewBox(bytes.Repeat([]byte{3}, 32))
	bs, err := blobs.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	pub, rkey, _ := ed25519.GenerateKey(rand.Reader)
	h, svc, err := newHandler(st, gw, nil, box, nil, bs, releaseDeps([]ed25519.PublicKey{pub}, codesign.Config{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(svc.ReleaseKeys()) != 1 {
		t.Fatal("release keys not passed to the service")
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	admin := core.User{Email: "admin@example.com", PasswordHash: "x", Role: core.RoleAdmin}
	if err := st.CreateUser(ctx, &admin); err != nil {
		t.Fatal(err)
	}
	token := auth.NewSecret(auth.APITokenPrefix)
	if err := st.CreateAPIToken(ctx, &core.APIToken{UserID: admin.ID, Name: "t", Hash: auth.HashSecret(token)}); err != nil {
		t.Fatal(err)
	}
	_, site, _ := st.EnsureClientSite(ctx, "Acme", "HQ")
	secret := auth.NewSecret("")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	dev := core.Device{Hostname: "pc-01", OS: "linux", Arch: "amd64", MachineID: "m1", PublicKey: make([]byte, 32)}
	if err := st.Enroll(ctx, auth.HashSecret(secret), &dev, time.Now()); err != nil {
		t.Fatal(err)
	}

	// An ELF header of x86-64 and 3 MB beyond the request limit.
	pad := make([]byte, 3*MaxBodyBytes)
	rand.Read(pad)
	bin := releasetest.ELF(elf.EM_X86_64, string(pad))
	sum := sha256.Sum256(bin)
	signed, err := release.Sign(rkey, release.Manifest{Product: release.Product, Kind: release.KindBinary, Version: "1.0.0", OS: "linux", Arch: "amd64",
		Name: "wacht-agent-linux-amd64", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(bin))})
	if err != nil {
		t.Fatal(err)
	}
	manifest, _ := json.Marshal(signed)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("manifest", "wacht-agent-linux-amd64.sig.json")
	w.Write(manifest)
	w, _ = mw.CreateFormFile("file", "wacht-agent-linux-amd64")
	w.Write(bin)
	mw.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/agent-files", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("publish of %d bytes: %d %s", len(bin), resp.StatusCode, b)
	}

	tickets := blobs.NewTickets(box.Derive(blobs.TicketPurpose))
	req, _ = http.NewRequest("GET", srv.URL+blobs.Path+hex.EncodeToString(sum[:]), nil)
	req.Header.Set(blobs.TicketHeader, tickets.Issue(dev.ID, hex.EncodeToString(sum[:]), time.Now().Add(time.Hour)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, bin) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(got))
	}
	// The sweep keeps it: a published file names it.
	if inUse, err := svc.SweepBlobs(ctx); err != nil {
		t.Fatal(err)
	} else if _, err := bs.Open(hex.EncodeToString(sum[:])); err != nil {
		t.Errorf("after the sweep (%d removed): %v", inUse, err)
	}
}
