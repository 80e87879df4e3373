package website

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestNoAgentDependencies keeps the check runnable on the server for public
// sites: it must not link the agent, server or store.
func TestNoAgentDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/internal/agent", "/internal/server", "/internal/store", "/internal/web"} {
			if strings.Contains(dep, "wacht-rmm/wacht"+banned) {
				t.Errorf("website check depends on %s", dep)
			}
		}
	}
}
