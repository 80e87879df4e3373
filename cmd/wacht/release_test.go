package main

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/installer"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/release/releasetest"
	"github.com/wacht-rmm/wacht/internal/store"
)

func TestInstallerNames(t *testing.T) {
	for name, want := range map[string][4]string{
		"wacht-agent-0.5.0+gabc-x64.msi":        {"msi", "windows", "amd64", "0.5.0+gabc"},
		"wacht-agent_0.5.0_arm64.deb":           {"deb", "linux", "arm64", "0.5.0"},
		"wacht-agent-0.5.0.x86_64.rpm":          {"rpm", "linux", "amd64", "0.5.0"},
		"wacht-agent-0.5.0.aarch64.rpm":         {"rpm", "linux", "arm64", "0.5.0"},
		"wacht-agent-0.5.0-darwin-arm64.pkg":    {"pkg", "darwin", "arm64", "0.5.0"},
		"wacht-agent-0.5.0-darwin-amd64.tar.gz": {"tar.gz", "darwin", "amd64", "0.5.0"},
	} {
		k, o, a, v, err := installerName(name)
		if err != nil || [4]string{k, o, a, v} != want {
			t.Errorf("%s: %s %s %s %s %v, want %v", name, k, o, a, v, err, want)
		}
	}
	if _, _, _, _, err := installerName("wacht-tray-linux-amd64"); err == nil {
		t.Error("the tray taken for an installer")
	}
	// The names make dist writes (internal/installer) read back.
	for _, a := range []string{"amd64", "arm64"} {
		for name, want := range map[string][4]string{
			installer.DebName("1.2.3", a):    {"deb", "linux", a, "1.2.3"},
			installer.RPMName("1.2.3", a):    {"rpm", "linux", a, "1.2.3"},
			installer.DarwinName("1.2.3", a): {"tar.gz", "darwin", a, "1.2.3"},
			installer.MSIName("1.2.3"):       {"msi", "windows", "amd64", "1.2.3"},
		} {
			k, o, ar, v, err := installerName(name)
			if err != nil || [4]string{k, o, ar, v} != want {
				t.Errorf("make dist's %s: %s %s %s %s %v, want %v", name, k, o, ar, v, err, want)
			}
		}
	}
}

// Round trip: a key, signed files, published to a server's data folder;
// a tampered file is refused with the reason.
func TestReleaseSignPublish(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	key := filepath.Join(dir, "release.key")
	out, _, err := runCLI(t, "release", "keygen", "--out", key)
	if err != nil || !strings.Contains(out, "Fingerprint:") {
		t.Fatalf("keygen: %q %v", out, err)
	}
	if _, _, err := runCLI(t, "release", "keygen", "--out", key); err == nil {
		t.Fatal("keygen overwrote a key")
	}
	bin := filepath.Join(dir, "wacht-agent-linux-arm64")
	if err := os.WriteFile(bin, releasetest.ELF(elf.EM_AARCH64, "build"), 0o755); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(dir, "wacht-agent_0.7.0_amd64.deb")
	if err := os.WriteFile(deb, []byte("!<arch>\ndebian-binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "release", "sign", "--key", key, bin); err == nil || !strings.Contains(err.Error(), "--version") {
		t.Errorf("a binary without --version: %v", err)
	}
	if out, _, err = runCLI(t, "release", "sign", "--key", key, "--version", "0.7.0", bin, deb); err != nil || !strings.Contains(out, "binary 0.7.0 linux/arm64") {
		t.Fatalf("sign: %q %v", out, err)
	}
	s, err := release.ReadSigned(bin + release.SigSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Manifest; m.Kind != release.KindBinary || m.OS != "linux" || m.Arch != "arm64" || m.Version != "0.7.0" || m.Name != "wacht-agent-linux-arm64" {
		t.Errorf("binary manifest %+v", m)
	}
	if s, err = release.ReadSigned(deb + release.SigSuffix); err != nil || s.Manifest.Kind != release.KindDeb || s.Manifest.Arch != "amd64" {
		t.Errorf("deb manifest %+v %v", s.Manifest, err)
	}

	st, err := store.Open(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// The server trusts no key yet.
	if _, _, err := runCLI(t, "release", "publish", "--data", data, bin); err == nil || !strings.Contains(err.Error(), "release key") {
		t.Fatalf("publishing without a trusted key: %v", err)
	}
	if out, _, err = runCLI(t, "release", "publish", bin, deb, "--data", data, "--release-key", key+".pub"); err != nil ||
		!strings.Contains(out, "published wacht-agent-linux-arm64 (binary 0.7.0 linux/arm64") || !strings.Contains(out, "published wacht-agent_0.7.0_amd64.deb (deb") {
		t.Fatalf("publish: %q %v", out, err)
	}
	// release.pub in the data folder counts too; a changed file does not.
	pub, _ := os.ReadFile(key + ".pub")
	if err := os.WriteFile(filepath.Join(data, "release.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deb, []byte("!<arch>\ndebian-binarY"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "release", "publish", "--data", data, deb); err == nil || !strings.Contains(err.Error(), "tampered") {
		t.Errorf("tampered file: %v", err)
	}
	if _, _, err := runCLI(t, "release", "publish", "--data", data, bin); err == nil || !strings.Contains(err.Error(), "published already") {
		t.Errorf("published twice: %v", err)
	}
}
