package store_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// migratedBefore opens a fresh database of dialect migrated up to just
// before version, for a test that writes rows the old way and then opens it
// with store.Open(ctx, url, dir) to run the newer migrations.
func migratedBefore(t *testing.T, dialect, version string) (old *sql.DB, url, dir string) {
	t.Helper()
	driver, dsn := "sqlite", ""
	dir = t.TempDir()
	if dialect == store.Postgres {
		url = storetest.PostgresURL(t)
		driver, dsn = "pgx", url
	} else {
		dsn = filepath.Join(dir, "wacht.db")
	}
	old, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.MigrateBefore(context.Background(), old, dialect, version); err != nil {
		t.Fatal(err)
	}
	return old, url, dir
}
