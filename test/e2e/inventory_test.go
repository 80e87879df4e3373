package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// apiInventory reads device id's stored inventory through the API; ok is
// false while it has none.
func (e *env) apiInventory(id int64) (inv core.StoredInventory, publicIP string, ok bool) {
	e.t.Helper()
	var out struct {
		Stored   *core.StoredInventory `json:"stored"`
		PublicIP string                `json:"public_ip"`
	}
	if code := e.api("GET", fmt.Sprintf("/api/v1/devices/%d/inventory", id), &out); code != http.StatusOK {
		e.t.Fatalf("GET inventory: HTTP %d", code)
	}
	if out.Stored == nil {
		return inv, "", false
	}
	return *out.Stored, out.PublicIP, true
}

// refreshInventory asks the agent for its inventory through the API, once
// the device is online again.
func (e *env) refreshInventory(id int64, full bool) {
	e.t.Helper()
	waitFor(e.t, "the device online", 90*time.Second, func() bool {
		var d apiDevice
		return e.api("GET", fmt.Sprintf("/api/v1/devices/%d", id), &d) == http.StatusOK && d.Online
	})
	if code, body := e.send("POST", fmt.Sprintf("/api/v1/devices/%d/inventory/refresh", id), map[string]bool{"full": full}, nil); code != http.StatusAccepted {
		e.t.Fatalf("refresh: HTTP %d %s", code, body)
	}
}

// agentInventory is the agent's inventory.json: what the server last
// acknowledged.
type agentInventory struct {
	Digest    string         `json:"digest"`
	At        time.Time      `json:"at"`
	Inventory core.Inventory `json:"inventory"`
}

func readAgentInventory(t *testing.T, dir string) (agentInventory, bool) {
	t.Helper()
	var ai agentInventory
	b, err := os.ReadFile(filepath.Join(dir, "inventory.json"))
	if errors.Is(err, os.ErrNotExist) {
		return ai, false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ai); err != nil {
		t.Fatal(err)
	}
	return ai, true
}

// backdate makes the agent's last acknowledged inventory two days old, as
// if the machine had been off: its next start catches the daily run up.
func backdate(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "inventory.json")
	var m map[string]json.RawMessage
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}
	m["at"], _ = json.Marshal(time.Now().Add(-48 * time.Hour).UTC())
	b, _ = json.Marshal(m)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

var sentRE = regexp.MustCompile(`msg="inventory sent" whole=(true|false)`)

// sent lists the agent's reports, true for a whole inventory.
func sent(p *proc) []bool {
	var out []bool
	for _, m := range sentRE.FindAllStringSubmatch(p.output(), -1) {
		out = append(out, m[1] == "true")
	}
	return out
}

// copyDB copies the server's SQLite files from one folder to another.
func copyDB(t *testing.T, from, to string) {
	t.Helper()
	for _, f := range []string{"wacht.db", "wacht.db-wal", "wacht.db-shm"} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if errors.Is(err, os.ErrNotExist) {
			os.Remove(filepath.Join(to, f))
			continue
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(to, f), b, 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestInventoryDiffsSurviveRestartAndRestore: the enrolled agent sends its
// whole inventory; restarted after days off, it catches up with a diff
// against what the server acknowledged; refreshes through the API send an
// empty diff and, with full, the whole inventory; after the server's
// database is restored from a backup taken before the first inventory,
// the server asks for a resend and the whole inventory is stored again.
func TestInventoryDiffsSurviveRestartAndRestore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	// The backup: the enrolled device, no inventory yet.
	backup := t.TempDir()
	e.server.stop(t, syscall.SIGTERM)
	copyDB(t, e.data, backup)
	e.server, _ = startServer(t, e.data, e.addr)

	args := []string{"run", "--data", e.agentDir, "--interval", "60s", "--checks", fastChecks}
	agent := start(t, "wacht-agent", args...)
	var devices []apiDevice
	waitFor(t, "the device listed", 60*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1
	})
	id := devices[0].ID
	// acked waits until the agent and the server agree on an inventory
	// the agent had acknowledged after since, after n reports.
	acked := func(what string, n int, since time.Time) core.StoredInventory {
		t.Helper()
		var inv core.StoredInventory
		waitFor(t, what, 60*time.Second, func() bool {
			ai, ok := readAgentInventory(t, e.agentDir)
			if !ok || !ai.At.After(since) || len(sent(agent)) < n {
				return false
			}
			inv, _, ok = e.apiInventory(id)
			return ok && inv.Digest == ai.Digest
		})
		return inv
	}
	first := acked("the first inventory stored", 1, time.Time{})
	host, _ := os.Hostname()
	if got := sent(agent); len(got) != 1 || !got[0] {
		t.Fatalf("reports %v, want one whole inventory", got)
	}
	if _, ip, _ := e.apiInventory(id); first.Inventory.System.Hostname != host || ip != "127.0.0.1" {
		t.Errorf("stored hostname %q, public address %q", first.Inventory.System.Hostname, ip)
	}
	t.Logf("first inventory: %d programs, %d gaps, digest %.12s", len(first.Inventory.Software), len(first.Inventory.Missing), first.Digest)

	// Restart after two days off: the catch-up report is a diff.
	agent.stop(t, syscall.SIGTERM)
	backdate(t, e.agentDir)
	mark := time.Now().Add(-time.Hour)
	agent = start(t, "wacht-agent", args...)
	second := acked("the catch-up report acknowledged", 1, mark)
	if got := sent(agent); len(got) != 1 || got[0] {
		t.Fatalf("reports after the restart %v, want one diff", got)
	}
	if second.Digest != first.Digest {
		t.Logf("the inventory changed between the collections: %.12s → %.12s", first.Digest, second.Digest)
	}

	// Refreshes through the API: a diff, then the whole inventory.
	mark = time.Now()
	e.refreshInventory(id, false)
	acked("the refreshed diff acknowledged", 2, mark)
	mark = time.Now()
	e.refreshInventory(id, true)
	acked("the refreshed whole inventory acknowledged", 3, mark)
	if got := sent(agent); len(got) != 3 || got[1] || !got[2] {
		t.Fatalf("reports after the refreshes %v, want a diff, then the whole inventory", got)
	}

	// Restore the backup from before the first inventory. The agent's
	// next report is a diff against an inventory the server no longer
	// has: it asks for the whole one, which is stored.
	e.server.stop(t, syscall.SIGTERM)
	copyDB(t, backup, e.data)
	e.server, _ = startServer(t, e.data, e.addr)
	if _, _, ok := e.apiInventory(id); ok {
		t.Fatal("the restored database still holds an inventory")
	}
	mark = time.Now()
	e.refreshInventory(id, false)
	acked("the whole inventory stored after the restore", 5, mark)
	if got := sent(agent); len(got) != 5 || got[3] || !got[4] {
		t.Fatalf("reports after the restore %v, want a diff, then the whole inventory", got)
	}
	if !strings.Contains(agent.output(), "server asks for the whole inventory") {
		t.Error("the agent did not log the server's resend request")
	}
	agent.stop(t, syscall.SIGTERM)
}
