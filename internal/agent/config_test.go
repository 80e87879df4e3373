package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
)

func TestConfigAndKeyRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := LoadConfig(dir); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("empty folder: %v", err)
	}
	if _, err := LoadKey(dir); !errors.Is(err, ErrNotEnrolled) {
		t.Fatalf("empty folder key: %v", err)
	}
	c := Config{ServerURL: "https://127.0.0.1:8443", Fingerprint: "abcd", DeviceID: 7, ActionKey: bytes.Repeat([]byte{5}, 32),
		Allow: check.Allowlist{Executables: []string{"/opt/restic/restic"}, Paths: []string{"/var/log/app"}}}
	if err := SaveConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	if err := SaveKey(dir, k); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("config %+v, %v", got, err)
	}
	gk, err := LoadKey(dir)
	if err != nil || !gk.Equal(k) {
		t.Fatalf("key round trip: %v", err)
	}
	if runtime.GOOS != "windows" {
		for _, f := range []string{ConfigFile, KeyFile} {
			fi, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v", f, fi.Mode().Perm())
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKey(dir); err == nil {
		t.Error("garbage key accepted")
	}
}

func TestDefaultDataDir(t *testing.T) {
	for _, tc := range []struct{ goos, pd, want string }{
		{"linux", "", "/var/lib/wacht-agent"},
		{"darwin", "", "/Library/Application Support/Wacht"},
		{"windows", `D:\ProgramData`, `D:\ProgramData\Wacht`},
		{"windows", "", `C:\ProgramData\Wacht`},
	} {
		if got := defaultDataDir(tc.goos, tc.pd); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.goos, got, tc.want)
		}
	}
}

func TestConfigRefusesRelativeAllowEntries(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"server_url":"https://127.0.0.1:8443","device_id":7,"allow":{"paths":["var/log"]}}`), 0o600)
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), `allow.paths: "var/log" is not an absolute path`) {
		t.Errorf("relative allow entry: %v", err)
	}
}
