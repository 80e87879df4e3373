// Package release signs and verifies agent builds and installers with the
// release key (issue 21): an ed25519 key that is neither the TLS nor the
// action key and that the server needs only the public half of. `wacht
// release sign` writes a Signed manifest next to each file; the server
// accepts only files whose manifest verifies against its release public
// keys, and the agent replaces itself only with a binary whose manifest
// verifies against the keys it pinned, whose bytes match the manifest and
// whose executable header is for its own OS and architecture.
package release

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/keyfile"
)

// Kinds of release files.
const (
	KindBinary  = "binary" // the agent executable itself (self-update)
	KindMSI     = "msi"    // Windows installer
	KindDeb     = "deb"    // Debian/Ubuntu package
	KindRPM     = "rpm"    // RHEL/SUSE package
	KindPkg     = "pkg"    // macOS installer package
	KindTarball = "tar.gz" // macOS tarball with install script
	Product     = "wacht-agent"
)

// Kinds lists every kind.
var Kinds = []string{KindBinary, KindMSI, KindDeb, KindRPM, KindPkg, KindTarball}

// SigSuffix is appended to a file's name for its signed manifest.
const SigSuffix = ".sig.json"

// Manifest describes one release file. Name is the file's base name;
// SHA256 is hex.
type Manifest struct {
	Product string `json:"product"`
	Kind    string `json:"kind"`
	Version string `json:"version"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
}

// Signed is a manifest with the release key's signature over Message().
// KeyID is the signing key's Fingerprint.
type Signed struct {
	Manifest  Manifest `json:"manifest"`
	KeyID     string   `json:"key_id"`
	Signature []byte   `json:"signature"`
}

// Errors of Verify and Check.
var (
	ErrBadSignature = errors.New("release: the signature does not verify with a trusted release key")
	ErrNoKey        = errors.New("release: no release key is trusted")
	ErrMismatch     = errors.New("release: the file does not match its signed manifest (tampered or truncated)")
	ErrPlatform     = errors.New("release: the executable is for another OS or architecture")
)

var (
	versionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+~_-]{0,63}$`)
	nameRE    = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z._+~-]{0,127}$`)
	sumRE     = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Validate checks a manifest's fields.
func (m Manifest) Validate() error {
	switch {
	case m.Product != Product:
		return fmt.Errorf("release: product %q, want %q", m.Product, Product)
	case !slices.Contains(Kinds, m.Kind):
		return fmt.Errorf("release: unknown kind %q (known: %s)", m.Kind, strings.Join(Kinds, ", "))
	case !versionRE.MatchString(m.Version):
		return fmt.Errorf("release: bad version %q", m.Version)
	case !slices.Contains([]string{"windows", "darwin", "linux"}, m.OS):
		return fmt.Errorf("release: unknown OS %q", m.OS)
	case !slices.Contains([]string{"amd64", "arm64", "386"}, m.Arch):
		return fmt.Errorf("release: unknown architecture %q", m.Arch)
	case !nameRE.MatchString(m.Name):
		return fmt.Errorf("release: bad file name %q", m.Name)
	case !sumRE.MatchString(m.SHA256):
		return fmt.Errorf("release: bad sha256 %q", m.SHA256)
	case m.Size <= 0:
		return fmt.Errorf("release: bad size %d", m.Size)
	}
	return nil
}

// Message is what the release key signs: a fixed context string and the
// manifest's JSON (fields in declaration order, so the same manifest always
// gives the same bytes).
func (m Manifest) Message() []byte {
	b, _ := json.Marshal(m)
	return append([]byte("wacht-release/1\x00"), b...)
}

// Sign signs a manifest.
func Sign(key ed25519.PrivateKey, m Manifest) (Signed, error) {
	if err := m.Validate(); err != nil {
		return Signed{}, err
	}
	pub := key.Public().(ed25519.PublicKey)
	return Signed{Manifest: m, KeyID: Fingerprint(pub), Signature: ed25519.Sign(key, m.Message())}, nil
}

// Verify checks the manifest's fields and its signature against keys.
func (s Signed) Verify(keys []ed25519.PublicKey) error {
	if err := s.Manifest.Validate(); err != nil {
		return err
	}
	if len(keys) == 0 {
		return ErrNoKey
	}
	msg := s.Manifest.Message()
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, s.Signature) {
			return nil
		}
	}
	return ErrBadSignature
}

// Check reads r to its end and fails with ErrMismatch unless it is exactly
// the manifest's size and SHA-256.
func (m Manifest) Check(r io.Reader) error {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, m.Size+1))
	if err != nil {
		return fmt.Errorf("release: reading the file: %w", err)
	}
	if n != m.Size || hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		return fmt.Errorf("%w: %d bytes with sha256 %s, want %d bytes with %s", ErrMismatch, n, hex.EncodeToString(h.Sum(nil)), m.Size, m.SHA256)
	}
	return nil
}

// Describe fills a manifest for the file at path: its name, size and
// SHA-256; the caller sets kind, version, OS and architecture (for a
// binary, Platform tells them).
func Describe(path string) (Manifest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Manifest{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Manifest{}, fmt.Errorf("release: reading %s: %w", path, err)
	}
	name := path[strings.LastIndexAny(path, `/\`)+1:]
	return Manifest{Product: Product, Name: name, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}, nil
}

// Platform reads an executable's header and returns its GOOS and GOARCH
// names (ELF: linux, PE: windows, Mach-O: darwin); ErrPlatform for a file
// that is none of them or an architecture Wacht does not build.
func Platform(r io.ReaderAt) (goos, goarch string, err error) {
	if f, err := elf.NewFile(r); err == nil {
		defer f.Close()
		switch f.Machine {
		case elf.EM_X86_64:
			return "linux", "amd64", nil
		case elf.EM_AARCH64:
			return "linux", "arm64", nil
		case elf.EM_386:
			return "linux", "386", nil
		}
		return "", "", fmt.Errorf("%w: ELF machine %v", ErrPlatform, f.Machine)
	}
	if f, err := pe.NewFile(r); err == nil {
		defer f.Close()
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			return "windows", "amd64", nil
		case pe.IMAGE_FILE_MACHINE_ARM64:
			return "windows", "arm64", nil
		case pe.IMAGE_FILE_MACHINE_I386:
			return "windows", "386", nil
		}
		return "", "", fmt.Errorf("%w: PE machine %#x", ErrPlatform, f.Machine)
	}
	if f, err := macho.NewFile(r); err == nil {
		defer f.Close()
		switch f.Cpu {
		case macho.CpuAmd64:
			return "darwin", "amd64", nil
		case macho.CpuArm64:
			return "darwin", "arm64", nil
		}
		return "", "", fmt.Errorf("%w: Mach-O CPU %v", ErrPlatform, f.Cpu)
	}
	return "", "", fmt.Errorf("%w: not an executable Wacht knows", ErrPlatform)
}

// Fingerprint is the hex SHA-256 of a release public key (Signed.KeyID).
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

// pubPrefix starts a public key file's single line.
const pubPrefix = "wacht-release-key-v1 "

// GenerateKey writes a new private key (the 32-byte seed, 0600) to path
// and its public key to path+".pub"; it never overwrites a key.
func GenerateKey(path string) (ed25519.PublicKey, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("release key %s exists; not overwriting it", path)
	}
	seed, err := keyfile.LoadOrCreate(path, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	if err := os.WriteFile(path+".pub", MarshalPublicKey(pub), 0o644); err != nil {
		return nil, fmt.Errorf("writing public release key: %w", err)
	}
	return pub, nil
}

// LoadPrivateKey reads a private key GenerateKey wrote.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	seed, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("release key %s: %d bytes, want %d (is it the .pub file?)", path, len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// MarshalPublicKey is a public key file's content: one line.
func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	return []byte(pubPrefix + base64.StdEncoding.EncodeToString(pub) + "\n")
}

// ParsePublicKey reads a public key file's content (or the bare base64).
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	s := strings.TrimSpace(string(b))
	s = strings.TrimPrefix(s, strings.TrimSpace(pubPrefix))
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, errors.New("release: not a release public key (want the content of a .pub file from `wacht release keygen`)")
	}
	return ed25519.PublicKey(k), nil
}

// LoadPublicKey reads a public key file.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release public key: %w", err)
	}
	k, err := ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ReadSigned reads a signed manifest file (<file>.sig.json).
func ReadSigned(path string) (Signed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Signed{}, err
	}
	var s Signed
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Signed{}, fmt.Errorf("release: %s: %w", path, err)
	}
	return s, nil
}
