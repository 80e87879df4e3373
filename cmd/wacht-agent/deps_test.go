package main

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/deptest"
)

// TestDeps pins what the agent binary links on every OS it ships for.
func TestDeps(t *testing.T) {
	const mod = "github.com/wacht-rmm/wacht"
	noServer := "the agent runs on customers' machines and carries no server code"
	deptest.Check(t, deptest.Rules{
		Package:   ".",
		Platforms: []string{"linux/amd64", "windows/amd64", "darwin/arm64"},
		Banned: map[string]string{
			mod + "/internal/server/...":              noServer,
			mod + "/internal/store/...":               noServer,
			mod + "/internal/alert/...":               noServer,
			mod + "/internal/report/...":              noServer,
			mod + "/internal/loadsim/...":             "the load simulator is a development tool",
			mod + "/web/...":                          "dashboard assets belong to the server",
			"modernc.org/sqlite/...":                  "SQL is the server's; the agent spools into bbolt",
			"github.com/jackc/pgx/...":                "SQL is the server's; the agent spools into bbolt",
			"github.com/prometheus/client_golang/...": "the agent exposes nothing on the network; metrics are the server's",
			// database/sql/driver alone is fine: google/uuid implements its Valuer.
			"database/sql": "SQL is the server's; the agent spools into bbolt",
		},
		Want: []string{mod + "/internal/agent"},
	})
}
