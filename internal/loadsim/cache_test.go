package loadsim

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestCacheLastLineWinsAndOtherServersIgnored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agents.jsonl")
	c, err := openCache(path)
	if err != nil {
		t.Fatal(err)
	}
	seed := make([]byte, ed25519.SeedSize)
	for _, e := range []cacheEntry{
		{Server: "https://a:1", Index: 0, Device: 1, Seed: seed},
		{Server: "https://a:1", Index: 1, Device: 2, Seed: seed},
		{Server: "https://b:1", Index: 0, Device: 9, Seed: seed},
		{Server: "https://a:1", Index: 0, Device: 3, Seed: seed}, // re-enrolled
		{Server: "https://a:1", Index: 2, Device: 4, Seed: seed[:5]},
	} {
		if err := c.add(e); err != nil {
			t.Fatal(err)
		}
	}
	c.close()
	// A process killed mid-write leaves a torn last line.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"server":"https://a:1","i":3,"dev`)
	f.Close()

	got, err := loadCache(path, "https://a:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Device != 3 || got[1].Device != 2 {
		t.Errorf("loaded %+v; want agent 0 → device 3, agent 1 → device 2, nothing else", got)
	}
	if m, err := loadCache(filepath.Join(t.TempDir(), "missing"), "https://a:1"); err != nil || len(m) != 0 {
		t.Errorf("missing cache: %v, %v", m, err)
	}
}

// TestSharedRun splits one run over three "processes" writing one cache
// file concurrently: every agent is simulated by exactly one of them, and
// no line is lost or torn.
func TestSharedRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agents.jsonl")
	const agents, of = 100, 3
	seen := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for k := range of {
		// Before enrollment, without a token, there is nothing to run.
		if _, err := New(Options{Server: "https://127.0.0.1:1", Fingerprint: "ab", Agents: agents, Index: k, Of: of, Cache: path}); err == nil {
			t.Fatal("New without token or cache succeeded")
		}
		wg.Go(func() {
			c, err := openCache(path)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.close()
			for i := k; i < agents; i += of {
				mu.Lock()
				seen[i]++
				mu.Unlock()
				if err := c.add(cacheEntry{Server: "https://127.0.0.1:1", FP: "ab", Index: i, Device: int64(i + 1), Seed: make([]byte, ed25519.SeedSize)}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for i := range agents {
		if seen[i] != 1 {
			t.Fatalf("agent %d simulated %d times", i, seen[i])
		}
	}
	got, err := loadCache(path, "https://127.0.0.1:1")
	if err != nil || len(got) != agents {
		t.Fatalf("cache holds %d agents (%v), want %d", len(got), err, agents)
	}
	// Now each share re-attaches from the shared cache without a token.
	total := 0
	for k := range of {
		s, err := New(Options{Server: "https://127.0.0.1:1", Agents: agents, Index: k, Of: of, Cache: path})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range s.agents {
			if a.idx%of != k || a.device.Load() != int64(a.idx+1) || !a.fromCache {
				t.Errorf("process %d got agent %d with device %d", k, a.idx, a.device.Load())
			}
		}
		if s.fp != "ab" {
			t.Errorf("fingerprint %q not taken from the cache", s.fp)
		}
		total += s.Agents()
		s.cache.close()
	}
	if total != agents {
		t.Errorf("shares hold %d agents, want %d", total, agents)
	}
	if _, err := New(Options{Server: "https://127.0.0.1:1", Agents: agents, Index: 3, Of: 3, Cache: path}); err == nil {
		t.Error("index 3 of 3 accepted")
	}
}

// TestNoCacheFileRefused: there is no default cache file, so that a run
// never drops one into whatever folder it was started in.
func TestNoCacheFileRefused(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := New(Options{Server: "https://127.0.0.1:1", Fingerprint: "ab", Agents: 1}); err == nil || !strings.Contains(err.Error(), "no agent cache") {
		t.Fatalf("err = %v, want a missing cache file refused", err)
	}
	if ents, _ := os.ReadDir("."); len(ents) != 0 {
		t.Errorf("files appeared in the current folder: %v", ents)
	}
}
