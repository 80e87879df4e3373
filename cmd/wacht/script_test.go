package main

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/scriptsign"
)

// TestScriptSignVerify: keygen, sign and verify as an administrator runs
// them; a changed body or another signer fails verification.
func TestScriptSignVerify(t *testing.T) {
	dir := t.TempDir()
	keyFile, script := filepath.Join(dir, "admin.key"), filepath.Join(dir, "aufräumen.sh")
	if err := os.WriteFile(script, []byte("rm -rf /tmp/wacht-test-*\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"script", "keygen", keyFile}, &out, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	pub := lines[len(lines)-1]
	if _, err := scriptsign.ParsePublic(pub); err != nil {
		t.Fatalf("keygen printed %q: %v", out.String(), err)
	}
	out.Reset()
	if err := run([]string{"script", "sign", script, "--key", keyFile}, &out, &out); err != nil {
		t.Fatal(err)
	}
	sig, _ := os.ReadFile(script + ".sig")
	if strings.TrimSpace(string(sig)) != strings.TrimSpace(out.String()) {
		t.Errorf("printed %q, wrote %q", out.String(), sig)
	}
	if err := run([]string{"script", "verify", script, "--signer", pub}, &out, &out); err != nil {
		t.Errorf("verify: %v", err)
	}
	if err := run([]string{"script", "verify", "--language", "bash", script, "--signer", pub}, &out, &out); err == nil {
		t.Error("a signature for sh verified as bash")
	}
	other := filepath.Join(dir, "other.key")
	run([]string{"script", "keygen", other}, &out, &out)
	k, _ := scriptsign.LoadKeyFile(other)
	if err := run([]string{"script", "verify", script, "--signer", scriptsign.EncodePublic(k.Public().(ed25519.PublicKey))}, &out, &out); err == nil {
		t.Error("another signer's key verified")
	}
	if err := os.WriteFile(script, []byte("rm -rf /\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"script", "verify", script, "--signer", pub}, &out, &out); err == nil {
		t.Error("a changed body verified")
	}
	if err := run([]string{"script", "sign", filepath.Join(dir, "x.ps1"), "--key", keyFile}, &out, &out); err == nil || !strings.Contains(err.Error(), "--language") {
		t.Errorf("a .ps1 without --language: %v", err)
	}
}
