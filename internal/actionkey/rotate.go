package actionkey

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/keyfile"
)

// RetiredSuffix names the file beside the key file that holds the keys a
// rotation retired, with the end of their grace period: JSON
// {"retired":[{"seed":…,"until":…}]}, 0600. With several server nodes,
// every node needs the same file, like the key file.
const RetiredSuffix = ".retired"

// DefaultGrace is how long a retired key still signs announcements and is
// accepted by agents, unless `wacht actionkey rotate --grace` says else.
const DefaultGrace = 14 * 24 * time.Hour

// ErrNoKeyFile means there is no action key to rotate yet.
var ErrNoKeyFile = errors.New("no action key file (start the server once to create it)")

type retiredFile struct {
	Retired []retiredEntry `json:"retired"`
}

type retiredEntry struct {
	Seed  []byte    `json:"seed"`
	Until time.Time `json:"until"`
}

// Fingerprint is the hex SHA-256 of a public action key: what agents report
// as the key they trust and `wacht actionkey status` shows.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:])
}

func readRetired(path string) ([]retiredKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("retired action keys: %w", err)
	}
	var f retiredFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("retired action keys in %s: %w", path, err)
	}
	var ks []retiredKey
	for _, e := range f.Retired {
		if len(e.Seed) != ed25519.SeedSize || e.Until.IsZero() {
			return nil, fmt.Errorf("retired action keys in %s: an entry without a %d-byte seed or an end", path, ed25519.SeedSize)
		}
		ks = append(ks, retiredKey{key: ed25519.NewKeyFromSeed(e.Seed), until: e.Until})
	}
	return ks, nil
}

// Reload re-reads the key files a Signer was loaded from (a rotation, or
// files copied from another node) and reports whether the current key
// changed. On an error the keys in use stay.
func (s *Signer) Reload() (changed bool, err error) {
	if s.path == "" {
		return false, nil
	}
	seed, err := os.ReadFile(s.path)
	if err != nil {
		return false, fmt.Errorf("action key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return false, fmt.Errorf("action key %s: %d bytes, want %d", s.path, len(seed), ed25519.SeedSize)
	}
	retired, err := readRetired(s.path + RetiredSuffix)
	if err != nil {
		return false, err
	}
	next := &keySet{cur: ed25519.NewKeyFromSeed(seed), retired: retired}
	prev := s.keys.Swap(next)
	return !prev.cur.Equal(next.cur), nil
}

// Retired returns the public keys retired by rotations whose grace period
// has not ended.
func (s *Signer) Retired() []Trusted {
	now := s.now()
	var ts []Trusted
	for _, r := range s.keys.Load().retired {
		if now.Before(r.until) {
			ts = append(ts, Trusted{Key: r.key.Public().(ed25519.PublicKey), Until: r.until})
		}
	}
	return ts
}

// Retiree returns a Signer for the retired key with fingerprint fp and the
// end of its grace period, if it has not ended: it signs the announcement
// of the current key to an agent that trusts only that key.
func (s *Signer) Retiree(fp string) (*Signer, time.Time, bool) {
	now := s.now()
	for _, r := range s.keys.Load().retired {
		if now.Before(r.until) && Fingerprint(r.key.Public().(ed25519.PublicKey)) == fp {
			return NewSigner(r.key, s.now), r.until, true
		}
	}
	return nil, time.Time{}, false
}

// Rotate replaces the action key at path with a new one and retires the old
// one until now+grace; retired keys whose grace ended are dropped. The
// retired keys are written before the new key, so that a crash between the
// two leaves the old key current and retired at once, which is harmless.
func Rotate(path string, grace time.Duration, now time.Time) (old, next ed25519.PublicKey, until time.Time, err error) {
	if grace <= 0 {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: grace period %v is not positive", grace)
	}
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %s: %w", path, ErrNoKeyFile)
	}
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %s has %d bytes, want %d", path, len(seed), ed25519.SeedSize)
	}
	retired, err := readRetired(path + RetiredSuffix)
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %w", err)
	}
	oldKey := ed25519.NewKeyFromSeed(seed)
	until = now.Add(grace).UTC().Truncate(time.Second)
	var f retiredFile
	for _, r := range retired {
		if now.Before(r.until) && !r.key.Equal(oldKey) {
			f.Retired = append(f.Retired, retiredEntry{Seed: r.key.Seed(), Until: r.until})
		}
	}
	f.Retired = append(f.Retired, retiredEntry{Seed: seed, Until: until})
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %w", err)
	}
	newSeed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(newSeed); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %w", err)
	}
	if err := keyfile.Replace(path+RetiredSuffix, append(b, '\n')); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %w", err)
	}
	if err := keyfile.Replace(path, newSeed); err != nil {
		return nil, nil, time.Time{}, fmt.Errorf("rotating the action key: %w", err)
	}
	return oldKey.Public().(ed25519.PublicKey), ed25519.NewKeyFromSeed(newSeed).Public().(ed25519.PublicKey), until, nil
}

// ReadKeys returns the current public key at path and every retired one
// with the end of its grace period (ended ones too, oldest end first),
// without creating anything.
func ReadKeys(path string) (cur ed25519.PublicKey, retired []Trusted, err error) {
	seed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s: %w", path, ErrNoKeyFile)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("action key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, nil, fmt.Errorf("action key %s: %d bytes, want %d", path, len(seed), ed25519.SeedSize)
	}
	rs, err := readRetired(path + RetiredSuffix)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rs {
		retired = append(retired, Trusted{Key: r.key.Public().(ed25519.PublicKey), Until: r.until})
	}
	slices.SortFunc(retired, func(a, b Trusted) int { return a.Until.Compare(b.Until) })
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey), retired, nil
}
