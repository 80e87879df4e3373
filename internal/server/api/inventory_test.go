package api_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// inventoryFixture adds to the fixture a device pc-02 of client "Beta
// GmbH" with 8 GB and 7-Zip 23.01 (pc-01 of Acme has 4 GB and 7-Zip
// 19.00), and the token "beta" of a technician of Beta only.
func inventoryFixture(t *testing.T) (*fixture, core.Device) {
	f := newFixture(t)
	ctx := context.Background()
	_, site, err := f.st.EnsureClientSite(ctx, "Beta GmbH", "Hannover")
	if err != nil {
		t.Fatal(err)
	}
	other := enroll(t, f.st, site, "pc-02", time.Now())
	u := core.User{Email: "beta@example.com", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.Only(site.ClientID)}
	if err := f.st.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	sec := auth.NewSecret(auth.APITokenPrefix)
	if err := f.st.CreateAPIToken(ctx, &core.APIToken{UserID: u.ID, Name: "beta", Hash: auth.HashSecret(sec)}); err != nil {
		t.Fatal(err)
	}
	f.tokens["beta"] = sec
	for _, d := range []struct {
		id      int64
		version string
		mem     uint64
	}{{f.device.ID, "19.00", 4}, {other.ID, "23.01", 8}} {
		inv := core.Inventory{
			Hardware: core.Hardware{Manufacturer: "LENOVO", Model: "ThinkPad T14", Serial: "PF-" + d.version, Memory: core.Memory{TotalBytes: d.mem << 30},
				Disks: []core.Disk{{Name: "sda", Model: "SAMSUNG MZ7LH480", Serial: "S1", SizeBytes: 480103981056}}},
			System: core.SystemInfo{OSName: "Windows 10 Pro", Version: "22H2", Build: "19045.4651", PublicIP: "203.0.113.9"},
			Software: []core.Program{
				{Name: "7-Zip " + d.version + " (x64)", Version: d.version, Publisher: "Igor Pavlov", InstallDate: "2024-05-02", Source: core.SourceRegistry64},
				{Name: "=HYPERLINK(\"http://example.com\")", Version: "1", Source: core.SourceUser},
			},
		}
		if err := f.st.SaveInventory(ctx, core.StoredInventory{DeviceID: d.id, Digest: "d", Inventory: inv}, "", []core.InventoryChange{
			{At: time.Now(), Part: core.PartSoftware, Kind: core.ChangeUpdated, Item: "7-Zip", Old: "16.04", New: d.version}}); err != nil {
			t.Fatal(err)
		}
	}
	v := 0.0
	if err := f.st.SaveResults(ctx, f.device.ID, []core.Result{{ID: "s1", Check: "smart", Key: "/dev/sda", Status: core.StatusWarning, Value: &v, At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	return f, other
}

func TestInventoryAPI(t *testing.T) {
	f, other := inventoryFixture(t)
	dev := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10)

	var inv service.DeviceInventory
	if st := f.do(t, "GET", dev+"/inventory", "readonly", &inv); st != http.StatusOK {
		t.Fatalf("inventory: %d", st)
	}
	if inv.Stored == nil || inv.Device.Hostname != "pc-01" || inv.PublicIP != "203.0.113.9" || inv.Stored.Inventory.System.PublicIP != "" ||
		len(inv.Stored.Inventory.Software) != 2 || inv.Stored.Inventory.Hardware.Disks[0].Health != "warning" {
		t.Fatalf("inventory = %+v", inv)
	}
	if inv.EndOfSupport == nil || !inv.EndOfSupport.Ended || inv.EndOfSupport.Date != "2025-10-14" {
		t.Errorf("Windows 10's end of support = %+v", inv.EndOfSupport)
	}
	var changes []core.InventoryChange
	if st := f.do(t, "GET", dev+"/inventory/changes?limit=10", "readonly", &changes); st != http.StatusOK || len(changes) != 1 || changes[0].New != "19.00" {
		t.Fatalf("changes: %d %+v", st, changes)
	}
	if st := f.do(t, "GET", dev+"/inventory/changes?before=x", "readonly", nil); st != http.StatusBadRequest {
		t.Errorf("changes?before=x: %d", st)
	}

	// 7-Zip below 23.01: only pc-01's 19.00.
	var hits []core.SoftwareHit
	if st := f.do(t, "GET", "/api/v1/inventory/software?name=7-zip&version_below=23.01", "admin", &hits); st != http.StatusOK {
		t.Fatalf("software search: %d", st)
	}
	if len(hits) != 1 || hits[0].Hostname != "pc-01" || hits[0].ClientName != "Acme" || hits[0].Program.Version != "19.00" {
		t.Errorf("7-zip below 23.01 = %+v", hits)
	}
	if f.do(t, "GET", "/api/v1/inventory/software?name=7-zip", "admin", &hits); len(hits) != 2 {
		t.Errorf("7-zip = %+v", hits)
	}
	if st := f.do(t, "GET", "/api/v1/inventory/software?name=", "admin", nil); st != http.StatusBadRequest {
		t.Errorf("search without a name: %d", st)
	}
	var sums []core.InventorySummary
	if f.do(t, "GET", "/api/v1/inventory/devices?memory_below_gb=8&os=windows%2010", "admin", &sums); len(sums) != 1 || sums[0].DeviceID != f.device.ID {
		t.Errorf("below 8 GB = %+v", sums)
	}

	// A technician of another client sees nothing of Acme.
	if st := f.do(t, "GET", dev+"/inventory", "beta", nil); st != http.StatusNotFound {
		t.Errorf("foreign inventory: %d, want 404", st)
	}
	if st := f.do(t, "GET", dev+"/inventory/changes", "beta", nil); st != http.StatusNotFound {
		t.Errorf("foreign changes: %d, want 404", st)
	}
	if f.do(t, "GET", "/api/v1/inventory/software?name=7-zip", "beta", &hits); len(hits) != 1 || hits[0].DeviceID != other.ID {
		t.Errorf("beta's 7-zip = %+v", hits)
	}
	acme := strconv.FormatInt(f.device.ClientID, 10)
	if f.do(t, "GET", "/api/v1/inventory/software?name=7-zip&client="+acme, "beta", &hits); len(hits) != 0 {
		t.Errorf("beta's 7-zip of Acme = %+v", hits)
	}
	if f.do(t, "GET", "/api/v1/inventory/devices", "beta", &sums); len(sums) != 1 || sums[0].DeviceID != other.ID {
		t.Errorf("beta's devices = %+v", sums)
	}

	// Refresh: technicians, not read-only users; no agent is connected here.
	if st := f.do(t, "POST", dev+"/inventory/refresh", "readonly", nil); st != http.StatusForbidden {
		t.Errorf("refresh as read-only: %d", st)
	}
	if st := f.do(t, "POST", dev+"/inventory/refresh", "tech", nil); st != http.StatusConflict {
		t.Errorf("refresh of an offline device: %d, want 409", st)
	}
	es, err := f.st.QueryAudit(context.Background(), core.AuditQuery{Action: "device.inventory-refresh"})
	if err != nil || len(es) != 1 || !strings.Contains(es[0].Detail, "offline") || es[0].Result != core.AuditFailed {
		t.Errorf("refresh audit = %+v, %v", es, err)
	}
}

func TestInventoryCSV(t *testing.T) {
	f, _ := inventoryFixture(t)
	get := func(token, query string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", f.srv.URL+"/api/v1/inventory/export.csv"+query, nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[token])
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("export: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		return string(b)
	}
	body := get("admin", "")
	rest, ok := strings.CutPrefix(body, "\uFEFF")
	if !ok || !strings.Contains(rest, "\r\n") || strings.Contains(strings.ReplaceAll(rest, "\r\n", ""), "\n") {
		t.Fatalf("want a BOM and CRLF lines: %q", body)
	}
	r := csv.NewReader(strings.NewReader(rest))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Hostname", "Client", "OS", "Model", "Serial", "Memory GB", "Program", "Version", "Publisher", "Install date"},
		{"pc-01", "Acme", "Windows 10 Pro", "LENOVO ThinkPad T14", "PF-19.00", "4,0", "7-Zip 19.00 (x64)", "19.00", "Igor Pavlov", "2024-05-02"},
		{"pc-01", "Acme", "Windows 10 Pro", "LENOVO ThinkPad T14", "PF-19.00", "4,0", "'=HYPERLINK(\"http://example.com\")", "1", "", ""},
		{"pc-02", "Beta GmbH", "Windows 10 Pro", "LENOVO ThinkPad T14", "PF-23.01", "8,0", "7-Zip 23.01 (x64)", "23.01", "Igor Pavlov", "2024-05-02"},
		{"pc-02", "Beta GmbH", "Windows 10 Pro", "LENOVO ThinkPad T14", "PF-23.01", "8,0", "'=HYPERLINK(\"http://example.com\")", "1", "", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows = %q", rows)
	}
	for i := range want {
		if strings.Join(rows[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, rows[i], want[i])
		}
	}
	if b := get("beta", ""); strings.Contains(b, "pc-01") || !strings.Contains(b, "pc-02") {
		t.Errorf("beta's export shows Acme's device or not its own:\n%s", b)
	}
	if b := get("admin", "?client="+strconv.FormatInt(f.device.ClientID, 10)); strings.Contains(b, "pc-02") || !strings.Contains(b, "pc-01") {
		t.Errorf("Acme's export:\n%s", b)
	}
}
