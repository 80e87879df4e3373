// Package blobs keeps big immutable files — uploaded installers — in the
// server's data folder, content-addressed by SHA-256:
// <data>/blobs/sha256/<first two hex digits>/<hex>. An upload streams to
// <data>/blobs/tmp while it is hashed, is fsync'd and renamed into place,
// so a blob is either whole or absent, and an identical upload is stored
// once. Agents fetch blobs over HTTPS with Range requests (Handler),
// authorized by short-lived tickets (Tickets) that the server hands them
// in signed actions.
package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// DefaultMaxSize bounds an upload unless the server is told otherwise.
const DefaultMaxSize = 4 << 30

// Errors of Put.
var (
	ErrTooLarge = errors.New("blobs: the upload is larger than the limit")
	ErrDiskFull = errors.New("blobs: the server's disk is full")
)

// Store is the blob folder of one server node.
type Store struct {
	dir   string
	max   int64
	grace time.Duration // cleanup.go
	// mu orders Put's last step and Remove (cleanup.go).
	mu sync.Mutex
	// afterMove, for tests, runs in Remove after the blob was moved aside.
	afterMove func()
}

// Open returns the store under <dataDir>/blobs, creating its folders;
// maxSize ≤ 0 means DefaultMaxSize.
func Open(dataDir string, maxSize int64) (*Store, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	s := &Store{dir: filepath.Join(dataDir, "blobs"), max: maxSize, grace: DefaultGrace}
	for _, d := range []string{s.tmpDir(), filepath.Join(s.dir, "sha256")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("blobs: %w", err)
		}
	}
	return s, nil
}

// MaxSize is the upload limit.
func (s *Store) MaxSize() int64 { return s.max }

func (s *Store) tmpDir() string { return filepath.Join(s.dir, "tmp") }

// validSum reports whether sum is a SHA-256 in lower-case hex.
func validSum(sum string) bool {
	if len(sum) != 2*sha256.Size {
		return false
	}
	for _, c := range []byte(sum) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// path is where blob sum lives; sum must be valid.
func (s *Store) path(sum string) string {
	return filepath.Join(s.dir, "sha256", sum[:2], sum)
}

// Put stores what r yields and returns its SHA-256 and size. It fails with
// ErrTooLarge beyond the limit and ErrDiskFull when the disk fills; then,
// as for every other failure, nothing is left behind.
func (s *Store) Put(r io.Reader) (sum string, size int64, err error) {
	tmp, err := os.CreateTemp(s.tmpDir(), "upload-*")
	if err != nil {
		return "", 0, diskErr("creating the upload file", err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, s.max+1))
	switch {
	case err != nil:
		return "", 0, diskErr("storing the upload", err)
	case size > s.max:
		return "", 0, ErrTooLarge
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, diskErr("syncing the upload", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, diskErr("closing the upload", err)
	}
	sum = hex.EncodeToString(h.Sum(nil))
	final := s.path(sum)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Stored before: touched, so that no removal takes it before the
	// database names it (cleanup.go); the deferred cleanup drops this copy.
	if stored, err := touch(final); err != nil {
		return "", 0, diskErr("marking the stored blob", err)
	} else if stored {
		return sum, size, nil
	}
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return "", 0, diskErr("creating the blob folder", err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", 0, diskErr("storing the blob", err)
	}
	tmp = nil
	syncDir(filepath.Dir(final))
	return sum, size, nil
}

// Open opens blob sum; the error wraps fs.ErrNotExist if this node has no
// such file.
func (s *Store) Open(sum string) (*os.File, error) {
	if !validSum(sum) {
		return nil, fmt.Errorf("blobs: %q is no SHA-256: %w", sum, fs.ErrNotExist)
	}
	return os.Open(s.path(sum))
}

// diskErr wraps err, as ErrDiskFull when the disk is full.
func diskErr(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%s: %w (%v)", op, ErrDiskFull, err)
	}
	return fmt.Errorf("blobs: %s: %w", op, err)
}

// syncDir makes a rename durable where the OS allows syncing a folder.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere (Windows); the rename stands
		d.Close()
	}
}
