package main

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/deptest"
)

// TestDeps pins what the tray links: it talks to the local agent only and
// carries neither the agent's nor the server's code.
func TestDeps(t *testing.T) {
	const mod = "github.com/wacht-rmm/wacht"
	deptest.Check(t, deptest.Rules{
		Package:   ".",
		Platforms: []string{"linux/amd64", "windows/amd64", "darwin/arm64"},
		Banned: map[string]string{
			mod + "/internal/agent/...":  "the tray only asks the agent over trayipc; it runs nothing itself",
			mod + "/internal/checks/...": "the tray only asks the agent over trayipc; it runs nothing itself",
			mod + "/internal/server/...": "the tray runs on customers' machines and carries no server code",
			mod + "/internal/store/...":  "the tray runs on customers' machines and carries no server code",
			mod + "/web/...":             "dashboard assets belong to the server",
			"database/sql":               "the tray stores nothing but the replies seen",
		},
		Want: []string{mod + "/internal/tray", mod + "/internal/trayipc"},
	})
}
