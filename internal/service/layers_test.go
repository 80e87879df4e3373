package service_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayers keeps the layers apart (transports → service → store): the
// dashboard and the reports never reach the service through the JSON API,
// the reports import nothing of the server, and authz stays a leaf that
// only core feeds. Each rule names a package that must exist, so a rule
// cannot go stale when a package moves.
func TestLayers(t *testing.T) {
	const mod = "github.com/wacht-rmm/wacht/"
	rules := []struct {
		pkg    string
		banned string // an import path, or a prefix ending in "/"
		why    string
	}{
		{"internal/server/web", "internal/server/api", "the dashboard calls the service, not the JSON API"},
		{"internal/report", "internal/server/api", "reports call the service rules, not the JSON API"},
		{"internal/report", "internal/server/", "reports run on every node without the server's transports; authz holds the shared rules"},
		{"internal/service", "internal/server/api", "the service is below the transports"},
		{"internal/service", "internal/server/web", "the service is below the transports"},
	}
	for _, r := range rules {
		deps := goList(t, "-deps", mod+r.pkg)
		for _, d := range deps {
			p := strings.TrimPrefix(d, mod)
			if p == d {
				continue // outside the module
			}
			if p == r.banned || (strings.HasSuffix(r.banned, "/") && strings.HasPrefix(p, r.banned)) {
				t.Errorf("%s imports %s: %s", r.pkg, p, r.why)
			}
		}
	}
	// authz imports nothing of the module but core.
	for _, d := range goList(t, "-f", "{{join .Imports \"\\n\"}}", mod+"internal/authz") {
		if strings.HasPrefix(d, mod) && d != mod+"internal/core" {
			t.Errorf("internal/authz imports %s: it holds only roles and scope rules over core", d)
		}
	}
}

// goList runs `go list` with args; the package of a rule must exist.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list %v (a package of a layer rule is missing?): %s", args, msg)
	}
	return strings.Fields(string(out))
}
