package server

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// serverBans are what the server's packages must not link, with the
// reason. It validates check parameters through internal/checkspec and
// runs only the website check itself.
var serverBans = []struct{ prefix, why string }{
	{"github.com/wacht-rmm/wacht/internal/checks/", "a collector: validate through internal/checkspec"},
	{"github.com/wacht-rmm/wacht/internal/platform/", "OS bindings of the collectors"},
	{"github.com/wacht-rmm/wacht/internal/agent", "agent code"},
	{"github.com/wacht-rmm/wacht/internal/snmptrap", "the probe agent's trap receiver (gosnmp)"},
	{"github.com/shirou/gopsutil", "collector library"},
	{"github.com/prometheus-community/pro-bing", "collector library"},
	{"github.com/coreos/go-systemd", "collector library"},
	{"github.com/gosnmp/gosnmp", "collector library; the server neither polls nor receives SNMP"},
	{"go.etcd.io/bbolt", "the agent's spool"},
}

// serverAllowed are banned packages the server may link, with the reason.
// An entry no longer needed fails the test, so that it is removed.
var serverAllowed = map[string]string{
	"github.com/wacht-rmm/wacht/internal/checks/website":         "the server runs website checks of network devices itself",
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg":    "the website check's message helpers",
	"github.com/wacht-rmm/wacht/internal/checks/eventlog":        "internal/report parses its messages until the structured events of issue 13 part 3",
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc": "linked by checks/eventlog, see there",
	"github.com/wacht-rmm/wacht/internal/platform/wevtapi":       "linked by checks/eventlog, see there",
}

// TestServerLinksNoCollector proves that the server's packages link no
// check collector and no agent code, for every OS the server runs on.
func TestServerLinksNoCollector(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	used := map[string]bool{}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, goBin, "list", "-deps", "-f", "{{.ImportPath}}", "./...")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		cancel()
		if err != nil {
			t.Fatalf("go list for %s: %v", goos, err)
		}
		deps := strings.Fields(string(out))
		if len(deps) < 50 {
			t.Fatalf("%s: only %d dependencies listed; is the test in the right folder?", goos, len(deps))
		}
		for _, dep := range deps {
			for _, b := range serverBans {
				if !strings.HasPrefix(dep, b.prefix) {
					continue
				}
				if _, ok := serverAllowed[dep]; ok {
					used[dep] = true
					continue
				}
				t.Errorf("%s: the server links %s: %s", goos, dep, b.why)
			}
		}
	}
	for dep, why := range serverAllowed {
		if !used[dep] {
			t.Errorf("the server no longer links %s (%s): remove it from serverAllowed", dep, why)
		}
	}
}
