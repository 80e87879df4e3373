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
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
)

// PostgresEnv names the environment variable with the PostgreSQL URL that
// tests use, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const PostgresEnv = "WACHT_TEST_POSTGRES"

// NewSQLite opens a migrated store on a SQLite file in a temporary
// directory; it is closed when the test ends.
func NewSQLite(t testing.TB) *store.DB {
	t.Helper()
	s, err := store.Open(context.Background(), "", t.TempDir())
	if err != nil {
		t.Fatalf("opening sqlite store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
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
