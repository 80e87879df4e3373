package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

var inventoryTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"InventorySaveGet", testInventorySaveGet},
	{"InventorySearchSoftware", testInventorySearchSoftware},
	{"InventorySearchDevices", testInventorySearchDevices},
	{"InventoryChanges", testInventoryChanges},
	{"InventoryDeviceDeleted", testInventoryDeviceDeleted},
}

// inventory is a small inventory of a Windows laptop with the given
// programs.
func inventory(memGB uint64, battery int, programs ...core.Program) core.Inventory {
	return core.Inventory{
		CollectedAt: t0,
		Hardware: core.Hardware{
			Manufacturer: "LENOVO", Model: "20XW0055GE", Serial: "PF3ABCDE",
			CPU:       core.CPUInfo{Model: "11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", Cores: 4, Threads: 8},
			Memory:    core.Memory{TotalBytes: memGB << 30},
			Disks:     []core.Disk{{Name: `\\.\PHYSICALDRIVE0`, SizeBytes: 512110190592, Kind: core.DiskNVMe}},
			Batteries: []core.Battery{{Name: "5B10W13930", DesignMWh: 57000, FullChargeMWh: 57000 * battery / 100, HealthPercent: battery}},
		},
		System:   core.SystemInfo{OSName: "Windows 10 Pro", Version: "22H2", Build: "19045.4651"},
		Software: programs,
		Hotfixes: []core.Hotfix{{ID: "KB5034441", InstalledOn: "2024-01-10"}},
	}
}

func program(name, version string) core.Program {
	return core.Program{Name: name, Version: version, Publisher: "Igor Pavlov", Source: core.SourceRegistry64, ID: name}
}

func saveInv(t *testing.T, s core.Store, deviceID int64, digest, base string, inv core.Inventory, changes ...core.InventoryChange) {
	t.Helper()
	must(t, "SaveInventory "+digest, s.SaveInventory(ctx, core.StoredInventory{DeviceID: deviceID, Digest: digest, ReceivedAt: t0, Inventory: inv}, base, changes))
}

func testInventorySaveGet(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	_, err := s.GetInventory(ctx, d.ID)
	wantErr(t, "GetInventory before any", err, core.ErrNotFound)

	inv := inventory(16, 90, program("7-Zip 23.01 (x64)", "23.01"), program("Mozilla Firefox (x64 de)", "128.0"))
	inv.System.PublicIP = "203.0.113.7"
	saveInv(t, s, d.ID, "d1", "", inv)
	got, err := s.GetInventory(ctx, d.ID)
	must(t, "GetInventory", err)
	if got.Digest != "d1" || !got.ReceivedAt.Equal(t0) || got.DeviceID != d.ID || got.Inventory.System.PublicIP != "203.0.113.7" ||
		len(got.Inventory.Software) != 2 || got.Inventory.Hardware.Serial != "PF3ABCDE" || !got.Inventory.CollectedAt.Equal(t0) {
		t.Fatalf("GetInventory = %+v", got)
	}
	var doc string
	must(t, "reading doc", s.(*store.DB).SQL().QueryRowContext(ctx, `SELECT doc FROM device_inventory WHERE device_id = $1`, d.ID).Scan(&doc))
	if strings.Contains(doc, "203.0.113.7") {
		t.Errorf("the public address is in the digested document: %s", doc)
	}

	// Base conflicts: none stored is "", and a wrong base is refused.
	err = s.SaveInventory(ctx, core.StoredInventory{DeviceID: d.ID, Digest: "d2", Inventory: inv}, "", nil)
	wantErr(t, "SaveInventory with base \"\" over a stored one", err, core.ErrConflict)
	err = s.SaveInventory(ctx, core.StoredInventory{DeviceID: d.ID, Digest: "d2", Inventory: inv}, "other", nil)
	wantErr(t, "SaveInventory on a wrong base", err, core.ErrConflict)
	err = s.SaveInventory(ctx, core.StoredInventory{DeviceID: d.ID + 1000, Digest: "d2", Inventory: inv}, "", nil)
	wantErr(t, "SaveInventory of an unknown device", err, core.ErrNotFound)

	// A second save replaces the programs.
	inv2 := inventory(16, 90, program("7-Zip 24.08 (x64)", "24.08"))
	saveInv(t, s, d.ID, "d2", "d1", inv2)
	got, err = s.GetInventory(ctx, d.ID)
	must(t, "GetInventory after the second save", err)
	if got.Digest != "d2" || len(got.Inventory.Software) != 1 || got.Inventory.System.PublicIP != "" {
		t.Errorf("second inventory = %+v", got)
	}
	hits, err := s.SearchSoftware(ctx, core.SoftwareQuery{Name: "zip"})
	must(t, "SearchSoftware", err)
	if len(hits) != 1 || hits[0].Program.Version != "24.08" {
		t.Errorf("programs after the second save = %+v", hits)
	}
	if hits, _ := s.SearchSoftware(ctx, core.SoftwareQuery{Name: "firefox"}); len(hits) != 0 {
		t.Errorf("a removed program is still found: %+v", hits)
	}

	// Forgetting drops the inventory and its programs; the next save
	// starts from "".
	must(t, "ForgetInventory", s.ForgetInventory(ctx, d.ID))
	_, err = s.GetInventory(ctx, d.ID)
	wantErr(t, "GetInventory after ForgetInventory", err, core.ErrNotFound)
	if hits, _ := s.SearchSoftware(ctx, core.SoftwareQuery{Name: "zip"}); len(hits) != 0 {
		t.Errorf("a forgotten inventory's programs are still found: %+v", hits)
	}
	must(t, "ForgetInventory again", s.ForgetInventory(ctx, d.ID))
	saveInv(t, s, d.ID, "d3", "", inv)
}

