package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// storedInventory reads the one device's stored inventory from the
// server's store; ok is false while it has none.
func storedInventory(t *testing.T, data string) (inv core.StoredInventory, ok bool) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	defer db.Close()
	devs, err := db.ListDevices(ctx)
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices: %v %v", devs, err)
	}
	inv, err = db.GetInventory(ctx, devs[0].ID)
	if errors.Is(err, core.ErrNotFound) {
		return inv, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return inv, true
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
// whole inventory; restarted, it sends a diff against what the server
// acknowledged; after the server's database is restored from a backup
// taken before the first inventory, the server asks for a resend and the
// whole inventory is stored again.
func TestInventoryDiffsSurviveRestartAndRestore(t *testing.T) {
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	// The backup: the enrolled device, no inventory yet.
	backup := t.TempDir()
	e.server.stop(t, syscall.SIGTERM)
	copyDB(t, e.data, backup)
	e.server, _ = startServer(t, e.data, e.addr)

	args := []string{"run", "--data", e.agentDir, "--interval", "60s", "--checks", fastChecks}
	agent := start(t, "wacht-agent", args...)
	var first core.StoredInventory
	waitFor(t, "the first inventory stored", 60*time.Second, func() bool {
		var ok bool
		first, ok = storedInventory(t, e.data)
		return ok
	})
	waitFor(t, "the agent to keep the acknowledged inventory", 30*time.Second, func() bool {
		ai, ok := readAgentInventory(t, e.agentDir)
		return ok && ai.Digest == first.Digest
	})
	host, _ := os.Hostname()
	if got := sent(agent); len(got) != 1 || !got[0] {
		t.Fatalf("reports %v, want one whole inventory", got)
	}
	if first.Inventory.System.Hostname != host || first.Inventory.System.PublicIP != "127.0.0.1" {
		t.Errorf("stored hostname %q, public address %q", first.Inventory.System.Hostname, first.Inventory.System.PublicIP)
	}
	t.Logf("first inventory: %d programs, %d gaps, digest %.12s", len(first.Inventory.Software), len(first.Inventory.Missing), first.Digest)

	// Restart after two days off: the catch-up report is a diff.
	agent.stop(t, syscall.SIGTERM)
	backdate(t, e.agentDir)
	agent = start(t, "wacht-agent", args...)
	waitFor(t, "the catch-up report acknowledged", 60*time.Second, func() bool {
		ai, ok := readAgentInventory(t, e.agentDir)
		return ok && time.Since(ai.At) < time.Hour
	})
	if got := sent(agent); len(got) != 1 || got[0] {
		t.Fatalf("reports after the restart %v, want one diff", got)
	}
	ai, _ := readAgentInventory(t, e.agentDir)
	second, ok := storedInventory(t, e.data)
	if !ok || second.Digest != ai.Digest {
		t.Fatalf("server holds %.12s, the agent acknowledged %.12s", second.Digest, ai.Digest)
	}
	if second.Digest != first.Digest {
		t.Logf("the inventory changed between the collections: %.12s → %.12s", first.Digest, second.Digest)
	}

	// Restore the backup from before the first inventory. The agent's
	// next report is a diff against an inventory the server no longer
	// has: it asks for the whole one, which is stored.
	e.server.stop(t, syscall.SIGTERM)
	copyDB(t, backup, e.data)
	e.server, _ = startServer(t, e.data, e.addr)
	if _, ok := storedInventory(t, e.data); ok {
		t.Fatal("the restored database still holds an inventory")
	}
	agent.stop(t, syscall.SIGTERM)
	backdate(t, e.agentDir)
	agent = start(t, "wacht-agent", args...)
	var third core.StoredInventory
	waitFor(t, "the whole inventory stored after the restore", 60*time.Second, func() bool {
		third, ok = storedInventory(t, e.data)
		return ok
	})
	waitFor(t, "the agent to acknowledge it", 30*time.Second, func() bool {
		ai, ok := readAgentInventory(t, e.agentDir)
		return ok && ai.Digest == third.Digest && time.Since(ai.At) < time.Hour
	})
	if got := sent(agent); len(got) != 2 || got[0] || !got[1] {
		t.Fatalf("reports after the restore %v, want a diff, then the whole inventory", got)
	}
	agent.stop(t, syscall.SIGTERM)
}
