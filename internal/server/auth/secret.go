// Package auth holds the server's credentials: argon2id password hashes,
// random secrets (API tokens, enrollment secrets, session cookies) that are
// stored only as SHA-256 hashes, dashboard sessions and API token checks.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Cost is argon2id's work factor for new password hashes: passes over
// memory, memory in KiB and lanes. Each hash records its cost, so
// VerifyPassword needs none.
type Cost struct {
	Time    uint32
	Memory  uint32
	Threads uint8
}

// defaultCost is what the server hashes with: RFC 9106's second
// recommended option (memory-lean). Tests may hash their fixtures' users
// at a lower Cost through an explicit option; nothing lowers this one.
var defaultCost = Cost{Time: 3, Memory: 64 * 1024, Threads: 2}

const (
	argonKeyLen = 32
	saltLen     = 16
)

// HashPassword returns an encoded argon2id hash of pw at the server's cost.
func HashPassword(pw string) (string, error) {
	return defaultCost.Hash(pw)
}

// Hash returns an encoded argon2id hash of pw at cost c; the zero Cost, or
// any other that argon2id refuses, is an error.
func (c Cost) Hash(pw string) (string, error) {
	if c.Time < 1 || c.Threads < 1 || c.Memory < 8*uint32(c.Threads) {
		return "", fmt.Errorf("argon2id cost %+v: need at least one pass and lane and 8 KiB per lane", c)
	}
	if len(pw) < 8 {
		return "", errors.New("password must have at least 8 characters")
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, c.Time, c.Memory, c.Threads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.Memory, c.Time, c.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches an encoded hash from HashPassword.
func VerifyPassword(encoded, pw string) bool {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || m > 1<<20 || t > 16 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// NewSecret returns a random URL-safe secret with the given prefix (which
// tells a leaked secret's kind at a glance, e.g. "wat_" for API tokens).
func NewSecret(prefix string) string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret is how random secrets are stored: they carry 256 bits of
// entropy, so a fast hash suffices (unlike passwords).
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// RandomPassword returns a readable random password for the first admin.
func RandomPassword() string {
	b := make([]byte, 15)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
