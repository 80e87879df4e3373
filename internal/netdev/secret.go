// Package netdev is the server side of network devices without an agent:
// it keeps their checks' secret parameters sealed (AES-256-GCM with a key in
// the server's data folder), adds their checks to their probe agent's policy
// with the secrets opened, and routes the probe's results for them to the
// network device after checking that the probe really watches it.
package netdev

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/keyfile"
)

// KeyFile is the name of the key file in the server's data folder. With
// PostgreSQL and several server nodes, every node needs the same file.
const KeyFile = "secret.key"

// Box seals and opens secrets with one AES-256-GCM key.
type Box struct{ aead cipher.AEAD }

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
	return &Box{aead: aead}, nil
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

// Secrets are the secret parameters of a network device's checks: check
// name → parameter name → value.
type Secrets map[string]map[string]string

// SecretParams are the parameter names that are secrets in any check type
// (SNMP community and v3 passphrases, website basic-auth password).
var SecretParams = []string{"community", "auth_passphrase", "priv_passphrase", "password"}

// SecretListParams are parameters whose whole value (a JSON list) is
// secret: an snmptrap entry's accepted communities and v3 users with
// their passphrases. They are sealed as JSON text.
var SecretListParams = []string{"communities", "users"}

// SealSecrets seals s (an empty map for none).
func (b *Box) SealSecrets(s Secrets) ([]byte, error) {
	if s == nil {
		s = Secrets{}
	}
	j, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding secrets: %w", err)
	}
	return b.Seal(j)
}

// OpenSecrets opens what SealSecrets returned; nil or empty gives none.
func (b *Box) OpenSecrets(sealed []byte) (Secrets, error) {
	if len(sealed) == 0 {
		return Secrets{}, nil
	}
	j, err := b.Open(sealed)
	if err != nil {
		return nil, err
	}
	var s Secrets
	if err := json.Unmarshal(j, &s); err != nil {
		return nil, fmt.Errorf("decoding secrets: %w", err)
	}
	if s == nil {
		s = Secrets{}
	}
	return s, nil
}
