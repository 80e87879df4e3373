package loadsim

import (
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestInventoryFleet checks the simulated fleet is what the inventory
// search benchmark claims: 300 programs each, 7-Zip on about 60 % in
// several versions, a few thousand distinct names, about 8 % below 8 GB,
// and the same inventory for the same agent.
func TestInventoryFleet(t *testing.T) {
	const n = 2000
	names, zipVersions := map[string]bool{}, map[string]bool{}
	zip, small := 0, 0
	for i := range n {
		inv := Inventory(i)
		if len(inv.Software) != InventoryPrograms {
			t.Fatalf("agent %d: %d programs", i, len(inv.Software))
		}
		for _, p := range inv.Software {
			names[strings.ToLower(p.Name)] = true
			if strings.HasPrefix(p.Name, "7-Zip") {
				zip++
				zipVersions[p.Version] = true
			}
		}
		if inv.Hardware.Memory.TotalBytes < 8<<30 {
			small++
		}
	}
	if share := float64(zip) / n; share < 0.55 || share > 0.65 || len(zipVersions) < 4 {
		t.Errorf("7-Zip on %.0f %% in %d versions", 100*share, len(zipVersions))
	}
	if len(names) < 2000 || len(names) > 3100 {
		t.Errorf("%d distinct names", len(names))
	}
	if share := float64(small) / n; share < 0.05 || share > 0.11 {
		t.Errorf("%.0f %% below 8 GB", 100*share)
	}
	if a, b := protocol.InventoryDigest(Inventory(7)), protocol.InventoryDigest(Inventory(7)); a != b {
		t.Error("the same agent's inventory differs")
	}
}
