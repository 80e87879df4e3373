// Package backup writes a Wacht server's data folder — the keys, the TLS
// certificate, package files and a consistent snapshot of the SQLite
// database — into one archive (tar.gz) while the server runs, and restores
// such an archive into a data folder (docs/operations.md). The archive's
// last entry, manifest.json, lists every file with its mode, size and
// SHA-256; Restore checks all of it before it writes anything.
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
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/wacht-rmm/wacht/internal/store"
)

// ManifestName is the manifest's name in the archive.
const ManifestName = "manifest.json"

// Format is the archive layout this package writes and reads.
const Format = 1

// Manifest describes an archive.
type Manifest struct {
	Format    int       `json:"format"`
	Version   string    `json:"wacht_version"` // of the wacht that wrote it
	CreatedAt time.Time `json:"created_at"`
	Engine    string    `json:"engine"` // store.SQLite or store.Postgres
	// Schema is the database's last migration; on PostgreSQL that of the
	// database the separate pg_dump must be taken of.
	Schema string `json:"schema"`
	Files  []File `json:"files"`
}

// File is one file of the data folder in the archive.
type File struct {
	Path   string `json:"path"` // relative to the data folder, with '/'
	Mode   string `json:"mode"` // permission bits in octal, e.g. "0600"
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Options say what to back up where.
type Options struct {
	DataDir string
	// DBURL is the server's PostgreSQL URL; the archive then holds the
	// files only and the database needs a pg_dump of its own.
	DBURL   string
	Out     string
	Version string // of this wacht
}

// skipped are the live SQLite files (the snapshot stands in for them) and
// the blob store's folder of uploads in progress and files being removed.
var skipped = map[string]bool{
	store.DBFile: true, store.DBFile + "-wal": true, store.DBFile + "-shm": true, store.DBFile + "-journal": true,
	"blobs/tmp": true,
}

// Create writes the archive to o.Out: first to a temporary file beside it,
// synced and then renamed, so that a failed backup leaves no partial file
// and an earlier archive of that name stays until the new one is whole.
// The database snapshot is taken before the files are read, so every
// package file the snapshot names is in the archive.
func Create(ctx context.Context, o Options) (Manifest, error) {
	m := Manifest{Format: Format, Version: o.Version, CreatedAt: time.Now().UTC().Truncate(time.Second), Engine: store.SQLite}
	if fi, err := os.Stat(o.DataDir); err != nil {
		return m, fmt.Errorf("data folder: %w", err)
	} else if !fi.IsDir() {
		return m, fmt.Errorf("data folder %s is not a folder", o.DataDir)
	}
	outDir := filepath.Dir(o.Out)
	if fi, err := os.Stat(outDir); err != nil {
		return m, fmt.Errorf("--out: the folder %s does not exist: %w", outDir, err)
	} else if !fi.IsDir() {
		return m, fmt.Errorf("--out: %s is not a folder", outDir)
	}
	if inside, err := within(o.DataDir, outDir); err != nil {
		return m, err
	} else if inside {
		return m, fmt.Errorf("--out %s is inside the data folder %s: write the archive elsewhere", o.Out, o.DataDir)
	}
	work, err := os.MkdirTemp(outDir, ".wacht-backup-*")
	if err != nil {
		return m, diskErr("creating a work folder", err)
	}
	defer os.RemoveAll(work)
	snapshot := filepath.Join(work, store.DBFile)
	if o.DBURL == "" {
		if _, err := os.Stat(filepath.Join(o.DataDir, store.DBFile)); errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("no database %s in %s: a server on PostgreSQL needs --db", store.DBFile, o.DataDir)
		}
		if m.Schema, err = store.Snapshot(ctx, o.DataDir, snapshot); err != nil {
			return m, diskErr("taking the database snapshot", err)
		}
		// SQLite created the copy with the umask's mode.
		if err := os.Chmod(snapshot, 0o600); err != nil {
			return m, err
		}
	} else {
		m.Engine = store.Postgres
		if m.Schema, err = store.PostgresSchema(ctx, o.DBURL); err != nil {
			return m, err
		}
	}

	tmp, err := os.CreateTemp(outDir, filepath.Base(o.Out)+".*.tmp") // mode 0600: the archive holds keys
	if err != nil {
		return m, diskErr("creating the archive", err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	gz := gzip.NewWriter(tmp)
	a := &archive{tw: tar.NewWriter(gz), m: &m}
	if err := a.addFolder(o.DataDir); err != nil {
		return m, err
	}
	if m.Engine == store.SQLite {
		if err := a.addFile(snapshot, store.DBFile); err != nil {
			return m, err
		}
	}
	if err := a.addManifest(); err != nil {
		return m, err
	}
	if err := a.tw.Close(); err != nil {
		return m, diskErr("writing the archive", err)
	}
	if err := gz.Close(); err != nil {
		return m, diskErr("writing the archive", err)
	}
	if err := tmp.Sync(); err != nil {
		return m, diskErr("syncing the archive", err)
	}
	if err := tmp.Close(); err != nil {
		return m, diskErr("writing the archive", err)
	}
	if err := os.Rename(tmp.Name(), o.Out); err != nil {
		return m, fmt.Errorf("moving the archive into place: %w", err)
	}
	tmp = nil
	return m, syncDir(outDir)
}

// archive is an archive being written.
type archive struct {
	tw *tar.Writer
	m  *Manifest
}

// addFolder adds every file in dir except the skipped ones. Files that
// vanish while it walks (temporary files) are left out; anything else it
// cannot read is an error.
func (a *archive) addFolder(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p != dir {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading the data folder: %w", err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case skipped[name] && d.IsDir():
			return filepath.SkipDir
		case skipped[name] || d.IsDir():
			return nil
		}
		return a.addFile(p, name)
	})
}

