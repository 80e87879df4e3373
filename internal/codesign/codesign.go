// Package codesign signs Windows installers (MSI) with Authenticode through
// osslsigncode, when a code-signing certificate is configured: at build
// time (make dist CODESIGN_CERT=… CODESIGN_KEY=…) or on the server (wacht
// serve --codesign-cert/--codesign-key) as installers are published.
package codesign

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Description is the program name the signature carries (osslsigncode -n):
// Windows shows it in the UAC prompt and the file's signature details.
const Description = "Wacht Agent"

// Config names a code-signing certificate (PEM or DER, with its chain) and
// its private key; the zero Config signs nothing.
type Config struct {
	Cert string
	Key  string
	// TimestampURL, if set, adds an RFC 3161 timestamp (osslsigncode -ts),
	// so the signature stays valid after the certificate expires. It needs
	// the network; the tests leave it empty.
	TimestampURL string
}

// Enabled reports whether a certificate is configured.
func (c Config) Enabled() bool { return c.Cert != "" }

// SignMSI writes in, signed with SHA-256 Authenticode, to out (which must
// differ from in). It runs osslsigncode with an argument array, writes to
// a temporary file next to out and renames it, so out is either the whole
// signed file or untouched. A missing osslsigncode, certificate or key is
// an error, never an unsigned out.
func (c Config) SignMSI(ctx context.Context, in, out string) error {
	if !c.Enabled() {
		return errors.New("codesign: no code-signing certificate configured")
	}
	if c.Key == "" {
		return errors.New("codesign: the code-signing certificate has no private key configured")
	}
	if in == out {
		return errors.New("codesign: the signed MSI must be written to another file")
	}
	for _, f := range []string{c.Cert, c.Key, in} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("codesign: %w", err)
		}
	}
	tool, err := exec.LookPath("osslsigncode")
	if err != nil {
		return fmt.Errorf("codesign: osslsigncode is not installed (Debian package osslsigncode): %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".codesign-*.msi")
	if err != nil {
		return fmt.Errorf("codesign: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	os.Remove(tmpName) // osslsigncode creates it itself
	defer os.Remove(tmpName)
	args := []string{"sign", "-certs", c.Cert, "-key", c.Key, "-h", "sha256", "-n", Description}
	if c.TimestampURL != "" {
		args = append(args, "-ts", c.TimestampURL)
	}
	args = append(args, "-in", in, "-out", tmpName)
	cmd := exec.CommandContext(ctx, tool, args...)
	var outb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outb, &outb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("codesign: osslsigncode sign %s: %w: %s", filepath.Base(in), err, bytes.TrimSpace(outb.Bytes()))
	}
	if err := os.Rename(tmpName, out); err != nil {
		return fmt.Errorf("codesign: %w", err)
	}
	return nil
}
