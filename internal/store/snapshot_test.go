package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestSnapshot copies a database that is open and written to, and the
// copy holds the committed rows at the latest schema level.
func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetSetting(ctx, "backup_test", "before"); err != nil {
		t.Fatal(err)
	}
	// The open store holds the database: it is in use.
	if err := store.CheckNotInUse(ctx, dir); !errors.Is(err, store.ErrInUse) {
		t.Fatalf("CheckNotInUse with the store open: %v, want ErrInUse", err)
	}
	dest := filepath.Join(t.TempDir(), "copy.db")
	level, err := store.Snapshot(ctx, dir, dest)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := store.LatestSchema(store.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if level != latest {
		t.Errorf("snapshot schema level %q, want %q", level, latest)
	}
	if _, err := store.Snapshot(ctx, dir, dest); err == nil {
		t.Error("a snapshot over an existing file succeeded")
	}
	if err := st.SetSetting(ctx, "backup_test", "after"); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := store.CheckNotInUse(ctx, dir); err != nil {
		t.Fatalf("CheckNotInUse after closing: %v", err)
	}

	// The copy opens as a store of its own (with the data folder's key)
	// and has the row as it was when the snapshot was taken.
	copyDir := filepath.Dir(dest)
	key, err := os.ReadFile(filepath.Join(dir, seal.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(copyDir, seal.KeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(dest, filepath.Join(copyDir, store.DBFile)); err != nil {
		t.Fatal(err)
	}
	cp, err := store.Open(ctx, "", copyDir)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if v, err := cp.GetSetting(ctx, "backup_test"); err != nil || v != "before" {
		t.Errorf("setting in the copy: %q, %v; want before", v, err)
	}

	if _, err := store.Snapshot(ctx, t.TempDir(), filepath.Join(t.TempDir(), "x.db")); err == nil {
		t.Error("a snapshot of a folder without a database succeeded")
	}
	if err := store.CheckNotInUse(ctx, t.TempDir()); err != nil {
		t.Errorf("CheckNotInUse of an empty folder: %v", err)
	}
}

func TestPostgresSchema(t *testing.T) {
	u := storetest.PostgresURL(t)
	ctx := context.Background()
	if _, err := store.PostgresSchema(ctx, u); err == nil || !strings.Contains(err.Error(), "Wacht database") {
		t.Fatalf("schema of an empty database: %v, want a 'not a Wacht database' error", err)
	}
	st, err := store.Open(ctx, u, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	level, err := store.PostgresSchema(ctx, u)
	latest, _ := store.LatestSchema(store.Postgres)
	if err != nil || level != latest {
		t.Fatalf("PostgresSchema = %q, %v; want %q", level, err, latest)
	}
}
