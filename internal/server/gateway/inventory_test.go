package gateway

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// sendInventory sends a report and returns the server's answer.
func (a *agent) sendInventory(id string, r protocol.InventoryReport) protocol.InventoryAck {
	a.t.Helper()
	a.send(protocol.TypeInventory, id, r)
	env := a.read()
	var ack protocol.InventoryAck
	if env.Type != protocol.TypeInventoryAck || env.ID != id || protocol.DecodeData(env, &ack) != nil {
		a.t.Fatalf("got %s %s %s, want an inventory ack for %s", env.Type, env.ID, env.Data, id)
	}
	return ack
}

func testInventory(programs int, sevenZip string, memGB uint64) core.Inventory {
	inv := core.Inventory{
		CollectedAt: time.Now(),
		Hardware: core.Hardware{Manufacturer: "LENOVO", Model: "20XW0055GE", Serial: "PF3ABCDE",
			Memory: core.Memory{TotalBytes: memGB << 30}},
		System:   core.SystemInfo{OSName: "Windows 11 Pro", Version: "23H2", Build: "22631.3880"},
		Software: []core.Program{{Name: "7-Zip " + sevenZip + " (x64)", Version: sevenZip, Publisher: "Igor Pavlov", Source: core.SourceRegistry64, ID: "7-Zip"}},
	}
	for i := range programs {
		inv.Software = append(inv.Software, core.Program{Name: fmt.Sprintf("Program %04d", i), Version: "1.0." + fmt.Sprint(i),
			Publisher: "Contoso", Source: core.SourceRegistry64, ID: fmt.Sprintf("{%08d-0000-0000-0000-000000000000}", i)})
	}
	return protocol.NormalizeInventory(inv)
}

func TestInventoryIngest(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		ctx := context.Background()
		e := newEnv(t, st, nil, nil)
		a := e.enrollAgent("inv")
		e.connected(a)

		// A whole inventory of a machine with 5,000 programs.
		inv1 := testInventory(5000, "19.00", 16)
		start := time.Now()
		ack := a.sendInventory("i1", protocol.DiffInventory(nil, inv1))
		t.Logf("5,001 programs stored in %v", time.Since(start))
		if ack.Status != protocol.InventoryStored || ack.Digest != protocol.InventoryDigest(inv1) {
			t.Fatalf("first ack = %+v", ack)
		}
		got, err := st.GetInventory(ctx, a.id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != ack.Digest || len(got.Inventory.Software) != 5001 || got.Inventory.System.PublicIP != "127.0.0.1" {
			t.Fatalf("stored = digest %s, %d programs, public IP %q", got.Digest, len(got.Inventory.Software), got.Inventory.System.PublicIP)
		}
		if cs, _ := st.ListInventoryChanges(ctx, a.id, 0, 0); len(cs) != 0 {
			t.Errorf("the first inventory made history: %+v", cs)
		}

		// A diff: 7-Zip updated, memory halved.
		inv2 := testInventory(5000, "23.01", 8)
		r2 := protocol.DiffInventory(&inv1, inv2)
		if r2.Full != nil || len(r2.Added) != 1 || len(r2.Removed) != 1 {
			t.Fatalf("not a small diff: %d added, %d removed", len(r2.Added), len(r2.Removed))
		}
		if ack := a.sendInventory("i2", r2); ack.Status != protocol.InventoryStored || ack.Digest != r2.Digest {
			t.Fatalf("diff ack = %+v", ack)
		}
		cs, err := st.ListInventoryChanges(ctx, a.id, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, c := range cs {
			lines = append(lines, c.Part+" "+c.Kind+" "+c.Item+" "+c.Old+"→"+c.New)
		}
		want := []string{"software updated 7-Zip 23.01 (x64) 19.00→23.01", "hardware.memory changed total 16 GB→8 GB"}
		if strings.Join(lines, "\n") != strings.Join(want, "\n") {
			t.Errorf("changes (newest first):\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
		}

		// A diff on the old base: the server asks for everything.
		stale := protocol.DiffInventory(&inv1, testInventory(5000, "24.08", 16))
		if ack := a.sendInventory("i3", stale); ack.Status != protocol.InventoryResend || ack.Reason == "" {
			t.Fatalf("stale diff ack = %+v", ack)
		}
		if got, _ := st.GetInventory(ctx, a.id); got.Digest != r2.Digest {
			t.Errorf("a stale diff changed the stored inventory")
		}

		// After a restore (the server forgot), a diff gets a resend too,
		// and the whole inventory is stored again without history.
		if err := st.ForgetInventory(ctx, a.id); err != nil {
			t.Fatal(err)
		}
		inv3 := testInventory(10, "24.08", 8)
		if ack := a.sendInventory("i4", protocol.DiffInventory(&inv2, inv3)); ack.Status != protocol.InventoryResend {
			t.Fatalf("diff on a forgotten inventory: %+v", ack)
		}
		if ack := a.sendInventory("i5", protocol.DiffInventory(nil, inv3)); ack.Status != protocol.InventoryStored {
			t.Fatalf("full after resend: %+v", ack)
		}
		if cs2, _ := st.ListInventoryChanges(ctx, a.id, 0, 0); len(cs2) != len(cs) {
			t.Errorf("history after the resend: %d changes, want %d", len(cs2), len(cs))
		}

		// The session still answers heartbeats.
		a.send(protocol.TypeHeartbeat, "hb", nil)
		if env := a.read(); env.Type != protocol.TypeHeartbeatAck {
			t.Fatalf("got %s after inventories, want heartbeat ack", env.Type)
		}

		// Malformed: a report without digest closes the connection.
		a.send(protocol.TypeInventory, "bad", protocol.InventoryReport{Full: &inv3})
		if code := a.closed(); code != websocket.StatusUnsupportedData {
			t.Fatalf("closed with %d, want unsupported data", code)
		}
	})
}
