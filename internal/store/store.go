// Package store is Wacht's one SQL implementation of the core store
// interfaces, over database/sql, for two engines: SQLite (modernc.org/sqlite,
// embedded default) and PostgreSQL (pgx). Queries use $N placeholders in both;
// dialect differences live only in the migrations and in mapping driver
// errors to core sentinel errors (errors.go). Timestamps are stored as Unix
// milliseconds and come back as UTC.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/scriptmac"
	"github.com/wacht-rmm/wacht/internal/seal"

	_ "github.com/jackc/pgx/v5/stdlib" // registers driver "pgx"
	_ "modernc.org/sqlite"             // registers driver "sqlite"
)

// Dialect names returned by (*DB).Dialect.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrationLockKey is the PostgreSQL advisory lock that serializes
// migrations of several processes opening the same database at once.
const migrationLockKey = 0x77616368_74 // "wacht"

// DB is the SQL store. It implements core.Store and is safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect string
	mapErr  func(error) error // driver error → core sentinel, per dialect
	box     *seal.Box         // seals secrets at rest (sealed.go)
	macs    scriptmac.Keys    // authenticates script versions, tasks and script checks (scriptmac)
	clock   clock.Clock       // of Lead's lease; nil is clock.Real
	// window is how long a probe counts as online after its last contact
	// (SetOnlineWindow; 0 is core.OnlineWindow's default).
	window atomic.Int64
}

// SetOnlineWindow sets how long after its last contact a probe still counts
// as online for its network devices' status (core.OnlineWindow of the
// server's heartbeat); ListDevices and GetDevice read it.
func (s *DB) SetOnlineWindow(w time.Duration) { s.window.Store(int64(w)) }

// onlineWindow is the window SetOnlineWindow set, or the default.
func (s *DB) onlineWindow() time.Duration {
	if w := time.Duration(s.window.Load()); w > 0 {
		return w
	}
	return core.OnlineWindow(0)
}

var _ core.Store = (*DB)(nil)