func testInventorySearchSoftware(t *testing.T, s core.Store) {
	a, b, c := device(t, s, "pc-a"), device(t, s, "pc-b"), device(t, s, "pc-c")
	saveInv(t, s, a.ID, "a", "", inventory(8, 0, program("7-Zip 19.00 (x64)", "19.00"), program("Notepad++ (64-bit x64)", "8.6.9")))
	saveInv(t, s, b.ID, "b", "", inventory(8, 0, program("7-ZIP 23.01 (X64)", "23.01"), program("100% Sure_Tool", "1")))
	saveInv(t, s, c.ID, "c", "", inventory(8, 0, program("Mozilla Firefox", "128.0")))

	hits, err := s.SearchSoftware(ctx, core.SoftwareQuery{Name: "7-zip"})
	must(t, "SearchSoftware 7-zip", err)
	if len(hits) != 2 || hits[0].DeviceID != a.ID || hits[0].Program.Version != "19.00" || hits[1].DeviceID != b.ID ||
		hits[0].Hostname != "pc-a" || hits[0].ClientName != "Client pc-a" || hits[0].ClientID != a.ClientID ||
		hits[0].Program.Publisher != "Igor Pavlov" || hits[0].Program.Source != core.SourceRegistry64 {
		t.Fatalf("7-zip = %+v", hits)
	}
	hits, err = s.SearchSoftware(ctx, core.SoftwareQuery{Name: "7-Zip", ClientIDs: []int64{b.ClientID, c.ClientID}})
	must(t, "SearchSoftware by client", err)
	if len(hits) != 1 || hits[0].DeviceID != b.ID {
		t.Errorf("7-zip of clients b, c = %+v", hits)
	}
	// LIKE's wildcards are literal.
	for q, want := range map[string]int{"%": 1, "_": 1, "0% s": 1, "ozilla_": 0, "ozilla%": 0, "": 5} {
		hits, err := s.SearchSoftware(ctx, core.SoftwareQuery{Name: q})
		must(t, "SearchSoftware "+q, err)
		if len(hits) != want {
			t.Errorf("search %q = %d hits, want %d", q, len(hits), want)
		}
	}
	if hits, _ := s.SearchSoftware(ctx, core.SoftwareQuery{Name: "", Limit: 2}); len(hits) != 2 {
		t.Errorf("limit 2 = %d hits", len(hits))
	}
	// Retired devices are no longer part of the fleet.
	must(t, "RetireDevice", s.RetireDevice(ctx, a.ID, t0))
	if hits, _ := s.SearchSoftware(ctx, core.SoftwareQuery{Name: "7-zip"}); len(hits) != 1 || hits[0].DeviceID != b.ID {
		t.Errorf("7-zip after retiring pc-a = %+v", hits)
	}
}

