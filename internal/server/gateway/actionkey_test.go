package gateway

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestActionKeyReloadedPeriodically: a running gateway picks up a rotation
// of its key files by itself (every ActionKeyReload), without a restart.
func TestActionKeyReloadedPeriodically(t *testing.T) {
	path := filepath.Join(t.TempDir(), actionkey.File)
	signer, err := actionkey.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := New(Options{Store: storetest.NewSQLite(t), ActionKey: signer, ActionKeyReload: 10 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		g.Hub().Shutdown(ctx)
	})
	_, next, _, err := actionkey.Rotate(path, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rotated key in use", func() bool { return signer.Public().Equal(next) })
	if r := signer.Retired(); len(r) != 1 {
		t.Errorf("retired keys after the reload: %+v", r)
	}
}
