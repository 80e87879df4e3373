package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

func sampleInventory(programs int) core.Inventory {
	inv := core.Inventory{
		CollectedAt: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC),
		Hardware: core.Hardware{Manufacturer: "LENOVO", Model: "20XW", Serial: "PF2ABCDE",
			Memory: core.Memory{TotalBytes: 16 << 30, Modules: []core.MemoryModule{{Slot: "DIMM 0", SizeBytes: 8 << 30}, {Slot: "DIMM 1", SizeBytes: 8 << 30}}}},
		System: core.SystemInfo{Hostname: "pc1", OSName: "Windows 11 Pro", LastBoot: time.Date(2026, 12, 6, 8, 1, 17, 5, time.FixedZone("CET", 3600))},
	}
	for i := range programs {
		inv.Software = append(inv.Software, core.Program{Name: fmt.Sprintf("Program %04d", i), Version: "1.0", Source: core.SourceRegistry64, ID: fmt.Sprintf("{%04d}", i)})
	}
	inv.Hotfixes = []core.Hotfix{{ID: "KB5034441", InstalledOn: "2024-01-10"}}
	return NormalizeInventory(inv)
}

func TestInventoryDiffApply(t *testing.T) {
	base := sampleInventory(300)
	cur := sampleInventory(300)
	cur.CollectedAt = cur.CollectedAt.Add(24 * time.Hour)
	cur.Software[5].Version = "2.0"                                // updated
	cur.Software = append(cur.Software[:10], cur.Software[11:]...) // removed
	cur.Software = append(cur.Software, core.Program{Name: "7-Zip 23.01 (x64)", Version: "23.01", Source: core.SourceRegistry64, ID: "7-Zip"})
	cur.Hardware.Memory.Modules = cur.Hardware.Memory.Modules[:1]
	cur = NormalizeInventory(cur)

	r := DiffInventory(&base, cur)
	if r.Full != nil || r.Hardware == nil || r.System != nil {
		t.Fatalf("diff sections: full %v hardware %v system %v", r.Full != nil, r.Hardware != nil, r.System != nil)
	}
	if len(r.Added) != 2 || len(r.Removed) != 2 {
		t.Fatalf("added %d removed %d, want 2 and 2", len(r.Added), len(r.Removed))
	}
	// Over the wire and back.
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var got InventoryReport
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
	stored := roundTrip(t, base)
	out, err := ApplyInventory(&stored, got)
	if err != nil {
		t.Fatal(err)
	}
	if InventoryDigest(out) != InventoryDigest(cur) || !out.CollectedAt.Equal(cur.CollectedAt) {
		t.Fatal("applied inventory differs from the collected one")
	}
	// The same report against another base asks for a resend.
	if _, err := ApplyInventory(&cur, got); !errors.Is(err, ErrInventoryBase) {
		t.Fatalf("apply on the wrong base: %v", err)
	}
	if _, err := ApplyInventory(nil, got); !errors.Is(err, ErrInventoryBase) {
		t.Fatalf("apply on nothing: %v", err)
	}
	// No change: a report with nothing in it, same digest.
	same := DiffInventory(&cur, cur)
	if same.Hardware != nil || same.System != nil || len(same.Added)+len(same.Removed) > 0 || same.Digest != same.Base {
		t.Fatalf("no-change diff carries something: %+v", same)
	}
	// A full report applies to nothing.
	full := DiffInventory(nil, cur)
	if out, err := ApplyInventory(nil, roundTripReport(t, full)); err != nil || InventoryDigest(out) != full.Digest {
		t.Fatalf("full report: %v", err)
	}
}

func TestInventoryDigestIgnoresCollectionTime(t *testing.T) {
	a, b := sampleInventory(3), sampleInventory(3)
	b.CollectedAt = b.CollectedAt.Add(time.Hour)
	b.System.LastBoot = b.System.LastBoot.Add(20 * time.Second) // same minute
	b = NormalizeInventory(b)
	if InventoryDigest(a) != InventoryDigest(b) {
		t.Fatal("digest depends on the collection time or boot seconds")
	}
}

func TestNormalizeInventoryBadStrings(t *testing.T) {
	inv := core.Inventory{Software: []core.Program{
		{Name: "Bad \xff\xfe name", Version: "1", Source: "registry64"},
		{Name: strings.Repeat("ä", 600), Source: "registry64"},
		{Name: "dup", Source: "dpkg"}, {Name: "dup", Source: "dpkg"},
	}}
	out := NormalizeInventory(inv)
	if len(out.Software) != 3 {
		t.Fatalf("%d programs, want 3 (duplicate removed)", len(out.Software))
	}
	for _, p := range out.Software {
		if !utf8Valid(p.Name) || utf8.RuneCountInString(p.Name) > MaxInventoryText {
			t.Fatalf("bad name kept: %q", p.Name)
		}
	}
	// Normal form is a fixed point, also after the wire.
	if InventoryDigest(NormalizeInventory(roundTrip(t, out))) != InventoryDigest(out) {
		t.Fatal("normal form changes over the wire")
	}
	many := core.Inventory{}
	for i := range MaxPrograms + 5 {
		many.Software = append(many.Software, core.Program{Name: fmt.Sprint(i), Source: "dpkg"})
	}
	out = NormalizeInventory(many)
	if len(out.Software) != MaxPrograms || len(out.Missing) != 1 || out.Missing[0].Part != core.PartSoftware {
		t.Fatalf("cut list: %d programs, gaps %v", len(out.Software), out.Missing)
	}
}

func TestKeepMissing(t *testing.T) {
	prev := sampleInventory(5)
	cur := sampleInventory(0)
	cur.Hardware.Memory = core.Memory{}
	cur.Missing = []core.InventoryGap{{Part: core.PartSoftware, Error: "dpkg-query: exit status 2"}, {Part: core.PartMemory, Error: "dmidecode: permission denied"}}
	KeepMissing(&prev, &cur)
	if len(cur.Software) != 5 || cur.Hardware.Memory.TotalBytes != prev.Hardware.Memory.TotalBytes {
		t.Fatalf("missing parts not kept: %d programs, memory %d", len(cur.Software), cur.Hardware.Memory.TotalBytes)
	}
	if len(cur.Missing) != 2 {
		t.Fatal("gaps dropped")
	}
}

func roundTrip(t *testing.T, inv core.Inventory) core.Inventory {
	t.Helper()
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var out core.Inventory
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func roundTripReport(t *testing.T, r InventoryReport) InventoryReport {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var out InventoryReport
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }
