package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestEnroll(t *testing.T) {
	actionPub, _, _ := ed25519.GenerateKey(nil)
	var got protocol.EnrollRequest
	code := ""
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != protocol.PathEnroll || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		got = protocol.EnrollRequest{}
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "application/json")
		if code != "" {
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(protocol.ErrorResponse{Error: "nope", Code: code})
			return
		}
		json.NewEncoder(w).Encode(protocol.EnrollResponse{DeviceID: 9, Client: "Acme", Site: "HQ", ActionKey: actionPub})
	}))
	defer srv.Close()
	pin := protocol.Fingerprint(srv.Certificate().Raw)
	dir := t.TempDir()
	tok := protocol.Token{URL: "https://wacht.invalid:1", Fingerprint: pin, Secret: "s3cret"}.String()

	// The device's administrator wrote the local allowlist before enrolling.
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"allow":{"paths":["/srv/dumps"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// The token's URL is unreachable; --server overrides it.
	resp, err := Enroll(context.Background(), tok, srv.URL, dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if resp.DeviceID != 9 || resp.Site != "HQ" {
		t.Errorf("response %+v", resp)
	}
	if got.Token != "s3cret" || got.OS != runtime.GOOS || got.Arch != runtime.GOARCH || got.MachineID == "" || got.Hostname == "" ||
		got.DeviceID != 0 || got.Proof != nil {
		t.Errorf("request %+v", got)
	}
	if got.Role != "server" && got.Role != "workstation" && got.Role != "notebook" {
		t.Errorf("role %q", got.Role)
	}
	cfg, err := LoadConfig(dir)
	if err != nil || cfg.DeviceID != 9 || cfg.ServerURL != srv.URL || cfg.Fingerprint != pin || !actionPub.Equal(ed25519.PublicKey(cfg.ActionKey)) || len(cfg.Allow.Paths) != 1 {
		t.Fatalf("saved config %+v, %v", cfg, err)
	}
	key, err := LoadKey(dir)
	if err != nil || !key.Public().(ed25519.PublicKey).Equal(ed25519.PublicKey(got.PublicKey)) {
		t.Fatalf("saved key does not match the enrolled public key: %v", err)
	}

	// Enrolling again proves possession of device 9's key; --new-device
	// does not.
	if _, err := Enroll(context.Background(), tok, srv.URL, dir, false); err != nil {
		t.Fatal(err)
	}
	if got.DeviceID != 9 || !protocol.VerifyReenroll(key.Public().(ed25519.PublicKey), 9, got.PublicKey, got.Proof) {
		t.Errorf("re-enrollment request %+v carries no valid proof of device 9's key", got)
	}
	if _, err := Enroll(context.Background(), tok, srv.URL, dir, true); err != nil {
		t.Fatal(err)
	}
	if got.DeviceID != 0 || got.Proof != nil {
		t.Errorf("--new-device request %+v carries a proof", got)
	}

	for c, want := range map[string]string{
		protocol.EnrollTokenExpired: "enrollment refused: the token has expired",
		protocol.EnrollTokenRevoked: "enrollment refused: the token has been revoked",
		protocol.EnrollTokenUsedUp:  "enrollment refused: the token has no uses left",
		protocol.EnrollTokenUnknown: "enrollment refused: the server does not know this token",
	} {
		code = c
		_, err := Enroll(context.Background(), tok, srv.URL, t.TempDir(), false)
		var ee *EnrollError
		if !errors.As(err, &ee) || ee.Code != c || err.Error() != want {
			t.Errorf("code %s: %v", c, err)
		}
	}

	// A wrong pin never reaches the server.
	code = ""
	bad := protocol.Token{URL: srv.URL, Fingerprint: strings.Repeat("00", 32), Secret: "s3cret"}.String()
	if _, err := Enroll(context.Background(), bad, "", t.TempDir(), false); !errors.Is(err, ErrPinMismatch) {
		t.Errorf("wrong pin: %v", err)
	}
	if _, err := Enroll(context.Background(), "garbage", "", t.TempDir(), false); err == nil {
		t.Error("garbage token accepted")
	}
	if _, err := Enroll(context.Background(), tok, "http://127.0.0.1:1", t.TempDir(), false); err == nil {
		t.Error("plain http server accepted")
	}
}

func TestGuessRole(t *testing.T) {
	for _, tc := range []struct {
		goos, platform   string
		desktop, battery bool
		want             string
	}{
		{"windows", "Microsoft Windows Server 2022 Datacenter", true, false, "server"},
		{"windows", "Microsoft Windows 11 Pro", true, true, "notebook"},
		{"windows", "Microsoft Windows 11 Pro", true, false, "workstation"},
		{"linux", "debian 12", false, false, "server"},
		{"linux", "ubuntu 24.04", true, true, "notebook"},
		{"linux", "ubuntu 24.04", true, false, "workstation"},
		{"darwin", "darwin 14.5", true, false, "workstation"},
	} {
		if got := guessRole(tc.goos, tc.platform, tc.desktop, tc.battery); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.goos, tc.platform, got, tc.want)
		}
	}
}
