package codesign

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The signing itself is tested on a real MSI in internal/installer
// (TestWindowsMSISigned, verified with osslsigncode); here the refusals
// that must never leave an unsigned file behind.
func TestSignMSIRefuses(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.msi")
	if err := os.WriteFile(in, []byte("not an msi"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.msi")
	ctx := context.Background()
	for _, c := range []struct {
		cfg  Config
		in   string
		want string
	}{
		{Config{}, in, "no code-signing certificate"},
		{Config{Cert: filepath.Join(dir, "c.pem")}, in, "no private key"},
		{Config{Cert: filepath.Join(dir, "c.pem"), Key: filepath.Join(dir, "k.pem")}, out, "another file"},
		{Config{Cert: filepath.Join(dir, "missing.pem"), Key: filepath.Join(dir, "k.pem")}, in, "missing.pem"},
	} {
		err := c.cfg.SignMSI(ctx, c.in, out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("SignMSI(%+v, %s): %v, want an error about %q", c.cfg, filepath.Base(c.in), err, c.want)
		}
	}
	// A file osslsigncode cannot sign: an error with its words, no out.
	cert, key := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cert, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644)
	os.WriteFile(key, []byte("garbage"), 0o600)
	if err := (Config{Cert: cert, Key: key}).SignMSI(ctx, in, out); err == nil {
		t.Error("signing with a broken certificate succeeded")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed signing left out.msi")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".codesign-*")); len(m) != 0 {
		t.Errorf("a failed signing left %v", m)
	}
}
