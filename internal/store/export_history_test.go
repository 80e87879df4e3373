package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// CheckHistorySQL exposes the history query to the plan test.
var CheckHistorySQL = checkHistorySQL

// MigrateBefore applies the dialect's migrations older than version to db
// and records them, as an older Wacht would have left the database.
func MigrateBefore(ctx context.Context, db *sql.DB, dialect, version string) error {
	dir := "migrations/" + dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Name() < version {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	for _, n := range names {
		body, err := migrations.ReadFile(dir + "/" + n)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES ($1, 0)`, strings.TrimSuffix(n, ".sql")); err != nil {
			return err
		}
	}
	return nil
}

// SetRollupRows bounds the results one retention transaction handles; it
// returns a function that restores the bound.
func SetRollupRows(n int) (restore func()) {
	old := rollupRows
	rollupRows = n
	return func() { rollupRows = old }
}
