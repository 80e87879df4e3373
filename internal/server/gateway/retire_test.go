package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// A retired device's session is refused with "retired", which tells its
// agent to uninstall itself.
func TestSessionRefusesRetired(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	a := e.enrollAgent("retired")
	if err := e.st.(interface {
		RetireDevice(context.Context, int64, time.Time) error
	}).RetireDevice(context.Background(), a.id, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, a, e.connect(a, nil), protocol.RefusedRetired)
	if e.gw.Hub().Connected(a.id) {
		t.Fatal("retired session registered")
	}
}
