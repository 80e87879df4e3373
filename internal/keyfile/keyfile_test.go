package keyfile_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/keyfile"
)

// TestConcurrentCreate starts many loaders on a missing file at once: all
// get the same whole key, and no temporary file is left behind.
func TestConcurrentCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret.key")
	keys := make([][]byte, 16)
	errs := make([]error, len(keys))
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() { keys[i], errs[i] = keyfile.LoadOrCreate(path, 32) })
	}
	wg.Wait()
	for i := range keys {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatalf("loader %d got another key", i)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d files, want only the key", len(entries))
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

// TestWrongSize refuses a key file of another size instead of using it.
func TestWrongSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyfile.LoadOrCreate(path, 32); err == nil {
		t.Fatal("a 5-byte key file was accepted")
	}
}

// TestReplace swaps a key file's content whole and leaves no temporary file.
func TestReplace(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	old, err := keyfile.LoadOrCreate(path, 32)
	if err != nil {
		t.Fatal(err)
	}
	next := bytes.Repeat([]byte{7}, 32)
	if err := keyfile.Replace(path, next); err != nil {
		t.Fatal(err)
	}
	got, err := keyfile.LoadOrCreate(path, 32)
	if err != nil || !bytes.Equal(got, next) || bytes.Equal(got, old) {
		t.Fatalf("after Replace: %x, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	fi, err := os.Stat(path)
	if len(entries) != 1 || err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("folder holds %d files, key mode %v (%v); want only the key, 0600", len(entries), fi.Mode().Perm(), err)
	}
}
