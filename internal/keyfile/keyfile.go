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

func create(path string, size int) ([]byte, error) {
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generating: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, werr := f.Write(key)
	if err := f.Sync(); werr == nil {
		werr = err
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	if werr != nil {
		os.Remove(path)
		return nil, fmt.Errorf("writing: %w", werr)
	}
	return key, nil
}
