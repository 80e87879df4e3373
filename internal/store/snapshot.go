package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Backups (internal/backup) copy the database without migrating it: the
// binary taking a backup before an upgrade may be newer than the server
// that still runs on the database.

// DBFile is the SQLite database's file name in the data folder; SQLite
// keeps its write-ahead log and shared memory beside it, in DBFile plus
// "-wal" and "-shm".
const DBFile = "wacht.db"

// ErrInUse means another process has the SQLite database open: a running
// server or an admin command.
var ErrInUse = errors.New("store: the database is in use by another process (a running server?)")

// LatestSchema is the last migration this build knows for dialect (SQLite
// or Postgres). Versions begin with a zero-padded number, so a database
// whose level sorts after it was written by a newer Wacht.
func LatestSchema(dialect string) (string, error) {
	versions, err := schemaVersions(dialect)
	if err != nil {
		return "", err
	}
	if len(versions) == 0 {
		return "", fmt.Errorf("store: no migrations for %q", dialect)
	}
	return versions[len(versions)-1], nil
}

// Snapshot copies the SQLite database in dataDir to dest, which must not
// exist, with VACUUM INTO: a consistent copy of the last commit, taken
// while the server goes on writing (in WAL mode a reader never blocks the
// writer). It returns the copy's schema level.
func Snapshot(ctx context.Context, dataDir, dest string) (string, error) {
	path := filepath.Join(dataDir, DBFile)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	live, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return "", fmt.Errorf("store: opening sqlite: %w", err)
	}
	defer live.Close()
	if _, err := live.ExecContext(ctx, `VACUUM INTO $1`, dest); err != nil {
		return "", fmt.Errorf("store: copying the database: %w", err)
	}
	cp, err := sql.Open("sqlite", dest)
	if err != nil {
		return "", fmt.Errorf("store: opening the copy: %w", err)
	}
	level, err := schemaLevel(ctx, cp)
	if cerr := cp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store: closing the copy: %w", cerr)
	}
	return level, err
}

// PostgresSchema returns the schema level of the PostgreSQL database at
// dbURL.
func PostgresSchema(ctx context.Context, dbURL string) (string, error) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", fmt.Errorf("store: opening postgres: %w", err)
	}
	defer db.Close()
	return schemaLevel(ctx, db)
}

// schemaLevel is the last migration applied to db.
func schemaLevel(ctx context.Context, db *sql.DB) (string, error) {
	var level sql.NullString
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&level); err != nil {
		return "", fmt.Errorf("store: reading the schema level (is this a Wacht database?): %w", err)
	}
	if !level.Valid {
		return "", errors.New("store: the database has no migrations applied (is this a Wacht database?)")
	}
	return level.String, nil
}

// CheckNotInUse returns ErrInUse if another process has the SQLite
// database in dataDir open. It asks for SQLite's exclusive lock without
// waiting, which any open connection in WAL mode denies. A folder without
// a database is not in use.
func CheckNotInUse(ctx context.Context, dataDir string) error {
	path := filepath.Join(dataDir, DBFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(0)&_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		return fmt.Errorf("store: opening sqlite: %w", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err == nil {
		defer conn.Close()
		if _, err = conn.ExecContext(ctx, `BEGIN EXCLUSIVE`); err == nil {
			_, err = conn.ExecContext(ctx, `COMMIT`)
		}
	}
	switch {
	case err != nil && sqliteBusy(err):
		return fmt.Errorf("%w: %s", ErrInUse, path)
	case err != nil:
		return fmt.Errorf("store: locking %s: %w", path, err)
	}
	return nil
}
