package loadsim

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the simulator an outside client of the server: it may use
// the protocol and the agent's TLS pinning, never the server or the store.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/wacht-rmm/wacht/internal/loadsim").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range strings.Fields(string(out)) {
		for _, banned := range []string{"/internal/server", "/internal/store", "modernc.org/sqlite", "github.com/jackc/pgx"} {
			if strings.Contains(p, "wacht-rmm/wacht"+banned) || (!strings.Contains(banned, "/internal/") && strings.HasPrefix(p, banned)) {
				t.Errorf("loadsim depends on %s", p)
			}
		}
	}
}
