package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/scriptsign"
	"github.com/wacht-rmm/wacht/internal/store"
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

// TestScriptExportImport: scripts round-trip through plain files; an
// edited body imports as a new version, an unchanged one as nothing, and
// a signature file beside the body becomes the version's signature.
func TestScriptExportImport(t *testing.T) {
	data, files := t.TempDir(), t.TempDir()
	st, err := store.Open(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	meta := `{"name":"Grüße senden","description":{"en":"Greet","de":"Grüßen"},"language":"bash","body_file":"gruesse.sh",
		"params":[{"name":"WHO","type":"text","default":"Welt"}],"os":["linux"]}`
	os.WriteFile(filepath.Join(files, "gruesse"+".script.json"), []byte(meta), 0o644)
	os.WriteFile(filepath.Join(files, "gruesse.sh"), []byte("echo \"Hallo $WHO\"\n"), 0o644)
	out, _, err := runCLI(t, "script", "import", files, "--data", data)
	if err != nil || !strings.Contains(out, "1 new, 0 updated") {
		t.Fatalf("import: %q %v", out, err)
	}
	if out, _, err = runCLI(t, "script", "import", files, "--data", data); err != nil || !strings.Contains(out, "0 new, 0 updated (a new version each), 1 unchanged") {
		t.Errorf("import again: %q %v", out, err)
	}
	keyFile := filepath.Join(t.TempDir(), "admin.key")
	if _, _, err := runCLI(t, "script", "keygen", keyFile); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(files, "gruesse.sh"), []byte("echo \"Servus $WHO\"\n"), 0o644)
	if _, _, err := runCLI(t, "script", "sign", filepath.Join(files, "gruesse.sh"), "--language", "bash", "--key", keyFile); err != nil {
		t.Fatal(err)
	}
	if out, _, err = runCLI(t, "script", "import", files, "--data", data); err != nil || !strings.Contains(out, "0 new, 1 updated") {
		t.Errorf("import an edit: %q %v", out, err)
	}
	exported := t.TempDir()
	if out, _, err = runCLI(t, "script", "export", exported, "--data", data); err != nil || out != "Exported 1 scripts to "+exported+".\n" {
		t.Fatalf("export: %q %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(exported, "gruesse-senden.script.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Signature string `json:"signature"`
		Body      string `json:"body_file"`
	}
	json.Unmarshal(b, &got)
	body, _ := os.ReadFile(filepath.Join(exported, got.Body))
	if got.Body != "gruesse-senden.sh" || string(body) != "echo \"Servus $WHO\"\n" || got.Signature == "" || !strings.Contains(string(b), `"de": "Grüßen"`) {
		t.Errorf("exported %s / %q", b, body)
	}
	os.WriteFile(filepath.Join(files, "kaputt.script.json"), []byte(`{"name":"x","language":"cobol","body_file":"gruesse.sh"}`), 0o644)
	if _, _, err := runCLI(t, "script", "import", files, "--data", data); err == nil || !strings.Contains(err.Error(), "kaputt.script.json") {
		t.Errorf("an invalid file: %v, want it named", err)
	}
}
