package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
)

// TestSeededSQLite: the seed runs once, every store starts with its rows,
// and a change in one store does not reach another.
func TestSeededSQLite(t *testing.T) {
	ctx := context.Background()
	seeds := 0
	open := SeededSQLite(func(t testing.TB, st *store.DB) {
		seeds++
		if _, _, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale"); err != nil {
			t.Fatal(err)
		}
	})
	a, b := open(t), open(t)
	if seeds != 1 {
		t.Errorf("seed ran %d times, want once", seeds)
	}
	if _, _, err := a.EnsureClientSite(ctx, "Fremde AG", "Lager"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		st   *store.DB
		want string
	}{{"changed", a, "Fremde AG,Müller GmbH"}, {"other", b, "Müller GmbH"}, {"new", open(t), "Müller GmbH"}} {
		cs, err := c.st.ListClients(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, cl := range cs {
			names = append(names, cl.Name)
		}
		slices.Sort(names)
		if got := strings.Join(names, ","); got != c.want {
			t.Errorf("%s store: clients %s, want %s", c.name, got, c.want)
		}
	}
}
