// Package storetest is the one conformance suite for core.Store
// implementations (Run), and helpers that give other packages' tests a real
// store: NewSQLite always, NewPostgres when WACHT_TEST_POSTGRES is set.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/store"
)

// PostgresEnv names the environment variable with the PostgreSQL URL that
// tests use, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "WACHT_TEST_POSTGRES"

// NewSQLite opens a migrated store on a SQLite file in a temporary
// directory; it is closed when the test ends.
func NewSQLite(t testing.TB) *store.DB {
	t.Helper()
	template.once.Do(func() {
		template.db, template.key, template.err = migrateTemplate()
	})
	if template.err != nil {
		t.Fatalf("migrating the sqlite template: %v", template.err)
	}
	s, _ := openCopy(t, template.db, template.key)
	return s
}

// SeededSQLite returns a function like NewSQLite whose stores start with
// the rows seed writes into a migrated one. seed runs once per test
// binary, in the first caller's test; every store is a copy of its
// result, which costs a fraction of seeding anew in a test that needs the
// same fresh rows in hundreds of cases.
func SeededSQLite(seed func(testing.TB, *store.DB)) func(testing.TB) *store.DB {
	var (
		once    sync.Once
		done    bool
		db, key []byte
	)
	return func(t testing.TB) *store.DB {
		t.Helper()
		once.Do(func() {
			NewSQLite(t) // the template
			st, dir := openCopy(t, template.db, template.key)
			seed(t, st) // a t.Fatal here leaves done false
			var err error
			if db, key, err = snapshot(st, dir); err != nil {
				t.Fatalf("copying the seeded store: %v", err)
			}
			done = true
		})
		if !done {
			t.Fatal("seeding the store failed in the first test that asked for it")
		}
		s, _ := openCopy(t, db, key)
		return s
	}
}

// template is a freshly migrated SQLite database and its secret key, made
// once per test binary: copying it costs a fraction of migrating anew,
// which counts in tests that open hundreds of stores.
var template struct {
	once    sync.Once
	db, key []byte
	err     error
}

// openCopy writes db and key into a temporary directory, where store.Open
// finds every migration applied, and opens the store there.
func openCopy(t testing.TB, db, key []byte) (*store.DB, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "wacht.db"), db, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, seal.KeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatalf("opening sqlite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dir
}

func migrateTemplate() (db, key []byte, err error) {
	dir, err := os.MkdirTemp("", "wacht-storetest")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(context.Background(), "", dir)
	if err != nil {
		return nil, nil, err
	}
	db, key, err = snapshot(s, dir)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return db, key, err
}

// snapshot returns the database file and secret key of the SQLite store s
// in dir.
func snapshot(s *store.DB, dir string) (db, key []byte, err error) {
	// Move everything from the write-ahead log into the file itself.
	if _, err := s.SQL().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return nil, nil, err
	}
	if db, err = os.ReadFile(filepath.Join(dir, "wacht.db")); err != nil {
		return nil, nil, err
	}
	key, err = os.ReadFile(filepath.Join(dir, seal.KeyFile))
	return db, key, err
}

// NewPostgres opens a migrated store in a fresh schema from PostgresURL;
// the store is closed and the schema dropped when the test ends. It skips
// the test when WACHT_TEST_POSTGRES is unset.
func NewPostgres(t testing.TB) *store.DB {
	t.Helper()
	s, err := store.Open(context.Background(), PostgresURL(t), t.TempDir())
	if err != nil {
		t.Fatalf("opening postgres store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresURL creates a fresh, randomly named, empty schema in the database
// at $WACHT_TEST_POSTGRES and returns that URL with search_path set to it, so
// that tests never see each other's rows. The schema is dropped when the test
// ends (register store cleanups after calling this, so they run first). It
// skips the test when the variable is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("%s not set", PostgresEnv)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parsing %s: %v", PostgresEnv, err)
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connecting to postgres: %v", err)
	}
	b := make([]byte, 8)
	rand.Read(b)
	schema := "wacht_test_" + hex.EncodeToString(b)
	// The name is made of hex digits only; identifiers cannot be bound as
	// parameters.
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		admin.Close()
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
		admin.Close()
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
