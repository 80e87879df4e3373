package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// engines are the two ways to get a store; PostgreSQL skips without
// WACHT_TEST_POSTGRES.
var engines = []struct {
	name string
	open func(testing.TB) *store.DB
}{
	{"sqlite", func(t testing.TB) *store.DB { return storetest.NewSQLite(t) }},
	{"postgres", func(t testing.TB) *store.DB { return storetest.NewPostgres(t) }},
}

func TestConformance(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) core.Store { return e.open(t) })
		})
	}
}

func TestDialect(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			if got := e.open(t).Dialect(); got != e.name {
				t.Errorf("Dialect() = %q, want %q", got, e.name)
			}
		})
	}
}

// TestPlaceholders proves both drivers bind $N by number, also when $2
// appears before $1 and when one is used twice.
func TestPlaceholders(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t).SQL()
			var a, b, c string
			err := db.QueryRowContext(context.Background(),
				`SELECT CAST($2 AS TEXT), CAST($1 AS TEXT), CAST($2 AS TEXT) || CAST($1 AS TEXT)`, "one", "two").
				Scan(&a, &b, &c)
			if err != nil {
				t.Fatal(err)
			}
			if a != "two" || b != "one" || c != "twoone" {
				t.Errorf("got %q %q %q, want two one twoone", a, b, c)
			}
		})
	}
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"mysql://x", "sqlite:///tmp/x.db", "127.0.0.1:5432"} {
		_, err := store.Open(context.Background(), u, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "unsupported") {
			t.Errorf("Open(%q) = %v, want unsupported-scheme error", u, err)
		}
	}
}

func TestMigrationsRecordedOnce(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t).SQL()
			var n int
			if err := db.QueryRow(`SELECT count(*) FROM schema_migrations WHERE version = '0001_init'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("0001_init recorded %d times, want 1", n)
			}
		})
	}
}

// TestSQLiteConcurrentOpen opens one SQLite file from several goroutines at
// once (separate pools, as separate processes would) and reopens it: the
// schema is created once and every open succeeds.
func TestSQLiteConcurrentOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := store.Open(ctx, "", dir)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.SetSetting(ctx, "k", "v")
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "wacht.db")); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	// Each migration recorded once, however many there are.
	if err := s.SQL().QueryRow(`SELECT count(*) - count(DISTINCT version) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema_migrations has %d duplicate rows, want 0", n)
	}
	var mode string
	if err := s.SQL().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	for _, p := range []struct {
		pragma string
		ok     func(int) bool
	}{
		{"foreign_keys", func(v int) bool { return v == 1 }},
		{"busy_timeout", func(v int) bool { return v >= 10000 }},
		{"synchronous", func(v int) bool { return v == 1 }}, // NORMAL
	} {
		var v int
		if err := s.SQL().QueryRow(`PRAGMA ` + p.pragma).Scan(&v); err != nil || !p.ok(v) {
			t.Errorf("PRAGMA %s = %d, %v", p.pragma, v, err)
		}
	}
}

// TestPostgresConcurrentOpen opens one fresh schema from several pools at
// once: the advisory lock lets exactly one apply the migrations.
func TestPostgresConcurrentOpen(t *testing.T) {
	u := storetest.PostgresURL(t)
	dir := t.TempDir() // one secret.key for every node
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			s, err := store.Open(ctx, u, dir)
			if err != nil {
				errs <- err
				return
			}
			errs <- s.SetSetting(ctx, "k", "v")
			s.Close()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	s, err := store.Open(ctx, u, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	// Each migration recorded once, however many there are.
	if err := s.SQL().QueryRow(`SELECT count(*) - count(DISTINCT version) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema_migrations has %d duplicate rows, want 0", n)
	}
}

// TestSQLiteOddPath opens SQLite in a directory that does not exist yet and
// whose name has characters that mean something in URIs.
func TestSQLiteOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "Wacht Daten #1 %20 ä", "data")
	s, err := store.Open(context.Background(), "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetSetting(context.Background(), "k", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "wacht.db")); err != nil {
		t.Errorf("database not at the expected path: %v", err)
	}
}

// TestSQLiteSecondWriter shows that another process (here: another pool)
// can write while a write transaction holds the database, by waiting.
func TestSQLiteSecondWriter(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tx, err := a.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO settings (key, value) VALUES ('a', '1')`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- b.SetSetting(ctx, "b", "2") }()
	time.Sleep(100 * time.Millisecond) // let b wait on the lock
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("second writer: %v", err)
	}
	for _, k := range []string{"a", "b"} {
		if _, err := b.GetSetting(ctx, k); err != nil {
			t.Errorf("setting %s: %v", k, err)
		}
	}
}

// BenchmarkSaveResults stores batches of 500 results of 50 checks of one
// device, with result IDs as agents make them: random UUIDs (uuid4, older
// agents) and time-ordered ones (uuid7, core.NewResultID), which append to
// the ID index instead of writing all over it.
func BenchmarkSaveResults(b *testing.B) {
	ids := []struct {
		name string
		new  func() string
	}{{"uuid4", uuid.NewString}, {"uuid7", core.NewResultID}}
	for _, e := range engines {
		for _, id := range ids {
			b.Run(e.name+"/"+id.name, func(b *testing.B) {
				s := e.open(b)
				ctx := context.Background()
				_, site, err := s.EnsureClientSite(ctx, "Bench", "Main")
				if err != nil {
					b.Fatal(err)
				}
				tok := &core.EnrollmentToken{SecretHash: []byte("bench"), SiteID: site.ID}
				if err := s.CreateEnrollmentToken(ctx, tok); err != nil {
					b.Fatal(err)
				}
				d := &core.Device{Hostname: "bench", MachineID: "bench"}
				if err := s.Enroll(ctx, []byte("bench"), d, time.Now()); err != nil {
					b.Fatal(err)
				}
				const batch = 500
				base := time.Now()
				v := 42.0
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					rs := make([]core.Result, batch)
					for j := range rs {
						rs[j] = core.Result{
							ID:      id.new(),
							Check:   "disk",
							Key:     fmt.Sprintf("vol%d", j%50),
							Status:  core.StatusOK,
							Value:   &v,
							Unit:    "%",
							Message: core.Text{EN: "fine", DE: "gut"},
							At:      base.Add(time.Duration(i*batch+j) * time.Millisecond),
						}
					}
					if err := s.SaveResults(ctx, d.ID, rs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/result")
			})
		}
	}
}
