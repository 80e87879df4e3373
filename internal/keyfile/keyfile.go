// Package keyfile loads a server key kept as a file in the data folder
// (secret.key, action.key), creating it with random bytes on first start.
package keyfile

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreate reads the key file at path, creating it (0600, size random
// bytes) if it does not exist. Two processes starting at once end up with
// the same key. A file of another size is an error.
func LoadOrCreate(path string, size int) ([]byte, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = create(path, size)
		if errors.Is(err, fs.ErrExist) {
			// Another process created it meanwhile: use that one.
			key, err = os.ReadFile(path)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(key) != size {
		return nil, fmt.Errorf("key file %s: %d bytes, want %d", path, len(key), size)
	}
	return key, nil
}

// create writes a new key to a temporary file and links it into place, so
// a process reading path at the same time sees the whole key or no file,
// never a half-written one. The link fails with fs.ErrExist if another
// process got there first.
func create(path string, size int) ([]byte, error) {
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating folder: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return nil, fmt.Errorf("creating: %w", err)
	}
	defer os.Remove(f.Name())
	_, werr := f.Write(key)
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		return nil, fmt.Errorf("writing: %w", werr)
	}
	if err := os.Link(f.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fs.ErrExist
		}
		return nil, fmt.Errorf("creating: %w", err)
	}
	return key, nil
}

// Replace writes data to path (0600) through a temporary file renamed into
// place, so that a process reading path at the same time sees the old or
// the new content, never half of it (key rotation).
func Replace(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("key file %s: creating folder: %w", path, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".new-*")
	if err != nil {
		return fmt.Errorf("key file %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // no-op after the rename
	_, werr := f.Write(data)
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(f.Name(), path)
	}
	if werr != nil {
		return fmt.Errorf("key file %s: writing: %w", path, werr)
	}
	return nil
}
