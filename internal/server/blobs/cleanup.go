package blobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Removing blobs that no package or agent release file names any more. The database decides
// (InUse), but an upload of the same content may be between Put and the
// database write that names it. On one node, Store.mu orders them: Put's
// last step (touch or rename into place) and Remove's whole decision
// never interleave. Another node sharing the folder has its own lock, so
// Put also touches a blob it finds stored, a blob written or touched
// within the grace period is never removed, and Remove moves the blob
// aside before it deletes it and looks at its time once more: a touch
// that came before the move shows there (the blob goes back; for that
// moment the other node's agents get blob_missing and retry), one that
// came after finds no file and stores the upload's own copy.

// DefaultGrace is how recent a write or upload keeps a blob: far longer
// than an upload takes from Put to the database naming its file, and than
// the clocks of a cluster's nodes differ.
const DefaultGrace = time.Hour

// staleTemp is the age of a temporary file no upload writes to any more
// (a crashed server's); the server's read timeout ends uploads far sooner.
const staleTemp = 24 * time.Hour

// removePrefix names a blob moved aside by Remove in the tmp folder:
// removing-<sha256>-<random>.
const removePrefix = "removing-"

// InUse reports whether the database names blob sum (InUseBy: the
// store's PackageBlobInUse or AgentFileBlobInUse).
type InUse func(ctx context.Context, sum string) (bool, error)

// Remove deletes blob sum if inUse says nothing names it and it was not
// written or uploaded again within the grace period; it reports whether
// it did. A missing blob is no error.
func (s *Store) Remove(ctx context.Context, sum string, inUse InUse) (bool, error) {
	if !validSum(sum) {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	final := s.path(sum)
	if !s.old(final) {
		return false, nil
	}
	named, err := inUse(ctx, sum)
	if err != nil || named {
		return false, err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	aside := filepath.Join(s.tmpDir(), removePrefix+sum+"-"+hex.EncodeToString(rnd[:]))
	if err := os.Rename(final, aside); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("blobs: moving %s aside: %w", sum, err)
	}
	if s.afterMove != nil {
		s.afterMove()
	}
	if !s.old(aside) {
		// Uploaded again meanwhile: back in place (a copy the upload
		// stored there since has the same bytes).
		if err := os.Rename(aside, final); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("blobs: putting %s back: %w", sum, err)
		}
		return false, nil
	}
	if err := os.Remove(aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("blobs: removing %s: %w", sum, err)
	}
	syncDir(filepath.Dir(final))
	return true, nil
}

// old reports whether path exists and was last written or touched before
// the grace period.
func (s *Store) old(path string) bool {
	info, err := os.Stat(path)
	return err == nil && time.Since(info.ModTime()) >= s.grace
}

// touch marks blob path as just uploaded; false if it does not exist
// (any more).
func touch(path string) (bool, error) {
	now := time.Now()
	err := os.Chtimes(path, now, now)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Sweep removes every blob Remove would remove, temporary files older
// than a day, and puts back a blob the database names that a crashed
// Remove left aside. It returns the number of blobs removed; it goes on
// after an error and returns the first.
func (s *Store) Sweep(ctx context.Context, inUse InUse) (int, error) {
	var first error
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	tmps, err := os.ReadDir(s.tmpDir())
	keep(err)
	for _, de := range tmps {
		keep(s.sweepTemp(ctx, de, inUse))
	}
	n := 0
	dirs, err := os.ReadDir(filepath.Join(s.dir, "sha256"))
	keep(err)
	for _, d := range dirs {
		files, err := os.ReadDir(filepath.Join(s.dir, "sha256", d.Name()))
		keep(err)
		for _, f := range files {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			gone, err := s.Remove(ctx, f.Name(), inUse)
			keep(err)
			if gone {
				n++
			}
		}
	}
	return n, first
}

// sweepTemp handles one file of the tmp folder. A blob moved aside is
// another node's removal under way or a crashed one's: put back if named
// and missing, deleted if unnamed and old, else left to that removal.
func (s *Store) sweepTemp(ctx context.Context, de fs.DirEntry, inUse InUse) error {
	path := filepath.Join(s.tmpDir(), de.Name())
	if rest, ok := strings.CutPrefix(de.Name(), removePrefix); ok && len(rest) > 64 && validSum(rest[:64]) {
		sum := rest[:64]
		named, err := inUse(ctx, sum)
		if err != nil {
			return err
		}
		_, serr := os.Stat(s.path(sum))
		switch {
		case named && errors.Is(serr, fs.ErrNotExist):
			err = os.Rename(path, s.path(sum))
		case named && serr == nil || !named && s.old(path):
			err = os.Remove(path)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil // the removal under way took it
		}
		return err
	}
	if info, err := de.Info(); err == nil && time.Since(info.ModTime()) > staleTemp {
		return os.Remove(path)
	}
	return nil
}
