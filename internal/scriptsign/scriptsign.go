// Package scriptsign signs scripts for lock mode: an administrator signs a
// script's language and body with an ed25519 key the server never holds
// (wacht script sign), and an agent installed with
// --require-script-signer runs only scripts carrying such a signature, so
// that even a compromised server cannot make it run code of its own.
package scriptsign

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// context separates script signatures from every other ed25519 signature:
// a signed action or an agent's auth frame can never pass for one.
const context = "wacht script signature v1\x00"

// Errors of Verify.
var (
	ErrUnsigned     = errors.New("the script carries no signature")
	ErrBadSignature = errors.New("the script's signature is not by the required signer")
)

// message is what a signature covers: the language and the body, so that
// a signed bash body cannot be run as python.
func message(language, body string) []byte {
	return []byte(context + language + "\x00" + body)
}

// Sign returns the base64 signature of a script.
func Sign(key ed25519.PrivateKey, language, body string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, message(language, body)))
}

// Verify checks sig (base64) over language and body against pub.
func Verify(pub ed25519.PublicKey, language, body, sig string) error {
	if strings.TrimSpace(sig) == "" {
		return ErrUnsigned
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil || len(raw) != ed25519.SignatureSize || len(pub) != ed25519.PublicKeySize {
		return ErrBadSignature
	}
	if !ed25519.Verify(pub, message(language, body), raw) {
		return ErrBadSignature
	}
	return nil
}

// EncodePublic is a public key as given on the command line (base64).
func EncodePublic(pub ed25519.PublicKey) string { return base64.StdEncoding.EncodeToString(pub) }

// ParsePublic reads a public key as EncodePublic writes it.
func ParsePublic(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("not a script signer's public key (base64 of %d bytes, as wacht script keygen prints it)", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

// GenerateKeyFile writes a new private key to path (PKCS#8 PEM, 0600; an
// existing file is never overwritten) and returns its public key.
func GenerateKeyFile(path string) (ed25519.PublicKey, error) {
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating key file: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing key file: %w", err)
	}
	return pub, nil
}

// LoadKeyFile reads a private key written by GenerateKeyFile.
func LoadKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading key file: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PKCS#8 private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T key, not ed25519", path, k)
	}
	return ek, nil
}
