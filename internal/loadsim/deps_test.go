package loadsim

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/deptest"
)

// TestDeps keeps the simulator an outside client of the server: it may use
// the protocol and the agent's TLS pinning, never the server or the store.
func TestDeps(t *testing.T) {
	const mod = "github.com/wacht-rmm/wacht"
	outside := "the simulator measures the server from outside"
	deptest.Check(t, deptest.Rules{
		Package:   ".",
		Platforms: []string{"linux/amd64", "windows/amd64", "darwin/arm64"},
		Banned: map[string]string{
			mod + "/internal/server/...": outside,
			mod + "/internal/store/...":  outside,
			"modernc.org/sqlite/...":     outside,
			"github.com/jackc/pgx/...":   outside,
		},
		Want: []string{mod + "/internal/protocol"},
	})
}
