package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// blob is a package file as the blob store keeps it.
const blob = "blobs/sha256/ab/ab01"

// newDataDir makes a data folder as a running server has it: an open
// SQLite store with a row, keys, a TLS key pair, a package file and an
// upload in progress. The store stays open until the test ends.
func newDataDir(t *testing.T, dbURL string) (string, *store.DB) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), dbURL, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SetSetting(context.Background(), "backup_test", "kept"); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]fs.FileMode{"action.key": 0o600, "tls/key.pem": 0o600, "tls/cert.pem": 0o644, blob: 0o600,
		"blobs/tmp/upload-1": 0o600} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("content of "+name), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir, st
}

func TestBackupAndRestore(t *testing.T) {
	ctx := context.Background()
	data, live := newDataDir(t, "")
	out := filepath.Join(t.TempDir(), "wacht.tar.gz")
	m, err := Create(ctx, Options{DataDir: data, Out: out, Version: "1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	// Written after the snapshot: not in the archive.
	if err := live.SetSetting(ctx, "backup_test", "later"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v, %v; want mode 0600", fi, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(left) != 1 {
		t.Errorf("files beside the archive: %q, want the archive only", left)
	}
	latest, _ := store.LatestSchema(store.SQLite)
	if m.Engine != store.SQLite || m.Schema != latest || m.Version != "1.2.3" {
		t.Errorf("manifest %+v, want sqlite at %s by 1.2.3", m, latest)
	}
	var names []string
	for _, f := range m.Files {
		names = append(names, f.Path)
	}
	want := "action.key " + blob + " secret.key tls/cert.pem tls/key.pem wacht.db"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("archived %q, want %q", got, want)
	}

	target := filepath.Join(t.TempDir(), "restored")
	if _, err := Restore(ctx, RestoreOptions{In: out, DataDir: target}); err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]fs.FileMode{"action.key": 0o600, "secret.key": 0o600, "tls/key.pem": 0o600, "tls/cert.pem": 0o644,
		blob: 0o600, store.DBFile: 0o600} {
		p := filepath.FromSlash(name)
		fi, err := os.Stat(filepath.Join(target, p))
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("restored %s: %v, %v; want mode %04o", name, fi, err, mode)
			continue
		}
		a, _ := os.ReadFile(filepath.Join(data, p))
		b, _ := os.ReadFile(filepath.Join(target, p))
		if name != store.DBFile && !bytes.Equal(a, b) {
			t.Errorf("restored %s differs", name)
		}
	}
	if _, err := os.Stat(filepath.Join(target, "blobs", "tmp")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the uploads in progress were restored: %v", err)
	}
	st, err := store.Open(ctx, "", target)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := st.GetSetting(ctx, "backup_test"); err != nil || v != "kept" {
		t.Errorf("restored setting %q, %v; want kept", v, err)
	}

	// A folder that is not empty needs --force; a database in use is
	// refused even then.
	if _, err := Restore(ctx, RestoreOptions{In: out, DataDir: target}); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("restore into a folder that is not empty: %v, want ErrNotEmpty", err)
	}
	if _, err := Restore(ctx, RestoreOptions{In: out, DataDir: target, Force: true}); !errors.Is(err, store.ErrInUse) {
		t.Errorf("restore over an open database: %v, want ErrInUse", err)
	}
	if err := st.SetSetting(ctx, "backup_test", "changed"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := Restore(ctx, RestoreOptions{In: out, DataDir: target, Force: true}); err != nil {
		t.Fatalf("restore with --force: %v", err)
	}
	for _, f := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(filepath.Join(target, store.DBFile+f)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the old database's %s file stayed: %v", f, err)
		}
	}
	st, err = store.Open(ctx, "", target)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if v, _ := st.GetSetting(ctx, "backup_test"); v != "kept" {
		t.Errorf("setting after restore with --force: %q, want kept", v)
	}
}

