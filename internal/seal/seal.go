// Package seal keeps the server's secrets sealed at rest: AES-256-GCM with
// one key in the server's data folder (<data>/secret.key). Network devices'
// check secrets, the SMTP password, webhook secrets, TOTP secrets and the
// pending-login signing key are all sealed with it. With PostgreSQL and
// several server nodes, every node needs the same key file.
//
// Seal and Open work on bytes; SealText and OpenText on text columns, where
// a sealed value carries the TextPrefix so that it is told apart from a
// value written in clear by an older version.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/wacht-rmm/wacht/internal/keyfile"
)

// KeyFile is the name of the key file in the server's data folder.
const KeyFile = "secret.key"

// TextPrefix starts every value SealText returns ("v1": AES-256-GCM, random
// 12-byte nonce first, unpadded standard base64).
const TextPrefix = "sealed:v1:"

// Box seals and opens secrets with one AES-256-GCM key.
type Box struct {
	aead cipher.AEAD
	key  []byte // for Derive only
}

// NewBox returns a Box for a 32-byte key.
func NewBox(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key: %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Box{aead: aead, key: bytes.Clone(key)}, nil
}

// Derive returns a 32-byte key for purpose (HKDF-SHA256 of the secret key
// with purpose as its info): every node with the same secret.key derives
// the same key, and no derived key reveals the sealing key or another
// purpose's key.
func (b *Box) Derive(purpose string) []byte {
	k, err := hkdf.Key(sha256.New, b.key, nil, "wacht/"+purpose, 32)
	if err != nil {
		panic(err) // only for lengths beyond 255 hashes
	}
	return k
}

// LoadKey reads the key file at path, creating it (0600, 32 random bytes)
// if it does not exist.
func LoadKey(path string) (*Box, error) {
	key, err := keyfile.LoadOrCreate(path, 32)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return NewBox(key)
}

// ReadKey reads an existing key file; the error wraps fs.ErrNotExist if
// there is none.
func ReadKey(path string) (*Box, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading secret key: %w", err)
	}
	return NewBox(key)
}

// Seal encrypts plaintext; the random nonce is prepended.
func (b *Box) Seal(plaintext []byte) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("sealing: %w", err)
	}
	return b.aead.Seal(nonce, nonce, plaintext, nil), nil
}

// Open decrypts what Seal returned.
func (b *Box) Open(sealed []byte) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("opening secrets: too short")
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return nil, fmt.Errorf("opening secrets (wrong %s?): %w", KeyFile, err)
	}
	return out, nil
}

// IsSealed reports whether v is a value SealText returned (by its prefix).
func IsSealed(v string) bool { return strings.HasPrefix(v, TextPrefix) }

// SealText seals a text value for a text column; "" stays "" (no secret).
func (b *Box) SealText(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	s, err := b.Seal([]byte(v))
	if err != nil {
		return "", err
	}
	return TextPrefix + base64.RawStdEncoding.EncodeToString(s), nil
}

// ErrNotSealed is OpenText's answer to a non-empty value without the
// TextPrefix: a secret stored in clear, which is never taken as it is.
var ErrNotSealed = errors.New("opening secrets: value is not sealed")

// OpenText opens what SealText returned; "" gives "".
func (b *Box) OpenText(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	if !IsSealed(v) {
		return "", ErrNotSealed
	}
	raw, err := base64.RawStdEncoding.DecodeString(v[len(TextPrefix):])
	if err != nil {
		return "", fmt.Errorf("opening secrets: %w", err)
	}
	out, err := b.Open(raw)
	if err != nil {
		return "", err
	}
	return string(out), nil
}
