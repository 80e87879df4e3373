package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps pins what the agent binary links: nothing of the server, the
// store, the web UI or SQL drivers, on every OS it ships for.
func TestDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{
		"github.com/wacht-rmm/wacht/internal/server",
		"github.com/wacht-rmm/wacht/internal/store",
		"github.com/wacht-rmm/wacht/web",
		"modernc.org/sqlite",
		"github.com/jackc/pgx",
	}
	// database/sql/driver alone is fine: google/uuid implements its Valuer.
	forbiddenExact := []string{"database/sql"}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list for %s: %v", goos, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 50 {
			t.Fatalf("%s: implausibly few dependencies (%d)", goos, len(deps))
		}
		seen := false
		for _, d := range deps {
			seen = seen || d == "github.com/wacht-rmm/wacht/internal/agent"
			for _, f := range forbidden {
				if d == f || strings.HasPrefix(d, f+"/") {
					t.Errorf("%s: wacht-agent depends on %s", goos, d)
				}
			}
			for _, f := range forbiddenExact {
				if d == f {
					t.Errorf("%s: wacht-agent depends on %s", goos, d)
				}
			}
		}
		if !seen {
			t.Errorf("%s: internal/agent missing from the dependency list", goos)
		}
	}
}
