package loadsim

import (
	"bufio"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// cacheEntry is one enrolled simulated agent: a line of the cache file.
type cacheEntry struct {
	Server string `json:"server"`       // server URL the device is enrolled with
	FP     string `json:"fp,omitempty"` // pinned certificate fingerprint
	Index  int    `json:"i"`            // agent number within the run
	Device int64  `json:"device"`
	Seed   []byte `json:"seed"` // ed25519 seed of the device key
	// AK is the server's action key, pinned at enrollment; empty in
	// caches of older versions (pinned from the welcome then).
	AK []byte `json:"ak,omitempty"`
}

// cache is an append-only JSON-lines file of enrolled agents. Several
// loadsim processes may append to one file: each line is written with one
// write(2) on a file opened with O_APPEND, which local file systems do not
// interleave; on load the last line of an agent wins.
type cache struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

// loadCache reads the agents enrolled with server from path.
func loadCache(path, server string) (map[int]cacheEntry, error) {
	out := map[int]cacheEntry{}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading agent cache: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var e cacheEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			// A torn last line (a process killed mid-write) costs one
			// re-enrollment, not the whole cache.
			continue
		}
		if e.Server == server && e.Device > 0 && len(e.Seed) == ed25519.SeedSize {
			out[e.Index] = e
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading agent cache %s: %w", path, err)
	}
	return out, nil
}

func openCache(path string) (*cache, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening agent cache: %w", err)
	}
	return &cache{path: path, f: f}, nil
}

func (c *cache) add(e cacheEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing agent cache %s: %w", c.path, err)
	}
	return nil
}

func (c *cache) close() error { return c.f.Close() }
