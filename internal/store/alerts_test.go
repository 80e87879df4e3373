package store_test

import (
	"context"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestTrySingleton: on PostgreSQL a second process (here: a second pool)
// does not run the job while the first one runs it.
func TestTrySingleton(t *testing.T) {
	ctx := context.Background()
	u := storetest.PostgresURL(t)
	dir := t.TempDir() // one secret.key for every node
	a, err := store.Open(ctx, u, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := store.Open(ctx, u, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	inner := false
	ran, err := a.TrySingleton(ctx, "test", func(ctx context.Context) error {
		ran2, err := b.TrySingleton(ctx, "test", func(context.Context) error { inner = true; return nil })
		if err != nil || ran2 {
			t.Errorf("second holder ran = %v (%v), want not run", ran2, err)
		}
		return nil
	})
	if !ran || err != nil || inner {
		t.Fatalf("ran %v, err %v, inner %v", ran, err, inner)
	}
	// Released: the other one gets it now.
	if ran, err := b.TrySingleton(ctx, "test", func(context.Context) error { return nil }); !ran || err != nil {
		t.Fatalf("after release: ran %v, err %v", ran, err)
	}
	// An installation in another schema of the same database (here: the
	// next test's) has jobs of its own: advisory locks are per database.
	other := storetest.NewPostgres(t)
	ran, err = a.TrySingleton(ctx, "test", func(ctx context.Context) error {
		ran2, err := other.TrySingleton(ctx, "test", func(context.Context) error { return nil })
		if err != nil || !ran2 {
			t.Errorf("another schema's job: ran %v (%v), want run", ran2, err)
		}
		return nil
	})
	if !ran || err != nil {
		t.Fatalf("ran %v, err %v", ran, err)
	}
	s := storetest.NewSQLite(t)
	if ran, err := s.TrySingleton(ctx, "test", func(context.Context) error { return nil }); !ran || err != nil {
		t.Fatalf("sqlite: ran %v, err %v", ran, err)
	}
}
