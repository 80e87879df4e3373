package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func manifestFor(b []byte) Manifest {
	sum := sha256.Sum256(b)
	return Manifest{Product: Product, Kind: KindBinary, Version: "1.2.3", OS: "linux", Arch: "amd64",
		Name: "wacht-agent-linux-amd64", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(b))}
}

// TestSignVerify: a signature verifies with its key only, and any change
// to the manifest breaks it.
func TestSignVerify(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	pub := key.Public().(ed25519.PublicKey)
	s, err := Sign(key, manifestFor([]byte("agent")))
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID != Fingerprint(pub) {
		t.Errorf("key id %s, want %s", s.KeyID, Fingerprint(pub))
	}
	if err := s.Verify([]ed25519.PublicKey{other, pub}); err != nil {
		t.Errorf("verify with the signing key among others: %v", err)
	}
	if err := s.Verify([]ed25519.PublicKey{other}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("verify with another key: %v, want ErrBadSignature", err)
	}
	if err := s.Verify(nil); !errors.Is(err, ErrNoKey) {
		t.Errorf("verify without keys: %v, want ErrNoKey", err)
	}
	for name, change := range map[string]func(*Manifest){
		"version": func(m *Manifest) { m.Version = "1.2.4" },
		"arch":    func(m *Manifest) { m.Arch = "arm64" },
		"size":    func(m *Manifest) { m.Size++ },
		"kind":    func(m *Manifest) { m.Kind = KindMSI },
	} {
		c := s
		change(&c.Manifest)
		if err := c.Verify([]ed25519.PublicKey{pub}); !errors.Is(err, ErrBadSignature) {
			t.Errorf("changed %s: %v, want ErrBadSignature", name, err)
		}
	}
	bad := manifestFor([]byte("x"))
	bad.Name = "../etc/passwd"
	if _, err := Sign(key, bad); err == nil {
		t.Error("signed a manifest with a path as its name")
	}
}

// TestCheck: only the exact bytes pass.
func TestCheck(t *testing.T) {
	body := []byte("the agent's bytes")
	m := manifestFor(body)
	if err := m.Check(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"truncated": body[:len(body)-1],
		"longer":    append(append([]byte{}, body...), '!'),
		"tampered":  bytes.Replace(body, []byte("agent"), []byte("agenT"), 1),
	} {
		if err := m.Check(bytes.NewReader(b)); !errors.Is(err, ErrMismatch) {
			t.Errorf("%s: %v, want ErrMismatch", name, err)
		}
	}
}

// TestPlatform reads real executables cross-built for each target, and
// refuses what is none.
func TestPlatform(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-builds")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ goos, goarch string }{{"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"}, {"darwin", "arm64"}, {"darwin", "amd64"}} {
		out := filepath.Join(dir, tc.goos+"-"+tc.goarch)
		cmd := exec.Command("go", "build", "-o", out, src)
		cmd.Env = append(os.Environ(), "GOOS="+tc.goos, "GOARCH="+tc.goarch, "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building for %s/%s: %v\n%s", tc.goos, tc.goarch, err, b)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		goos, goarch, err := Platform(f)
		f.Close()
		if err != nil || goos != tc.goos || goarch != tc.goarch {
			t.Errorf("%s/%s read as %s/%s, %v", tc.goos, tc.goarch, goos, goarch, err)
		}
	}
	if _, _, err := Platform(strings.NewReader("#!/bin/sh\necho hi\n")); !errors.Is(err, ErrPlatform) {
		t.Errorf("a shell script: %v, want ErrPlatform", err)
	}
}

// TestKeyFiles: keygen writes a private and a public file that load back
// as a pair, and never overwrites a key.
func TestKeyFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "release.key")
	pub, err := GenerateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key file: %v, %v", fi, err)
	}
	priv, err := LoadPrivateKey(path)
	if err != nil || !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		t.Fatalf("private key: %v", err)
	}
	got, err := LoadPublicKey(path + ".pub")
	if err != nil || !bytes.Equal(got, pub) {
		t.Fatalf("public key: %v", err)
	}
	if _, err := GenerateKey(path); err == nil {
		t.Error("GenerateKey overwrote an existing key")
	}
	if _, err := LoadPrivateKey(path + ".pub"); err == nil {
		t.Error("the public file loaded as a private key")
	}
	if _, err := ParsePublicKey([]byte("wacht-release-key-v1 AAAA")); err == nil {
		t.Error("a short key parsed")
	}
	s, err := Sign(priv, manifestFor([]byte("a")))
	if err != nil {
		t.Fatal(err)
	}
	sig := filepath.Join(t.TempDir(), "a"+SigSuffix)
	b, _ := json.Marshal(s)
	if err := os.WriteFile(sig, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadSigned(sig); err != nil || back.Verify([]ed25519.PublicKey{pub}) != nil {
		t.Errorf("signed manifest read back: %+v, %v", back, err)
	}
	if err := os.WriteFile(sig, append(b[:len(b)-1], []byte(`,"extra":1}`)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSigned(sig); err == nil {
		t.Error("a signed manifest with an unknown field was read")
	}
}
