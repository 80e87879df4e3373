package website

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/deptest"
)

// TestDeps keeps the check runnable on the server for public sites and on
// the agent: it links neither side's runtime.
func TestDeps(t *testing.T) {
	const mod = "github.com/wacht-rmm/wacht"
	both := "the server runs this check too; it must stay a plain check"
	deptest.Check(t, deptest.Rules{
		Package:   ".",
		Platforms: []string{"linux/amd64", "windows/amd64", "darwin/arm64"},
		Banned: map[string]string{
			mod + "/internal/agent/...":  both,
			mod + "/internal/server/...": both,
			mod + "/internal/store/...":  both,
			mod + "/web/...":             both,
		},
	})
}
