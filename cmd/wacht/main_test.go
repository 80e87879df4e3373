package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
)

func runCLI(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestVersionAndUsage(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil || strings.TrimSpace(out) != "wacht "+version {
		t.Fatalf("version: %q, %v", out, err)
	}
	if _, _, err := runCLI(t); err == nil {
		t.Fatal("no command accepted")
	}
	if _, _, err := runCLI(t, "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown command") {
		t.Fatalf("unknown command: %v", err)
	}
	if _, _, err := runCLI(t, "token", "create", "-h"); err != flag.ErrHelp {
		t.Fatalf("-h: %v", err)
	}
}

// TestAdminCommands drives the CLI against a data folder the server never
// ran in, as an operator would before the first start.
func TestAdminCommands(t *testing.T) {
	data := t.TempDir()
	if _, _, err := runCLI(t, "token", "create", "--data", data, "--client", "Müller GmbH", "--site", "Hannover"); err == nil ||
		!strings.Contains(err.Error(), "wacht serve") {
		t.Fatalf("token create before the first start: %v", err)
	}
	// With --url it works, pinning the certificate in <data>/tls.
	_, fp, err := tlsconf.Setup(tlsconf.Options{Dir: filepath.Join(data, "tls")})
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := runCLI(t, "token", "create", "--data", data, "--create", "--client", "Müller GmbH", "--site", "Hannover",
		"--max-uses", "1", "--expires", "1h", "--url", "https://127.0.0.1:8443")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(out, "\n") != 1 {
		t.Fatalf("token create printed %q, want exactly one line", out)
	}
	tok, err := protocol.ParseToken(out)
	if err != nil || tok.URL != "https://127.0.0.1:8443" || tok.Fingerprint != fp {
		t.Fatalf("token %+v, %v", tok, err)
	}
	if !strings.Contains(stderr, "Enrollment token 1") {
		t.Errorf("stderr %q lacks the token ID", stderr)
	}

	out, _, err = runCLI(t, "token", "list", "--data", data)
	if err != nil || !strings.Contains(out, "Müller GmbH") || !strings.Contains(out, "active") {
		t.Fatalf("token list: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "token", "revoke", "1", "--data", data); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "token", "revoke", "--data", data, "x"); err == nil {
		t.Fatal("non-numeric token ID accepted")
	}
	out, _, _ = runCLI(t, "token", "list", "--data", data)
	if !strings.Contains(out, "revoked") {
		t.Fatalf("token list after revoke: %q", out)
	}

	out, _, err = runCLI(t, "setup", "--data", data, "--email", "admin@localhost")
	if err != nil || !strings.Contains(out, "password:") {
		t.Fatalf("setup: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "setup", "--data", data)
	if err != nil || !strings.Contains(out, "already exists") {
		t.Fatalf("second setup: %q, %v", out, err)
	}

	t.Setenv("WACHT_PASSWORD", "correct horse battery")
	if _, _, err := runCLI(t, "user", "add", "--data", data, "--email", "tech@example.com", "--role", "technician"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "user", "add", "--data", data, "--email", "x@example.com", "--role", "god"); err == nil {
		t.Fatal("unknown role accepted")
	}
	out, _, err = runCLI(t, "apitoken", "create", "--data", data, "--user", "tech@example.com", "--name", "ci")
	if err != nil || !strings.HasPrefix(out, "wat_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("apitoken create: %q, %v", out, err)
	}
}

func TestAdminCommandNeedsDataFolder(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	if _, _, err := runCLI(t, "token", "list", "--data", missing); err == nil {
		t.Fatal("token list on a missing data folder succeeded")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("admin command created the data folder")
	}
}

// TestTokenCreateNeedsCreate: a typo in --client or --site creates nothing
// and the error names the existing names; existing ones need no --create.
func TestTokenCreateNeedsCreate(t *testing.T) {
	data := t.TempDir()
	url := "https://127.0.0.1:8443"
	if _, _, err := runCLI(t, "token", "create", "--data", data, "--client", "Müller GmbH", "--site", "Hannover", "--url", url); err == nil ||
		!strings.Contains(err.Error(), `there is no client "Müller GmbH"`) || !strings.Contains(err.Error(), "--create") {
		t.Fatalf("unknown client without --create: %v", err)
	}
	for _, c := range []string{"Müller GmbH", "Schmidt KG"} {
		if _, _, err := runCLI(t, "token", "create", "--data", data, "--create", "--client", c, "--site", "Hannover", "--url", url); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := runCLI(t, "token", "create", "--data", data, "--client", "Mueller GmbH", "--site", "Hannover", "--url", url)
	if err == nil || !strings.Contains(err.Error(), `existing: "Müller GmbH", "Schmidt KG"`) {
		t.Fatalf("client typo: %v", err)
	}
	_, _, err = runCLI(t, "token", "create", "--data", data, "--client", "Müller GmbH", "--site", "Hanover", "--url", url)
	if err == nil || !strings.Contains(err.Error(), `there is no site of client "Müller GmbH" "Hanover"; existing: "Hannover"`) {
		t.Fatalf("site typo: %v", err)
	}
	// Existing names, in another case, need no --create.
	out, stderr, err := runCLI(t, "token", "create", "--data", data, "--client", "müller gmbh", "--site", "HANNOVER",
		"--label", "Intune rollout", "--url", url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := protocol.ParseToken(out); err != nil || !strings.Contains(stderr, "(Intune rollout)") {
		t.Fatalf("token %q (%v), stderr %q", out, err, stderr)
	}
	out, _, err = runCLI(t, "token", "list", "--data", data)
	if err != nil || strings.Count(out, "\n") != 4 || strings.Contains(out, "Mueller") || strings.Contains(out, "Hanover") {
		t.Fatalf("token list after typos: %q, %v", out, err)
	}
	if !strings.Contains(out, "LABEL") || !strings.Contains(out, "Intune rollout") {
		t.Errorf("token list has no label column: %q", out)
	}
}

// TestServeRefusesShortMetricsToken: a metrics token file with too short a
// token stops serve before it opens anything.
func TestServeRefusesShortMetricsToken(t *testing.T) {
	dir := t.TempDir()
	tok, data := filepath.Join(dir, "metrics.token"), filepath.Join(dir, "data")
	if err := os.WriteFile(tok, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, "serve", "--data", data, "--listen", "127.0.0.1:0", "--metrics-token-file", tok)
	if err == nil || !strings.Contains(err.Error(), "shorter than") {
		t.Fatalf("serve with a 5-character metrics token: %v", err)
	}
	if _, err := os.Stat(data); err == nil {
		t.Error("serve created its data folder despite the bad token")
	}
}
