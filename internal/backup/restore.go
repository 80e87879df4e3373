package backup

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wacht-rmm/wacht/internal/store"
)

// RestoreOptions say which archive to restore where.
type RestoreOptions struct {
	In      string
	DataDir string
	// Force restores into a folder that is not empty, replacing the files
	// the archive holds (and the database's -wal and -shm files).
	Force bool
}

// ErrNotEmpty is returned for a data folder that is not empty, without
// RestoreOptions.Force.
var ErrNotEmpty = errors.New("the data folder is not empty")

// maxManifest bounds the manifest read into memory.
const maxManifest = 64 << 20

// Restore checks the archive whole — the manifest against every file's
// size and SHA-256, the paths, and a schema level this build knows —
// before it writes anything, then writes each file through a temporary
// file renamed into place, with the mode the manifest gives it. It
// refuses a data folder that is not empty (unless o.Force) and one whose
// database another process has open.
func Restore(ctx context.Context, o RestoreOptions) (Manifest, error) {
	entries, err := os.ReadDir(o.DataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return Manifest{}, fmt.Errorf("data folder: %w", err)
	case len(entries) > 0 && !o.Force:
		return Manifest{}, fmt.Errorf("%w: %s (restore into an empty folder, or add --force to replace the files the archive holds)", ErrNotEmpty, o.DataDir)
	case len(entries) > 0:
		if err := store.CheckNotInUse(ctx, o.DataDir); err != nil {
			return Manifest{}, fmt.Errorf("%w; stop the server first", err)
		}
	}
	m, err := Verify(o.In)
	if err != nil {
		return m, err
	}
	if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
		return m, diskErr("creating the data folder", err)
	}
	// A log or shared memory of another database would be applied to
	// the restored one.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(filepath.Join(o.DataDir, store.DBFile+suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("removing the old database's %s file: %w", suffix, err)
		}
	}
	want := map[string]File{}
	for _, f := range m.Files {
		want[f.Path] = f
	}
	dirs := map[string]bool{}
	err = walk(o.In, func(hdr *tar.Header, r io.Reader) error {
		if hdr.Name == ManifestName {
			return nil
		}
		f, ok := want[hdr.Name]
		if !ok {
			return fmt.Errorf("%s changed since it was verified: it now holds %s", o.In, hdr.Name)
		}
		p := filepath.Join(o.DataDir, filepath.FromSlash(hdr.Name))
		dirs[filepath.Dir(p)] = true
		return writeFile(p, r, f)
	})
	if err != nil {
		return m, err
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return m, err
		}
	}
	return m, nil
}

// writeFile writes what r yields to p, if it is what f says.
func writeFile(p string, r io.Reader, f File) error {
	mode, err := parseMode(f.Mode)
	if err != nil {
		return err
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return diskErr("creating "+dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(p)+".restore-*")
	if err != nil {
		return diskErr("restoring "+p, err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		return diskErr("restoring "+p, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
		return fmt.Errorf("%s changed since it was verified: the archive was modified during the restore", f.Path)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("restoring %s: %w", p, err)
	}
	if err := tmp.Sync(); err != nil {
		return diskErr("restoring "+p, err)
	}
	if err := tmp.Close(); err != nil {
		return diskErr("restoring "+p, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("restoring %s: %w", p, err)
	}
	tmp = nil
	return nil
}

// Verify reads the archive at path whole and returns its manifest if
// every file matches it, the paths are safe and the schema level is one
// this build knows.
func Verify(path string) (Manifest, error) {
	var (
		m     Manifest
		found bool
	)
	type sum struct {
		size int64
		hash string
	}
	got := map[string]sum{}
	err := walk(path, func(hdr *tar.Header, r io.Reader) error {
		if hdr.Name == ManifestName {
			if found {
				return errors.New("it holds two manifests")
			}
			found = true
			if err := json.NewDecoder(io.LimitReader(r, maxManifest)).Decode(&m); err != nil {
				return fmt.Errorf("its manifest is damaged: %w", err)
			}
			return nil
		}
		if !validPath(hdr.Name) {
			return fmt.Errorf("it holds a file named %q, outside the data folder", hdr.Name)
		}
		if _, dup := got[hdr.Name]; dup {
			return fmt.Errorf("it holds %s twice", hdr.Name)
		}
		h := sha256.New()
		n, err := io.Copy(h, r)
		if err != nil {
			return err
		}
		got[hdr.Name] = sum{n, hex.EncodeToString(h.Sum(nil))}
		return nil
	})
	if err != nil {
		return m, err
	}
	bad := func(format string, a ...any) (Manifest, error) {
		return m, fmt.Errorf("%s is not a valid Wacht backup: "+format, append([]any{path}, a...)...)
	}
	switch {
	case !found:
		return bad("it has no %s", ManifestName)
	case m.Format > Format:
		return m, fmt.Errorf("%s was written by wacht %s in archive format %d, which this wacht does not know: upgrade wacht first", path, m.Version, m.Format)
	case m.Format != Format:
		return bad("archive format %d", m.Format)
	case m.Engine != store.SQLite && m.Engine != store.Postgres:
		return bad("unknown database engine %q", m.Engine)
	}
	latest, err := store.LatestSchema(m.Engine)
	if err != nil {
		return m, err
	}
	if m.Schema == "" {
		return bad("the manifest names no schema level")
	}
	if m.Schema > latest {
		return m, fmt.Errorf("the backup's database is at schema level %s, written by wacht %s; this wacht knows up to %s: upgrade wacht first", m.Schema, m.Version, latest)
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		if !validPath(f.Path) {
			return bad("the manifest names %q, outside the data folder", f.Path)
		}
		if listed[f.Path] {
			return bad("the manifest lists %s twice", f.Path)
		}
		listed[f.Path] = true
		if _, err := parseMode(f.Mode); err != nil {
			return bad("%s: %v", f.Path, err)
		}
		g, ok := got[f.Path]
		switch {
		case !ok:
			return bad("%s, listed in the manifest, is missing", f.Path)
		case g.size != f.Size || g.hash != f.SHA256:
			return bad("%s does not match its checksum in the manifest (damaged or modified)", f.Path)
		}
	}
	for name := range got {
		if !listed[name] {
			return bad("it holds %s, which the manifest does not list", name)
		}
	}
	if hasDB := listed[store.DBFile]; hasDB != (m.Engine == store.SQLite) {
		return bad("engine %s with%s %s", m.Engine, map[bool]string{true: "", false: "out"}[hasDB], store.DBFile)
	}
	return m, nil
}

// walk calls fn for each entry of the tar.gz archive at path, which must
// be regular files only. A read error of the archive, from walk or from
// fn's reader, says the archive is damaged.
func walk(path string, fn func(*tar.Header, io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening the archive: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return damaged(path, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return damaged(path, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			return damaged(path, fmt.Errorf("%q is not a regular file", hdr.Name))
		}
		if err := fn(hdr, archiveReader{tr, path}); err != nil {
			return err
		}
	}
	// The tar end marker comes before gzip's checksum: read that too.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return damaged(path, err)
	}
	return nil
}

func damaged(path string, err error) error {
	return fmt.Errorf("%s is damaged or not a Wacht backup: %w", path, err)
}

// archiveReader reads an archive entry and says a read error means a
// damaged archive.
type archiveReader struct {
	r    io.Reader
	path string
}

func (a archiveReader) Read(b []byte) (int, error) {
	n, err := a.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		err = damaged(a.path, err)
	}
	return n, err
}