// Open connects to the database, applies pending migrations and seals
// secrets an older version stored in clear (sealed.go). dbURL "" uses the
// SQLite file <dataDir>/wacht.db (created if missing, 0600, like its -wal
// and -shm files); a postgres:// or postgresql:// URL uses PostgreSQL.
// Either way the secrets are sealed with <dataDir>/secret.key, and the
// data directory is made private to the server's user (0700).
func Open(ctx context.Context, dbURL, dataDir string) (*DB, error) {
	if dataDir == "" {
		return nil, errors.New("store: no data directory (it holds " + seal.KeyFile + ")")
	}
	if err := privateDir(dataDir); err != nil {
		return nil, err
	}
	var s *DB
	switch {
	case dbURL == "":
		if strings.Contains(dataDir, "?") {
			return nil, fmt.Errorf("store: data directory %q: a '?' cannot be passed to SQLite", dataDir)
		}
		path := filepath.Join(dataDir, DBFile)
		if err := privateFiles(path); err != nil {
			return nil, err
		}
		db, err := sql.Open("sqlite", sqliteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("store: opening sqlite: %w", err)
		}
		// SQLite has one writer; without a cap, thousands of agents' writes
		// open thousands of connections that fight over the write lock
		// (docs/benchmarks.md). Queue them in the pool instead.
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		s = &DB{db: db, dialect: SQLite, mapErr: mapSQLiteErr}
	case strings.HasPrefix(dbURL, "postgres://"), strings.HasPrefix(dbURL, "postgresql://"):
		db, err := sql.Open("pgx", dbURL)
		if err != nil {
			return nil, fmt.Errorf("store: opening postgres: %w", err)
		}
		db.SetMaxOpenConns(20)
		// Keep every connection: closing idle ones and opening new ones
		// under load costs tail latency (docs/benchmarks.md).
		db.SetMaxIdleConns(20)
		s = &DB{db: db, dialect: Postgres, mapErr: mapPostgresErr}
	default:
		scheme, _, _ := strings.Cut(dbURL, ":")
		return nil, fmt.Errorf("store: unsupported database URL scheme %q (want postgres:// or postgresql://, or no URL for SQLite)", scheme)
	}
	if err := s.connect(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", s.dialect, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	// Devices stored before migration 0041 get their search text.
	if err := s.inTx(ctx, "open", func(tx *sql.Tx) error { return s.refreshSearch(ctx, tx) }); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.openBox(ctx, dataDir); err != nil {
		s.db.Close()
		return nil, err
	}
	s.macs = scriptmac.New(s.box)
	if err := s.sealExisting(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// connect opens the first connection. Two processes creating one SQLite
// file at once both switch it to WAL; that switch needs an exclusive lock
// and SQLite answers "database is locked" without waiting for it (waiting
// could deadlock), so the loser tries again once the winner is done.
func (s *DB) connect(ctx context.Context) error {
	for try := 1; ; try++ {
		err := s.db.PingContext(ctx)
		if err == nil || s.dialect != SQLite || !sqliteBusy(err) || try == 50 {
			if err != nil {
				return fmt.Errorf("store: connecting to %s: %w", s.dialect, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try) * 10 * time.Millisecond):
		}
	}
}

// privateDir creates dir (0700) or takes group and other permissions off
// an existing one.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("store: creating data directory: %w", err)
	}
	return tighten(dir)
}

// privateFiles creates the SQLite database file db with mode 0600 if it is
// missing (SQLite gives its -wal and -shm files the database file's mode)
// and takes group and other permissions off the three files that exist.
func privateFiles(db string) error {
	f, err := os.OpenFile(db, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		if err := f.Close(); err != nil {
			return fmt.Errorf("store: creating database file: %w", err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("store: creating database file: %w", err)
	}
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		if err := tighten(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// tighten takes group and other permissions off path.
func tighten(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if mode := fi.Mode().Perm(); mode&0o077 != 0 {
		if err := os.Chmod(path, mode&^0o077); err != nil {
			return fmt.Errorf("store: making %s private: %w", path, err)
		}
	}
	return nil
}

// sqliteDSN configures every connection: WAL so readers never block the
// writer, a busy timeout so admin CLI processes can write while the server
// runs, and immediate write transactions so a transaction never fails
// upgrading a read lock to a write lock (that error skips the busy handler).
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(15000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	// A plain path (no "file:" URI) reaches SQLite unescaped; the driver
	// cuts the parameters off at the first '?'.
	return path + "?" + q.Encode()
}

// Dialect returns SQLite or Postgres.
func (s *DB) Dialect() string { return s.dialect }

// SQL returns the underlying pool, for other packages' tests.
func (s *DB) SQL() *sql.DB { return s.db }

// Close closes the pool.
func (s *DB) Close() error { return s.db.Close() }

// migrate applies the embedded migrations of the dialect that are not yet
// recorded in schema_migrations, all in one transaction. SQLite's immediate
// transaction and PostgreSQL's transaction-scoped advisory lock make two
// processes opening at once apply each migration exactly once.
func (s *DB) migrate(ctx context.Context) error {
	versions, err := schemaVersions(s.dialect)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLockKey)); err != nil {
			return fmt.Errorf("store: migrate: taking lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT PRIMARY KEY,
		applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: creating schema_migrations: %w", err)
	}
	applied := map[string]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("store: migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, version := range versions {
		if applied[version] {
			continue
		}
		name := version + ".sql"
		body, err := migrations.ReadFile("migrations/" + s.dialect + "/" + name)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("store: applying migration %s/%s: %w", s.dialect, name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`,
			version, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("store: recording migration %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate: commit: %w", err)
	}
	return nil
}

// schemaVersions lists the dialect's embedded migrations in the order they
// apply, by version (file name without .sql).
func schemaVersions(dialect string) ([]string, error) {
	entries, err := fs.ReadDir(migrations, "migrations/"+dialect)
	if err != nil {
		return nil, fmt.Errorf("store: reading migrations: %w", err)
	}
	var versions []string
	for _, e := range entries {
		if v, ok := strings.CutSuffix(e.Name(), ".sql"); ok {
			versions = append(versions, v)
		}
	}
	slices.Sort(versions)
	return versions, nil
}

// wrap maps a driver error to a core sentinel (keeping the driver's text)
// and adds the operation as context. It returns nil for nil.
func (s *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", op, core.ErrNotFound)
	}
	if sentinel := s.mapErr(err); sentinel != nil {
		return fmt.Errorf("store: %s: %w: %v", op, sentinel, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// inTx runs fn in a transaction and commits it if fn returns nil. Errors
// from fn are returned as they are (fn wraps them).
func (s *DB) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op+": begin", err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.wrap(op+": commit", err)
	}
	return nil
}

// Time conversion: Unix milliseconds in the database, UTC time.Time in Go.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msNull stores a zero time or nil pointer as NULL.
func msNull(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func timeOrZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMS(v.Int64)
}

// now is the current time at the precision the database keeps.
func now() time.Time { return fromMS(time.Now().UnixMilli()) }

// orNow returns t at millisecond precision, or now if t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return fromMS(ms(t))
}

// limitOrAll turns "no limit" (≤ 0) into a bound both engines accept.
func limitOrAll(limit int) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(limit)
}