func TestBackupPostgres(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresURL(t)
	data, _ := newDataDir(t, u)
	out := filepath.Join(t.TempDir(), "wacht.tar.gz")
	m, err := Create(ctx, Options{DataDir: data, DBURL: u, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	latest, _ := store.LatestSchema(store.Postgres)
	if m.Engine != store.Postgres || m.Schema != latest {
		t.Errorf("manifest %+v, want postgres at %s", m, latest)
	}
	target := t.TempDir()
	if _, err := Restore(ctx, RestoreOptions{In: out, DataDir: target}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(target, store.DBFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a PostgreSQL backup restored %s: %v", store.DBFile, err)
	}
	if _, err := os.Stat(filepath.Join(target, "secret.key")); err != nil {
		t.Error(err)
	}
}

func TestBackupBadInput(t *testing.T) {
	ctx := context.Background()
	data, _ := newDataDir(t, "")
	outDir := t.TempDir()
	for _, tc := range []struct {
		name, data, out, want string
	}{
		{"missing out folder", data, filepath.Join(outDir, "nope", "b.tar.gz"), "does not exist"},
		{"out inside the data folder", data, filepath.Join(data, "tls", "b.tar.gz"), "inside the data folder"},
		{"no database", t.TempDir(), filepath.Join(outDir, "b.tar.gz"), "needs --db"},
		{"no data folder", filepath.Join(outDir, "nope"), filepath.Join(outDir, "b.tar.gz"), "data folder"},
	} {
		if _, err := Create(ctx, Options{DataDir: tc.data, Out: tc.out}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}

	// A file that cannot be read fails the backup and leaves the earlier
	// archive of that name as it was, and nothing else.
	out := filepath.Join(outDir, "b.tar.gz")
	if err := os.WriteFile(out, []byte("earlier"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(data, "gone"), filepath.Join(data, "tls", "chain.pem")); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, Options{DataDir: data, Out: out}); err == nil || !strings.Contains(err.Error(), "chain.pem") {
		t.Errorf("a link to nothing: %v, want an error naming it", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "earlier" {
		t.Errorf("the earlier archive became %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(outDir, "*")); len(left) != 1 {
		t.Errorf("files left in the out folder: %q", left)
	}
}

// TestRestoreBadArchive: every damaged or tampered archive is refused
// before anything is written.
func TestRestoreBadArchive(t *testing.T) {
	ctx := context.Background()
	data, _ := newDataDir(t, "")
	good := filepath.Join(t.TempDir(), "good.tar.gz")
	if _, err := Create(ctx, Options{DataDir: data, Out: good}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		// edit changes an entry, or drops it (nil), or adds one (name "").
		edit func(name string, b []byte) []byte
		raw  func([]byte) []byte // changes the archive file instead
		want string
	}{
		{name: "corrupt file", edit: func(name string, b []byte) []byte {
			if name == "action.key" {
				b[0] ^= 1
			}
			return b
		}, want: "action.key does not match its checksum"},
		{name: "missing file", edit: func(name string, b []byte) []byte {
			if name == "tls/key.pem" {
				return nil
			}
			return b
		}, want: "tls/key.pem, listed in the manifest, is missing"},
		{name: "file not in the manifest", edit: func(name string, b []byte) []byte {
			if name == "" {
				return []byte("extra")
			}
			return b
		}, want: "extra.key, which the manifest does not list"},
		{name: "manifest checksum replaced", edit: manifestEdit(func(m *Manifest) { m.Files[0].SHA256 = strings.Repeat("0", 64) }),
			want: "does not match its checksum"},
		{name: "path outside the folder", edit: manifestEdit(func(m *Manifest) { m.Files[0].Path = "../evil" }),
			want: `"../evil", outside the data folder`},
		{name: "setuid mode", edit: manifestEdit(func(m *Manifest) { m.Files[0].Mode = "4755" }),
			want: `mode "4755" is not a file permission`},
		{name: "newer schema", edit: manifestEdit(func(m *Manifest) { m.Schema = "9999_future" }),
			want: "upgrade wacht first"},
		{name: "newer format", edit: manifestEdit(func(m *Manifest) { m.Format = 2 }),
			want: "upgrade wacht first"},
		{name: "no manifest", edit: func(name string, b []byte) []byte {
			if name == ManifestName {
				return nil
			}
			return b
		}, want: "it has no manifest.json"},
		{name: "truncated", raw: func(b []byte) []byte { return b[:len(b)/2] }, want: "damaged or not a Wacht backup"},
		{name: "gzip checksum", raw: func(b []byte) []byte {
			c := bytes.Clone(b)
			c[len(c)-6] ^= 1 // in gzip's CRC-32 of the content
			return c
		}, want: "damaged or not a Wacht backup"},
		{name: "not an archive", raw: func([]byte) []byte { return []byte("hello") }, want: "damaged or not a Wacht backup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "bad.tar.gz")
			var b []byte
			if tc.raw != nil {
				b = tc.raw(raw)
			} else {
				b = rewrite(t, raw, tc.edit)
			}
			if err := os.WriteFile(in, b, 0o600); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(t.TempDir(), "restored")
			_, err := Restore(ctx, RestoreOptions{In: in, DataDir: target})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want an error saying %q", err, tc.want)
			}
			if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the refused restore created the data folder: %v", err)
			}
		})
	}
}

// manifestEdit returns an edit of rewrite that changes the manifest.
func manifestEdit(change func(*Manifest)) func(string, []byte) []byte {
	return func(name string, b []byte) []byte {
		if name != ManifestName {
			return b
		}
		var m Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			panic(err)
		}
		change(&m)
		out, _ := json.Marshal(m)
		return out
	}
}

// rewrite returns the archive with each entry passed through edit (nil
// drops it), and with an entry extra.key if edit("", nil) returns one.
func rewrite(t *testing.T, archive []byte, edit func(name string, b []byte) []byte) []byte {
	t.Helper()
	gr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	gw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gw)
	put := func(hdr *tar.Header, b []byte) {
		hdr.Size = int64(len(b))
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(b)
	}
	tr := tar.NewReader(gr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		if b = edit(hdr.Name, b); b != nil {
			put(hdr, b)
		}
	}
	if b := edit("", nil); b != nil {
		put(&tar.Header{Typeflag: tar.TypeReg, Name: "extra.key", Mode: 0o600}, b)
	}
	tw.Close()
	gw.Close()
	return buf.Bytes()
}
