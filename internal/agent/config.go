// Package agent is the wacht-agent runtime: its configuration and key on
// disk, enrollment, TLS with a pinned server certificate, the on-disk spool
// of unacknowledged results, the check scheduler, the websocket session
// with the server and the signed actions and streams it serves
// (RegisterAction).
package agent

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Files in the agent's data folder.
const (
	ConfigFile = "agent.json"
	KeyFile    = "agent.key"
	SpoolFile  = "spool.db"
	StateFile  = "state.json"
)

// Version is the agent's version, reported at enrollment and in auth;
// cmd/wacht-agent sets it from its build.
var Version = "dev"

// ErrNotEnrolled means the data folder holds no configuration yet.
var ErrNotEnrolled = errors.New("agent is not enrolled (run wacht-agent enroll first)")

// Config is agent.json: the agent's local configuration, written at
// enrollment and by the device's administrator, never by the server.
type Config struct {
	ServerURL   string `json:"server_url"`
	Fingerprint string `json:"fingerprint,omitempty"` // hex SHA-256 of the server's leaf certificate; "" = system CAs
	DeviceID    int64  `json:"device_id"`
	// ActionKey is the server's ed25519 public key that signs policies and
	// actions, pinned at enrollment (or, for agents enrolled before, from
	// the first welcome).
	ActionKey []byte `json:"action_key,omitempty"`
	// Allow lists the programs and paths checks may start and read on top
	// of the built-in defaults (check.Allowlist); what a policy names
	// beyond them is refused on this device whatever the server says.
	Allow check.Allowlist `json:"allow,omitzero"`
	// Disable lists capabilities locked on this device (protocol.Locks:
	// terminal, exec, files…): their actions are refused with
	// protocol.CodeDisabledLocally. Written at install, kept on
	// re-enrollment, never changed by the server.
	Disable []string `json:"disable,omitempty"`
	// ScriptSigner, if set, is the ed25519 public key whose signature
	// every script must carry (lock mode, wacht-agent install
	// --require-script-signer): the server does not hold its private key,
	// so even a compromised server cannot make this device run code.
	ScriptSigner []byte `json:"script_signer,omitempty"`
	// ReleaseKeys are the release public keys (ed25519) that must sign an
	// agent build before the agent replaces itself with it (update.go):
	// pinned from the enrollment answer, or once from a welcome for an
	// agent enrolled before servers handed them out. LocalReleaseKey marks
	// keys set by the device's administrator (wacht-agent install
	// --release-key): the server can never replace those, and only with
	// them does a device in lock mode accept updates.
	ReleaseKeys     [][]byte `json:"release_keys,omitempty"`
	LocalReleaseKey bool     `json:"local_release_key,omitempty"`
	// TrayAddress, if set, replaces trayipc.DefaultAddress as the socket
	// or pipe the tray apps connect to (tests, a second agent).
	TrayAddress string `json:"tray_address,omitempty"`
}

// DefaultDataDir is the agent's data folder on this OS.
func DefaultDataDir() string { return defaultDataDir(runtime.GOOS, os.Getenv("ProgramData")) }

func defaultDataDir(goos, programData string) string {
	switch goos {
	case "windows":
		if programData == "" {
			programData = `C:\ProgramData`
		}
		return programData + `\Wacht`
	case "darwin":
		return "/Library/Application Support/Wacht"
	default:
		return "/var/lib/wacht-agent"
	}
}

// LoadConfig reads agent.json from dir; ErrNotEnrolled if it is missing.
func LoadConfig(dir string) (Config, error) {
	var c Config
	b, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if errors.Is(err, fs.ErrNotExist) {
		return c, ErrNotEnrolled
	}
	if err != nil {
		return c, fmt.Errorf("reading agent config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("parsing %s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if c.ServerURL == "" || c.DeviceID == 0 {
		return c, fmt.Errorf("%s is incomplete: %w", filepath.Join(dir, ConfigFile), ErrNotEnrolled)
	}
	if err := c.Allow.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if err := protocol.ValidLocks(c.Disable); err != nil {
		return c, fmt.Errorf("%s: %w", filepath.Join(dir, ConfigFile), err)
	}
	if n := len(c.ScriptSigner); n != 0 && n != ed25519.PublicKeySize {
		return c, fmt.Errorf("%s: script_signer has %d bytes, not %d", filepath.Join(dir, ConfigFile), n, ed25519.PublicKeySize)
	}
	for _, k := range c.ReleaseKeys {
		if len(k) != ed25519.PublicKeySize {
			return c, fmt.Errorf("%s: a release key has %d bytes, not %d", filepath.Join(dir, ConfigFile), len(k), ed25519.PublicKeySize)
		}
	}
	return c, nil
}

// SetReleaseKey pins pub as the only release key in the configuration in
// dir, set locally: the server can never replace it (wacht-agent install
// --release-key). nil removes the local key; the agent then pins the
// server's keys at its next session. The running agent reads it at start.
func SetReleaseKey(dir string, pub ed25519.PublicKey) error {
	if pub != nil && len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("a release key has %d bytes, not %d", len(pub), ed25519.PublicKeySize)
	}
	c, err := LoadConfig(dir)
	if err != nil {
		return err
	}
	if pub == nil {
		c.ReleaseKeys, c.LocalReleaseKey = nil, false
	} else {
		c.ReleaseKeys, c.LocalReleaseKey = [][]byte{pub}, true
	}
	return SaveConfig(dir, c)
}

// SetDisabled writes the local lock list into the configuration in dir
// (wacht-agent install --disable); the running agent reads it at start.
func SetDisabled(dir string, locks []string) error {
	if err := protocol.ValidLocks(locks); err != nil {
		return err
	}
	c, err := LoadConfig(dir)
	if err != nil {
		return err
	}
	c.Disable = slices.Compact(slices.Sorted(slices.Values(locks)))
	return SaveConfig(dir, c)
}

// SetScriptSigner writes the script signer's public key into the
// configuration in dir (nil: no lock mode); the running agent reads it at
// start.
func SetScriptSigner(dir string, pub ed25519.PublicKey) error {
	if pub != nil && len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("a script signer's key has %d bytes, not %d", len(pub), ed25519.PublicKeySize)
	}
	c, err := LoadConfig(dir)
	if err != nil {
		return err
	}
	c.ScriptSigner = pub
	return SaveConfig(dir, c)
}

// SaveConfig writes agent.json (0600) atomically.
func SaveConfig(dir string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ConfigFile), append(b, '\n'))
}

// LoadKey reads the device's ed25519 private key (PKCS#8 PEM).
func LoadKey(dir string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(filepath.Join(dir, KeyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("reading agent key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PKCS#8 private key", filepath.Join(dir, KeyFile))
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing agent key: %w", err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("agent key is %T, not ed25519", k)
	}
	return ek, nil
}

// SaveKey writes the private key as PKCS#8 PEM (0600) atomically.
func SaveKey(dir string, k ed25519.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return fmt.Errorf("encoding agent key: %w", err)
	}
	return writeFileAtomic(filepath.Join(dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// writeFileAtomic writes via a temporary file and rename so a crash never
// leaves half a file; the file is readable by its owner only.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("creating data folder: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
