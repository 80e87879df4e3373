package service_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/deptest"
)

// TestLayers keeps the layers apart (transports → service → store): the
// dashboard and the reports never reach the service through the JSON API,
// the reports import nothing of the server, and authz stays a leaf that
// only core feeds.
func TestLayers(t *testing.T) {
	const mod = "github.com/wacht-rmm/wacht/internal/"
	platforms := []string{"linux/amd64"}
	api := mod + "server/api"
	for pkg, banned := range map[string]map[string]string{
		"server/web": {api: "the dashboard calls the service, not the JSON API"},
		"report": {
			api:                "reports call the service rules, not the JSON API",
			mod + "server/...": "reports run on every node without the server's transports; authz holds the shared rules",
		},
		"service": {
			api:                "the service is below the transports",
			mod + "server/web": "the service is below the transports",
		},
	} {
		deptest.Check(t, deptest.Rules{Package: mod + pkg, Platforms: platforms, Banned: banned})
	}
	// authz imports nothing of the module but core (direct imports: a
	// leaf, not merely a package that links little).
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, mod+"authz").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, "github.com/wacht-rmm/wacht/") && d != mod+"core" {
			t.Errorf("internal/authz imports %s: it holds only roles and scope rules over core", d)
		}
	}
}
