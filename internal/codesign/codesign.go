// Package codesign signs Windows installers (MSI) with Authenticode through
// osslsigncode, when a code-signing certificate is configured: at build
// time (make dist CODESIGN_CERT=… CODESIGN_KEY=…) or on the server (wacht
// serve --codesign-cert/--codesign-key) as installers are published.
package codesign

import (
	"context"
	"errors"
)

// Config names a code-signing certificate (PEM or DER, with its chain) and
// its private key; the zero Config signs nothing.
type Config struct {
	Cert string
	Key  string
}

// Enabled reports whether a certificate is configured.
func (c Config) Enabled() bool { return c.Cert != "" }

// SignMSI writes in, signed, to out. Placeholder until the MSI part lands.
func (c Config) SignMSI(ctx context.Context, in, out string) error {
	return errors.New("codesign: not implemented yet")
}
