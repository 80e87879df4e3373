package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// notebookInventory is the inventory of a Windows 10 notebook whose agent
// could not read the battery; the values follow what its collector reads
// (WMI, the uninstall registry).
func notebookInventory(at time.Time) core.Inventory {
	return core.Inventory{
		CollectedAt: at,
		Hardware: core.Hardware{
			Manufacturer: "LENOVO", Model: "20XW004PGE", Serial: "PF3ABCDE",
			Firmware: core.Firmware{Vendor: "LENOVO", Version: "N32ET86W (1.62 )", Date: "2023-07-04", UEFI: true},
			CPU:      core.CPUInfo{Model: "11th Gen Intel(R) Core(TM) i5-1135G7 @ 2.40GHz", Sockets: 1, Cores: 4, Threads: 8},
			Memory: core.Memory{TotalBytes: 16_609_443_840 /* 15.5 GiB */, Modules: []core.MemoryModule{
				{Slot: "ChannelA-DIMM0", SizeBytes: 8 << 30, SpeedMTs: 3200, Type: "DDR4", Manufacturer: "Samsung"},
				{Slot: "ChannelB-DIMM0", SizeBytes: 8 << 30, SpeedMTs: 3200, Type: "DDR4", Manufacturer: "Samsung"}}},
			Disks: []core.Disk{{Name: `\\.\PHYSICALDRIVE0`, Model: "SAMSUNG MZVLB512HBJQ-000L7", Serial: "S4ENNX0R123456", SizeBytes: 512_110_190_592,
				Kind: core.DiskNVMe, Bus: "nvme"}},
			Volumes: []core.Volume{{Mount: `C:\`, FS: "NTFS", Label: "Windows", SizeBytes: 510_770_802_688, Encryption: "bitlocker", EncryptionState: "on"}},
			NICs: []core.NIC{{Name: "WLAN", MAC: "a4:c3:f0:12:34:56", Addresses: []string{"192.168.178.23/24", "fe80::1c2d:3e4f:5a6b:7c8d/64"},
				SpeedMbps: 866, Gateways: []string{"192.168.178.1"}, DNS: []string{"192.168.178.1"}, Up: true}},
			GPUs:       []core.GPU{{Name: "Intel(R) Iris(R) Xe Graphics", Vendor: "Intel Corporation", Driver: "31.0.101.2115", MemoryBytes: 1 << 30}},
			Monitors:   []core.Monitor{{Manufacturer: "DEL", Model: "DELL P2419H", Serial: "CFV9N93"}},
			TPM:        core.TPM{Present: true, Version: "2.0"},
			SecureBoot: "on",
		},
		System: core.SystemInfo{
			Hostname: "NB-BUCHHALTUNG", OSName: "Windows 10 Pro", Edition: "Professional", Version: "22H2", Build: "19045.4651",
			InstallDate: "2021-03-15", LastBoot: at.Add(-26 * time.Hour).Truncate(time.Minute), Activation: "licensed",
			JoinType: "domain", Domain: "mueller.local",
			Users:    []core.LocalUser{{Name: "Administrator", Admin: true, Disabled: true}, {Name: "it-admin", Admin: true}, {Name: "buchhaltung"}},
			LoggedOn: []string{`MUELLER\s.schmidt`},
		},
		Software: []core.Program{
			{Name: "7-Zip 22.01 (x64)", Version: "22.01", Publisher: "Igor Pavlov", InstallDate: "2022-08-02", SizeBytes: 5_662_720, Source: core.SourceRegistry64, ID: "7-Zip"},
			{Name: "Mozilla Firefox (x64 de)", Version: "128.0.3", Publisher: "Mozilla", SizeBytes: 247_123_968, Source: core.SourceRegistry64, ID: "Mozilla Firefox 128.0.3 (x64 de)"},
			{Name: "DATEV Arbeitsplatz", Version: "16.1", Publisher: "DATEV eG", InstallDate: "2024-01-10", Source: core.SourceRegistry32, ID: "{8F2E2B4A-1C3D-4E5F-9A0B-DATEVARB0016}"},
		},
		Hotfixes: []core.Hotfix{{ID: "KB5040427", Description: "Security Update", InstalledOn: "2024-07-10"}},
		Missing:  []core.InventoryGap{{Part: core.PartBattery, Error: "Win32_Battery: WMI query timed out after 30s"}},
	}
}

type inventoryFixture struct {
	*fixture
	remote  *recordingRemote
	foreign core.Device // a device of another client
	tech    core.User   // a technician of the other client only
}

// recordingRemote is a commander whose agents take every action, or fail
// it with err; it records the actions it was given.
type recordingRemote struct {
	fakeRemote
	mu      sync.Mutex
	err     error
	actions []string // type and JSON arguments
}

func (r *recordingRemote) Do(_ context.Context, _ int64, typ string, args, _ any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := json.Marshal(args)
	r.actions = append(r.actions, typ+" "+string(b))
	return r.err
}

func (r *recordingRemote) done() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.actions)
}

// newInventoryFixture stores the notebook inventory for a device whose
// S.M.A.R.T. check warns, with two changes, and adds a device of another
// client without one and a technician of that client.
func newInventoryFixture(t *testing.T) *inventoryFixture {
	t.Helper()
	st := storetest.NewSQLite(t)
	f := &inventoryFixture{fixture: &fixture{st: st, cmd: &fakeCommander{}}, remote: &recordingRemote{}}
	f.device, f.users = seed(t, st, "pc-<b>01</b>")
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: f.remote})})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	inv := notebookInventory(at)
	inv.System.PublicIP = "203.0.113.7"
	changes := []core.InventoryChange{
		{DeviceID: f.device.ID, At: at, Part: core.PartSoftware, Kind: core.ChangeUpdated, Item: "Mozilla Firefox (x64 de)", Old: "127.0.2", New: "128.0.3"},
		{DeviceID: f.device.ID, At: at, Part: core.PartMemory, Kind: core.ChangeAdded, Item: "ChannelB-DIMM0", New: "8 GiB"},
		{DeviceID: f.device.ID, At: at, Part: core.PartUsers, Kind: core.ChangeChanged, Item: "buero", Old: "user", New: "administrator"},
		{DeviceID: f.device.ID, At: at, Part: core.PartIdentity, Kind: core.ChangeChanged, Item: "serial", Old: "7XK2JH3", New: ""},
	}
	if err := f.st.SaveInventory(ctx, core.StoredInventory{DeviceID: f.device.ID, Digest: protocol.InventoryDigest(inv), ReceivedAt: at, Inventory: inv}, "", changes); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SaveResults(ctx, f.device.ID, []core.Result{{ID: "s1", Check: "smart", Key: `\\.\PHYSICALDRIVE0`, Status: core.StatusWarning, At: at,
		Message: core.Text{EN: "5 reallocated sectors", DE: "5 umgelagerte Sektoren"}}}); err != nil {
		t.Fatal(err)
	}
	_, site, err := f.st.EnsureClientSite(ctx, "Schulz KG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	f.foreign = core.Device{Hostname: "lager-pc", OS: "linux", Platform: "Ubuntu 24.04", Arch: "amd64", MachineID: "m2", PublicKey: make([]byte, 32), AgentVersion: "0.1.0"}
	if err := f.st.Enroll(ctx, auth.HashSecret(secret), &f.foreign, at); err != nil {
		t.Fatal(err)
	}
	hash, err := authtest.Cost.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.tech = core.User{Email: "tech@example.com", PasswordHash: hash, Role: core.RoleTechnician, Scope: core.Only(site.ClientID)}
	if err := f.st.CreateUser(ctx, &f.tech); err != nil {
		t.Fatal(err)
	}
	return f
}

func devicePath(id int64) string { return "/devices/" + strconv.FormatInt(id, 10) }

func wantAll(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
	if t.Failed() {
		t.Logf("%s:\n%s", what, body)
	}
}

// TestInventoryTab: the device tab shows the stored inventory's hardware,
// system, software, hotfixes, gap and changes in English and German, the
// device page links it, and a device without one says so.
func TestInventoryTab(t *testing.T) {
	f := newInventoryFixture(t)
	dev := devicePath(f.device.ID)
	b := f.browser(t, "en")
	b.login("admin@example.com", testPassword)
	if p := b.do("GET", dev, nil); !strings.Contains(p.body, `href="`+dev+`/inventory" id="device-inventory"`) {
		t.Errorf("the device page does not link its inventory")
	}
	p := b.do("GET", dev+"/inventory", nil)
	if p.status != http.StatusOK {
		t.Fatalf("inventory tab: %d %s", p.status, p.body)
	}
	wantAll(t, "English inventory tab", p.body,
		`id="inv-manufacturer">LENOVO`, "20XW004PGE", "PF3ABCDE", "N32ET86W (1.62 ) (Jul 4, 2023) UEFI",
		"i5-1135G7", "1 socket, 4 cores, 8 threads", `id="inv-memory">15.5 GiB`, "ChannelB-DIMM0", "3200 MT/s",
		"SAMSUNG MZVLB512HBJQ-000L7", "NVMe SSD", "476.9 GiB", "<td>Warning</td>", // from the S.M.A.R.T. check
		"bitlocker: on", "a4:c3:f0:12:34:56", "192.168.178.23/24", "Intel(R) Iris(R) Xe Graphics", "DELL P2419H",
		`id="inv-tpm">2.0`, `id="inv-secureboot">on`,
		"Windows 10 Pro", "19045.4651", "Mar 15, 2021", "activated", "Active Directory domain: mueller.local",
		"it-admin <span class=\"badge st-warning\">administrator</span>", "(disabled)", `MUELLER\s.schmidt`, `id="inv-publicip">203.0.113.7`,
		"7-Zip 22.01 (x64)", "Igor Pavlov", "Aug 2, 2022", "5.4 MiB", "Windows (64-bit)", "Windows (32-bit)", "KB5040427",
		`data-part="hardware.battery">Battery: not collected: Win32_Battery: WMI query timed out after 30s`,
		`data-gap="hardware.battery">not collected: Win32_Battery: WMI query timed out`,
		"Received at", `id="inv-refresh"`, `src="/static/inventory.js"`,
		`data-kind="updated"`, "updated", "127.0.2 → 128.0.3", "ChannelB-DIMM0</td>",
		"<td>buero</td><td>user → administrator</td>", "<td>serial number</td><td>7XK2JH3</td>")

	// A part not collected says so, not "none reported".
	if i := strings.Index(p.body, "<h3>Batteries</h3>"); i < 0 || strings.Contains(p.body[i:strings.Index(p.body, `id="inv-system"`)], "none reported") {
		t.Error("the battery that was not collected is shown as none reported")
	}

	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	wantAll(t, "German inventory tab", de.do("GET", dev+"/inventory", nil).body,
		"Inventar", `id="inv-memory">15,5 GiB`, "476,9 GiB", "15.03.2021", "aktiviert", "Active-Directory-Domäne",
		"Akku: nicht erfasst: Win32_Battery", "Empfangen am", "Inventar aktualisieren", "aktualisiert", "hinzugekommen",
		"Windows (64 Bit)", "Seriennummer", "<td>buero</td><td>Benutzer → Administrator</td>", "<td>Seriennummer</td><td>7XK2JH3</td>")

	// Another device of the same client: no inventory yet.
	ctx := context.Background()
	_, site, err := f.st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	fresh := core.Device{Hostname: "pc-neu", OS: "windows", Platform: "Windows 11 Pro", Arch: "amd64", MachineID: "m3", PublicKey: make([]byte, 32), AgentVersion: "0.1.0"}
	if err := f.st.Enroll(ctx, auth.HashSecret(secret), &fresh, time.Now()); err != nil {
		t.Fatal(err)
	}
	p = b.do("GET", devicePath(fresh.ID)+"/inventory", nil)
	wantAll(t, "empty inventory tab", p.body, `id="inv-none"`, "No inventory yet — the agent sends it after enrollment and daily.", `id="inv-nochanges"`)
	if strings.Contains(p.body, `id="inv-programs"`) {
		t.Error("an empty inventory shows a software table")
	}
}

// TestInventoryAccess: read-only users see the tab without the refresh
// button and may not refresh; a technician of another client gets
// neither the tab, nor its history, nor a refresh, nor the client's CSV.
func TestInventoryAccess(t *testing.T) {
	f := newInventoryFixture(t)
	dev := devicePath(f.device.ID)
	ro := f.browser(t, "en")
	_, csrf := ro.login("readonly@example.com", testPassword)
	p := ro.do("GET", dev+"/inventory", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "7-Zip") || strings.Contains(p.body, `id="inv-refresh"`) {
		t.Errorf("read-only tab: %d, refresh button shown: %v", p.status, strings.Contains(p.body, `id="inv-refresh"`))
	}
	if r := ro.do("POST", dev+"/inventory/refresh", url.Values{"csrf": {csrf}}); r.status != http.StatusForbidden {
		t.Errorf("read-only refresh: %d", r.status)
	}

	tb := f.browser(t, "en")
	_, tcsrf := tb.login("tech@example.com", testPassword)
	for _, path := range []string{dev + "/inventory", dev + "/inventory/changes",
		"/inventory/export.csv?client=" + strconv.FormatInt(f.device.ClientID, 10)} {
		r := tb.do("GET", path, nil)
		if r.status != http.StatusNotFound && r.status != http.StatusForbidden {
			t.Errorf("foreign technician GET %s: %d", path, r.status)
		}
		if strings.Contains(r.body, "Igor Pavlov") || strings.Contains(r.body, "PF3ABCDE") {
			t.Errorf("foreign technician sees the inventory at %s", path)
		}
	}
	if r := tb.do("POST", dev+"/inventory/refresh", url.Values{"csrf": {tcsrf}}); r.status != http.StatusNotFound && r.status != http.StatusForbidden {
		t.Errorf("foreign technician refresh: %d", r.status)
	}
	if a := f.remote.done(); len(a) != 0 {
		t.Errorf("refused refreshes sent %q", a)
	}
	// Their own client's device is fine, and the search shows nothing of
	// the other client.
	if r := tb.do("GET", devicePath(f.foreign.ID)+"/inventory", nil); r.status != http.StatusOK || !strings.Contains(r.body, `id="inv-none"`) {
		t.Errorf("technician's own device: %d", r.status)
	}
	r := tb.do("GET", "/inventory?search=software&name=zip", nil)
	if r.status != http.StatusOK || strings.Contains(r.body, "Igor Pavlov") || !strings.Contains(r.body, `id="no-results"`) {
		t.Errorf("foreign technician's search: %d\n%s", r.status, r.body)
	}
	if strings.Contains(r.body, "Müller GmbH") {
		t.Error("the search page offers a client the technician may not see")
	}
}

// TestInventoryRefresh: the button sends the agent the refresh action
// (full on request) and is audited; an offline agent is a warning on the
// tab, with and without htmx, and an agent's refusal says why in place.
func TestInventoryRefresh(t *testing.T) {
	f := newInventoryFixture(t)
	dev := devicePath(f.device.ID)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	r := b.do("POST", dev+"/inventory/refresh", url.Values{"csrf": {csrf}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != dev+"/inventory?refresh=ok" {
		t.Fatalf("refresh: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	wantAll(t, "tab after a refresh", b.do("GET", dev+"/inventory?refresh=ok", nil).body, `class="notice n-ok"`, "Inventory requested.")
	f.remote.mu.Lock()
	f.remote.err = core.ErrOffline
	f.remote.mu.Unlock()
	r = b.do("POST", dev+"/inventory/refresh", url.Values{"csrf": {csrf}, "full": {"1"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != dev+"/inventory?refresh=offline" {
		t.Fatalf("offline refresh: %d %q", r.status, r.header.Get("Location"))
	}
	wantAll(t, "tab after an offline refresh", b.do("GET", dev+"/inventory?refresh=offline", nil).body,
		`class="notice n-warning"`, "The agent is offline, so it cannot send its inventory now.")
	b.header.Set("HX-Request", "true")
	r = b.do("POST", dev+"/inventory/refresh", url.Values{"csrf": {csrf}})
	if r.status != http.StatusOK || strings.Contains(r.body, "<html") || !strings.Contains(r.body, "The agent is offline") {
		t.Errorf("htmx offline refresh: %d %s", r.status, r.body)
	}
	f.remote.mu.Lock()
	f.remote.err = &protocol.ActionError{Code: "failed", Message: core.Text{EN: "collecting the inventory failed: out of memory", DE: "Inventar erfassen fehlgeschlagen: kein Speicher"}}
	f.remote.mu.Unlock()
	r = b.do("POST", dev+"/inventory/refresh", url.Values{"csrf": {csrf}, "full": {"1"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, `class="notice n-failure"`) ||
		!strings.Contains(r.body, "The agent could not send its inventory: collecting the inventory failed: out of memory") {
		t.Errorf("htmx refused refresh: %d %s", r.status, r.body)
	}
	want := []string{protocol.ActionInventoryRefresh + ` {}`, protocol.ActionInventoryRefresh + ` {"full":true}`,
		protocol.ActionInventoryRefresh + ` {}`, protocol.ActionInventoryRefresh + ` {"full":true}`}
	if got := f.remote.done(); !slices.Equal(got, want) {
		t.Errorf("actions = %q, want %q", got, want)
	}
	if a := auditOf(t, f.fixture, "device.inventory-refresh"); len(a) != 4 || a[0].Actor != "user:admin@example.com" {
		t.Errorf("refresh audit: %+v", a)
	}
}

// TestInventoryChangesPaging: the history pages by before, newest first,
// 50 to a page.
func TestInventoryChangesPaging(t *testing.T) {
	f := newInventoryFixture(t)
	ctx := context.Background()
	stored, err := f.st.GetInventory(ctx, f.device.ID)
	if err != nil {
		t.Fatal(err)
	}
	// 60 more updates of 7-Zip, each a new inventory on the last.
	base := stored.Digest
	inv := stored.Inventory
	for i := range 60 {
		old := inv.Software[0].Version
		inv.Software[0].Version = "23." + strconv.Itoa(i)
		d := protocol.InventoryDigest(inv)
		if err := f.st.SaveInventory(ctx, core.StoredInventory{DeviceID: f.device.ID, Digest: d, ReceivedAt: time.Now().UTC(), Inventory: inv}, base,
			[]core.InventoryChange{{DeviceID: f.device.ID, At: time.Now().UTC(), Part: core.PartSoftware, Kind: core.ChangeUpdated, Item: "7-Zip", Old: old, New: inv.Software[0].Version}}); err != nil {
			t.Fatal(err)
		}
		base = d
	}
	b := f.browser(t, "de")
	b.login("admin@example.com", testPassword)
	dev := devicePath(f.device.ID)
	tab := b.do("GET", dev+"/inventory", nil).body
	if n := strings.Count(tab, "<tr data-kind="); n != changesOnTab {
		t.Errorf("the tab shows %d changes, want %d", n, changesOnTab)
	}
	first := b.do("GET", dev+"/inventory/changes", nil)
	if n := strings.Count(first.body, "<tr data-kind="); n != changesPerPage {
		t.Errorf("the first history page shows %d changes", n)
	}
	wantAll(t, "first history page", first.body, "Änderungsverlauf", "23.58 → 23.59", `id="inv-older"`)
	i := strings.Index(first.body, `/inventory/changes?before=`)
	if i < 0 {
		t.Fatal("no link to older changes")
	}
	next := first.body[i : i+strings.IndexByte(first.body[i:], '"')]
	second := b.do("GET", "/devices/"+strconv.FormatInt(f.device.ID, 10)+next, nil)
	// 64 changes: 50, then 14 (four of the fixture).
	if n := strings.Count(second.body, "<tr data-kind="); n != 14 {
		t.Errorf("the second history page shows %d changes", n)
	}
	wantAll(t, "second history page", second.body, "127.0.2 → 128.0.3", `id="inv-newest"`)
	if strings.Contains(second.body, `id="inv-older"`) || strings.Contains(second.body, "23.59") {
		t.Error("the last history page links further or repeats the first")
	}
	if r := b.do("GET", dev+"/inventory/changes?before=x", nil); r.status != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", r.status)
	}
}

// TestInventorySearch: the fleet search finds 7-Zip below 23.01, Windows
// 10 with its end-of-support hint, little memory; filters by client; and
// the CSV link returns the client's inventory.
func TestInventorySearch(t *testing.T) {
	f := newInventoryFixture(t)
	b := f.browser(t, "en")
	b.login("admin@example.com", testPassword)
	p := b.do("GET", "/inventory", nil)
	wantAll(t, "search page", p.body, `id="nav-inventory" class="active"`, `id="search-software"`, `id="search-devices"`,
		"Müller GmbH", "Schulz KG", `href="/inventory/export.csv?client=`+strconv.FormatInt(f.device.ClientID, 10)+`"`)
	if strings.Contains(p.body, `id="search-results"`) {
		t.Error("results before a search")
	}
	row := `<tr data-device="` + strconv.FormatInt(f.device.ID, 10) + `">`
	cases := []struct {
		query string
		hit   bool
	}{
		{"search=software&name=7-zip&version_below=23.01", true},
		{"search=software&name=7-zip&version_below=22.01", false},
		{"search=software&name=zip&client=" + strconv.FormatInt(f.foreign.ClientID, 10), false},
		{"search=devices&os=windows+10", true},
		{"search=devices&os=windows+11", false},
		{"search=devices&memory_below=16", true},
		{"search=devices&memory_below=8", false},
		{"search=devices&memory_below=15%2C4", false}, // German decimal comma: 15,4 GiB
		{"search=devices&battery_below=60", false},    // no battery known
	}
	for _, c := range cases {
		p := b.do("GET", "/inventory?"+c.query, nil)
		if p.status != http.StatusOK || !strings.Contains(p.body, `id="search-results"`) {
			t.Errorf("%s: %d", c.query, p.status)
			continue
		}
		if got := strings.Contains(p.body, row); got != c.hit {
			t.Errorf("%s: device found = %v, want %v", c.query, got, c.hit)
		}
	}
	wantAll(t, "software results", b.do("GET", "/inventory?search=software&name=7-zip&version_below=23.01", nil).body,
		`href="`+devicePath(f.device.ID)+`/inventory">pc-&lt;b&gt;01&lt;/b&gt;</a>`, "7-Zip 22.01 (x64)", "22.01", "Igor Pavlov")
	wantAll(t, "device results", b.do("GET", "/inventory?search=devices&os=windows", nil).body,
		"Windows 10 Pro", `eos">`, "15.5 GiB", "LENOVO 20XW004PGE")
	if p := b.do("GET", "/inventory?search=devices&memory_below=viel", nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Enter a positive number.") {
		t.Errorf("bad memory: %d", p.status)
	}

	csv := b.do("GET", "/inventory/export.csv?client="+strconv.FormatInt(f.device.ClientID, 10), nil)
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(csv.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV: %d %v", csv.status, csv.header)
	}
	if !strings.HasPrefix(csv.body, "\uFEFF") || !strings.Contains(csv.body, "7-Zip 22.01 (x64);22.01") {
		t.Errorf("CSV is not the client's inventory with BOM and semicolons:\n%.600s", csv.body)
	}
	if r := b.do("GET", "/inventory/export.csv?client=0", nil); r.status != http.StatusNotFound {
		t.Errorf("CSV without a client: %d", r.status)
	}
}

// BenchmarkInventoryTab renders the inventory tab of a device with 5,000
// programs (the big machine) as an administrator; it reports the
// page's size.
func BenchmarkInventoryTab(b *testing.B) {
	st := storetest.NewSQLite(b)
	d, _ := seed(b, st, "bench-pc")
	inv := notebookInventory(time.Now().UTC())
	inv.Software = nil
	for i := range 5000 {
		inv.Software = append(inv.Software, core.Program{Name: "Program " + strconv.Itoa(i), Version: "1." + strconv.Itoa(i%97),
			Publisher: "Publisher " + strconv.Itoa(i%41), InstallDate: "2024-05-17", SizeBytes: int64(i) << 16, Source: core.SourceRegistry64, ID: "p" + strconv.Itoa(i)})
	}
	if err := st.SaveInventory(context.Background(), core.StoredInventory{DeviceID: d.ID, Digest: protocol.InventoryDigest(inv), Inventory: inv}, "", nil); err != nil {
		b.Fatal(err)
	}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost})})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	br := (&fixture{srv: srv}).browser(b, "de")
	if _, csrf := br.login("admin@example.com", testPassword); csrf == "" {
		b.Fatal("login failed")
	}
	var size int
	for b.Loop() {
		p := br.do("GET", devicePath(d.ID)+"/inventory", nil)
		if p.status != http.StatusOK || !strings.Contains(p.body, "Program 4999") {
			b.Fatalf("inventory tab: %d", p.status)
		}
		size = len(p.body)
	}
	b.ReportMetric(float64(size)/1024, "KiB/page")
}