func testInventorySearchDevices(t *testing.T, s core.Store) {
	a, b, c := device(t, s, "pc-a"), device(t, s, "pc-b"), device(t, s, "pc-c")
	saveInv(t, s, a.ID, "a", "", inventory(4, 55, program("x", "1")))
	desk := inventory(8, 0)
	desk.Hardware.Batteries = nil
	desk.Hardware.Manufacturer = "Dell Inc."
	saveInv(t, s, b.ID, "b", "", desk)
	mac := inventory(16, 80)
	mac.System.OSName = "macOS 14.5"
	saveInv(t, s, c.ID, "c", "", mac)

	ids := func(q core.DeviceQuery) []int64 {
		t.Helper()
		vs, err := s.SearchInventories(ctx, q)
		must(t, "SearchInventories", err)
		var out []int64
		for _, v := range vs {
			out = append(out, v.DeviceID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    core.DeviceQuery
		want []int64
	}{
		{"all", core.DeviceQuery{}, []int64{a.ID, b.ID, c.ID}},
		{"windows 10", core.DeviceQuery{OS: "windows 10"}, []int64{a.ID, b.ID}},
		{"below 8 GB", core.DeviceQuery{MemoryBelow: 8 << 30}, []int64{a.ID}},
		{"below 8 GB + 1", core.DeviceQuery{MemoryBelow: 8<<30 + 1}, []int64{a.ID, b.ID}},
		{"battery below 60", core.DeviceQuery{BatteryBelow: 60}, []int64{a.ID}},
		{"battery below 100: none never matches", core.DeviceQuery{BatteryBelow: 100}, []int64{a.ID, c.ID}},
		{"dell", core.DeviceQuery{Manufacturer: "dell"}, []int64{b.ID}},
		{"client", core.DeviceQuery{ClientIDs: []int64{c.ClientID, a.ClientID}}, []int64{a.ID, c.ID}},
		{"client and OS", core.DeviceQuery{ClientIDs: []int64{c.ClientID}, OS: "windows"}, nil},
		{"limit", core.DeviceQuery{Limit: 1}, []int64{a.ID}},
	} {
		if got := ids(tc.q); !equalIDs(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	vs, err := s.SearchInventories(ctx, core.DeviceQuery{Manufacturer: "LENOVO"})
	must(t, "SearchInventories LENOVO", err)
	if len(vs) != 2 {
		t.Fatalf("LENOVO = %+v", vs)
	}
	v := vs[0]
	if v.Hostname != "pc-a" || v.ClientName != "Client pc-a" || v.OS != "linux" || v.OSName != "Windows 10 Pro" || v.OSVersion != "22H2" ||
		v.OSBuild != "19045.4651" || v.Model != "20XW0055GE" || v.Serial != "PF3ABCDE" || !strings.Contains(v.CPUModel, "i5-1135G7") ||
		v.MemoryBytes != 4<<30 || v.DiskBytes != 512110190592 || v.BatteryHealth != 55 || v.Programs != 1 || !v.ReceivedAt.Equal(t0) {
		t.Errorf("summary = %+v", v)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func testInventoryChanges(t *testing.T, s core.Store) {
	d, other := device(t, s, "pc1"), device(t, s, "pc2")
	saveInv(t, s, d.ID, "d1", "", inventory(8, 0))
	saveInv(t, s, other.ID, "o1", "", inventory(8, 0), core.InventoryChange{At: t0, Part: core.PartSoftware, Kind: core.ChangeInstalled, Item: "other"})
	var changes []core.InventoryChange
	for i := range 5 {
		changes = append(changes, core.InventoryChange{At: t0.Add(time.Duration(i) * time.Minute), Part: core.PartSoftware,
			Kind: core.ChangeUpdated, Item: "7-Zip", Old: "19.00", New: "23.0" + string(rune('0'+i))})
	}
	saveInv(t, s, d.ID, "d2", "d1", inventory(8, 0), changes...)
	saveInv(t, s, d.ID, "d3", "d2", inventory(4, 0), core.InventoryChange{At: t0.Add(time.Hour), Part: core.PartMemory,
		Kind: core.ChangeChanged, Item: "total", Old: "8 GB", New: "4 GB"})

	all, err := s.ListInventoryChanges(ctx, d.ID, 0, 0)
	must(t, "ListInventoryChanges", err)
	if len(all) != 6 || all[0].Part != core.PartMemory || all[0].Old != "8 GB" || all[0].New != "4 GB" || all[0].DeviceID != d.ID ||
		!all[0].At.Equal(t0.Add(time.Hour)) || all[5].New != "23.00" {
		t.Fatalf("changes = %+v", all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("not newest first: %+v", all)
		}
	}
	page, err := s.ListInventoryChanges(ctx, d.ID, all[1].ID, 2)
	must(t, "ListInventoryChanges page", err)
	if len(page) != 2 || page[0].ID != all[2].ID || page[1].ID != all[3].ID {
		t.Errorf("page before %d = %+v", all[1].ID, page)
	}
	if none, err := s.ListInventoryChanges(ctx, d.ID+1000, 0, 10); err != nil || len(none) != 0 {
		t.Errorf("changes of an unknown device = %+v, %v", none, err)
	}

	// A base conflict records no change.
	err = s.SaveInventory(ctx, core.StoredInventory{DeviceID: d.ID, Digest: "d4", Inventory: inventory(2, 0)}, "d1",
		[]core.InventoryChange{{Part: core.PartMemory, Kind: core.ChangeChanged}})
	wantErr(t, "SaveInventory on a stale base", err, core.ErrConflict)
	// Forgetting keeps the history.
	must(t, "ForgetInventory", s.ForgetInventory(ctx, d.ID))
	if again, _ := s.ListInventoryChanges(ctx, d.ID, 0, 0); len(again) != 6 {
		t.Errorf("history after ForgetInventory: %d changes", len(again))
	}

	// Kept as long as the history rollups (400 days by default).
	db := s.(*store.DB)
	rep, err := db.MaintainHistory(ctx, t0.Add(399*24*time.Hour))
	must(t, "MaintainHistory", err)
	if rep.InventoryChangesDeleted != 0 {
		t.Errorf("within the rollup period: %d changes deleted", rep.InventoryChangesDeleted)
	}
	rep, err = db.MaintainHistory(ctx, t0.Add(400*24*time.Hour+90*time.Minute))
	must(t, "MaintainHistory later", err)
	left, _ := s.ListInventoryChanges(ctx, d.ID, 0, 0)
	if rep.InventoryChangesDeleted != 6 || len(left) != 1 || left[0].Part != core.PartMemory {
		t.Errorf("after the rollup period: %d deleted, left %+v", rep.InventoryChangesDeleted, left)
	}
}

func testInventoryDeviceDeleted(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	saveInv(t, s, d.ID, "d1", "", inventory(8, 0, program("7-Zip", "23.01")),
		core.InventoryChange{At: t0, Part: core.PartSoftware, Kind: core.ChangeInstalled, Item: "7-Zip"})
	db := s.(*store.DB).SQL()
	if _, err := db.ExecContext(ctx, `DELETE FROM devices WHERE id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"device_inventory", "inventory_programs", "inventory_changes"} {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE device_id = $1`, d.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s keeps %d rows of a deleted device", table, n)
		}
	}
	if _, err := s.GetInventory(ctx, d.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("GetInventory of a deleted device: %v", err)
	}
}