// addFile adds the regular file at p (or the file a link at p points to)
// as name.
func (a *archive) addFile(p, name string) error {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(p); lerr == nil {
			return fmt.Errorf("%s: a link to nothing", p)
		}
		return nil // removed since the folder was listed
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", p, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file; the backup takes files and folders only", p)
	}
	mode := fi.Mode().Perm()
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: int64(mode), Size: fi.Size(), ModTime: fi.ModTime()}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return diskErr("writing the archive", err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(a.tw, h), f, fi.Size()); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s shrank while it was read: run the backup again", p)
		}
		return diskErr("copying "+p, err)
	}
	a.m.Files = append(a.m.Files, File{Path: name, Mode: fmt.Sprintf("%04o", mode), Size: fi.Size(), SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// addManifest adds the manifest as the last entry.
func (a *archive) addManifest() error {
	b, err := json.MarshalIndent(a.m, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ManifestName, Mode: 0o600, Size: int64(len(b)), ModTime: a.m.CreatedAt}); err != nil {
		return diskErr("writing the archive", err)
	}
	if _, err := a.tw.Write(b); err != nil {
		return diskErr("writing the archive", err)
	}
	return nil
}

// within reports whether folder is dir or inside it.
func within(dir, folder string) (bool, error) {
	d, err := realPath(dir)
	if err != nil {
		return false, err
	}
	f, err := realPath(folder)
	if err != nil {
		return false, err
	}
	rel, err := filepath.Rel(d, f)
	return err == nil && filepath.IsLocal(rel), nil
}

func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// diskErr wraps err with what failed and, when the disk is full, says so.
func diskErr(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%s: the disk is full: %w", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// syncDir makes a rename in dir durable. Windows cannot sync a folder;
// NTFS journals renames.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// parseMode reads a manifest mode: permission bits only.
func parseMode(s string) (fs.FileMode, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("mode %q is not a file permission", s)
	}
	return fs.FileMode(v), nil
}

// validPath reports whether p is a clean relative path inside the folder.
func validPath(p string) bool {
	return p != "" && p != ManifestName && path.Clean(p) == p && !strings.Contains(p, `\`) && filepath.IsLocal(filepath.FromSlash(p))
}
