package main

import (
	"maps"
	"testing"

	"github.com/wacht-rmm/wacht/internal/deptest"
)

const mod = "github.com/wacht-rmm/wacht"

// collectorBans keep the agent's collectors out of the server, which only
// validates check parameters and runs the website check itself.
var collectorBans = func() map[string]string {
	collector := "a collector runs on the agent; the server validates its parameters without it"
	m := map[string]string{
		mod + "/internal/checks/all":                   "it links every collector",
		mod + "/internal/checks/internal/logsrc":       collector,
		mod + "/internal/checks/internal/procs":        collector,
		mod + "/internal/platform/...":                 "OS bindings of the collectors",
		mod + "/internal/inventory":                    "the agent's inventory collector",
		mod + "/internal/snmptrap/...":                 "the trap receiver of the agent's snmptrap check",
		"github.com/shirou/gopsutil/v4/...":            collector,
		"github.com/prometheus-community/pro-bing/...": collector,
		"github.com/coreos/go-systemd/v22/...":         collector,
		"github.com/gosnmp/gosnmp/...":                 collector,
		"github.com/yusufpapurcu/wmi/...":              collector,
	}
	for _, name := range []string{"antivirus", "backup", "cpu", "disk", "eventlog", "growth", "logins",
		"memory", "ping", "program", "services", "smart", "snmp", "snmptrapcheck"} {
		m[mod+"/internal/checks/"+name] = collector
	}
	return m
}()

// TestDeps pins what the server binary links.
func TestDeps(t *testing.T) {
	platforms := []string{"linux/amd64", "windows/amd64", "darwin/arm64"}
	banned := map[string]string{
		mod + "/internal/agent/...":        "agent code runs on customers' machines, not in the server",
		mod + "/internal/loadsim/...":      "the load simulator is a development tool (cmd/wacht-loadsim)",
		"go.etcd.io/bbolt/...":             "the agent's spool; the server stores in SQL",
		"github.com/kardianos/service/...": "installs the agent as an OS service",
	}
	maps.Copy(banned, collectorBans)
	deptest.Check(t, deptest.Rules{
		Package:   ".",
		Platforms: platforms,
		Banned:    banned,
		Want:      []string{mod + "/internal/server", mod + "/internal/checks/website"},
	})
}
