package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

var deviceListTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"DeviceListFilters", testDeviceListFilters},
	{"DeviceListSortsAndPages", testDeviceListSortsAndPages},
	{"DeviceListCounts", testDeviceListCounts},
	{"DeviceListCursor", testDeviceListCursor},
	{"DeviceListStoredWorst", testDeviceListStoredWorst},
	{"DeviceListStoredSearch", testDeviceListStoredSearch},
	{"DeviceListOnlineWindow", testDeviceListOnlineWindow},
}

// listFleet is a small fleet for the device list: two clients, three
// sites, OSes, roles, tags, inventories, check states, presence and a
// retired device, with ties on every sort column.
type listFleet struct {
	now                                                 time.Time
	pc1, pc2, srv, mac, lap, old, nd, probe, quiet, pc3 core.Device
}

func newListFleet(t *testing.T, s core.Store) listFleet {
	t.Helper()
	hq := site(t, s, "Müller GmbH", "Zentrale")
	lager := site(t, s, "Müller GmbH", "Lager")
	acme := site(t, s, "Acme", "Office")
	f := listFleet{now: t0.Add(time.Minute)}
	n := 0
	enroll := func(st core.Site, host, goos, role, version string) core.Device {
		t.Helper()
		n++
		secret := fmt.Sprintf("secret-%d", n)
		token(t, s, st.ID, secret, 1)
		d := core.Device{Hostname: host, OS: goos, Arch: "amd64", AgentVersion: version, Role: role,
			MachineID: fmt.Sprintf("mid-%d", n), PublicKey: []byte(secret)}
		must(t, "Enroll "+host, s.Enroll(ctx, []byte(secret), &d, t0))
		return d
	}
	f.pc1 = enroll(hq, "PC-Buchhaltung", "windows", core.DeviceRoleWorkstation, "1.9.0")
	f.pc2 = enroll(hq, "pc-empfang", "windows", core.DeviceRoleWorkstation, "1.9.0")
	f.srv = enroll(hq, "fs01", "linux", core.DeviceRoleServer, "1.10.0")
	f.mac = enroll(lager, "mac-lager", "darwin", core.DeviceRoleWorkstation, "1.9.0")
	f.lap = enroll(acme, "laptop-7", "windows", core.DeviceRoleWorkstation, "1.10.0")
	f.old = enroll(acme, "old-pc", "windows", core.DeviceRoleWorkstation, "1.8.0")
	f.probe = enroll(acme, "probe", "linux", core.DeviceRoleServer, "1.10.0")
	f.quiet = enroll(lager, "quiet", "linux", core.DeviceRoleServer, "1.10.0")
	f.pc3 = enroll(hq, "pc-empfang", "windows", core.DeviceRoleWorkstation, "1.9.0") // same name as pc2
	nd := core.NetDevice{SiteID: acme.ID, Name: "printer", Address: "192.0.2.9", Type: "printer", ProbeID: f.probe.ID}
	must(t, "CreateNetDevice", s.CreateNetDevice(ctx, &nd))
	f.nd = core.Device{ID: nd.ID}

	for _, d := range []core.Device{f.pc1, f.pc2, f.srv, f.lap, f.pc3} {
		must(t, "TouchDevice", s.TouchDevice(ctx, d.ID, f.now.Add(-30*time.Second), ""))
	}
	for _, d := range []core.Device{f.mac, f.probe, f.old} {
		must(t, "TouchDevice", s.TouchDevice(ctx, d.ID, f.now.Add(-time.Hour), ""))
	}
	must(t, "RetireDevice", s.RetireDevice(ctx, f.old.ID, f.now))

	results := func(d core.Device, ss ...core.Status) {
		t.Helper()
		var rs []core.Result
		for i, st := range ss {
			rs = append(rs, core.Result{ID: fmt.Sprintf("r-%d-%d", d.ID, i), Check: fmt.Sprintf("c%d", i), Status: st, At: t0})
		}
		must(t, "SaveResults", s.SaveResults(ctx, d.ID, rs))
	}
	results(f.pc1, core.StatusOK, core.StatusFailure, core.StatusWarning)
	results(f.pc2, core.StatusWarning, core.StatusOK)
	results(f.srv, core.StatusError)
	results(f.mac, core.StatusUnsupported) // worst of unsupported alone is OK
	results(f.lap, core.StatusWarning)
	results(f.nd, core.StatusOK) // its probe is offline: unknown

	inv := func(d core.Device, user, serial string, addrs ...string) {
		t.Helper()
		i := inventory(16, 90)
		i.Hardware.Serial = serial
		i.Hardware.NICs = []core.NIC{{Name: "eth0", Addresses: addrs}, {Name: "wlan0", Addresses: addrs[:1]}}
		if user != "" {
			i.System.LoggedOn = []string{"", user}
		}
		saveInv(t, s, d.ID, "inv-"+d.Hostname, "", i)
	}
	inv(f.pc1, `MUELLER\Anna.Schmidt`, "PF3AAAA1", "10.0.5.21/24", "FE80::1/64")
	inv(f.pc2, "empfang", "PF3BBBB2", "10.0.5.22/24")
	inv(f.lap, "jdoe", "C02XYZ", "192.168.1.50/24")
	// A newer inventory without anyone logged on keeps the last user.
	i := inventory(16, 90)
	i.Hardware.NICs = []core.NIC{{Name: "eth0", Addresses: []string{"192.168.1.51/24"}}}
	must(t, "SaveInventory again", s.SaveInventory(ctx, core.StoredInventory{DeviceID: f.lap.ID, Digest: "inv2",
		ReceivedAt: t0, Inventory: i}, "inv-laptop-7", nil))

	must(t, "SetDeviceTags", s.SetDeviceTags(ctx, f.pc1.ID, []string{"buchhaltung", "vip"}))
	must(t, "SetDeviceTags", s.SetDeviceTags(ctx, f.lap.ID, []string{"vip"}))
	must(t, "SetDeviceTags", s.SetDeviceTags(ctx, f.srv.ID, []string{"fileserver"}))
	return f
}

func (f listFleet) query(q core.DeviceListQuery) core.DeviceListQuery {
	q.Now = f.now
	return q
}

// pageIDs lists the page's device IDs in order.
func pageIDs(p core.DevicePage) []int64 {
	out := make([]int64, len(p.Devices))
	for i, r := range p.Devices {
		out[i] = r.ID
	}
	return out
}

func idsOf(ds ...core.Device) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

func testDeviceListFilters(t *testing.T, s core.Store) {
	f := newListFleet(t, s)
	yes, no := true, false
	hq, acme := f.pc1.SiteID, f.lap.ClientID
	active := []core.Device{f.pc1, f.pc2, f.srv, f.mac, f.lap, f.nd, f.probe, f.quiet, f.pc3}
	for _, tc := range []struct {
		name string
		q    core.DeviceListQuery
		want []core.Device
	}{
		{"all but retired", core.DeviceListQuery{}, active},
		{"retired too", core.DeviceListQuery{Retired: true}, append(slices.Clone(active), f.old)},
		{"search hostname any case", core.DeviceListQuery{Search: "  pc-EMPF "}, []core.Device{f.pc2, f.pc3}},
		{"search user", core.DeviceListQuery{Search: "anna.schmidt"}, []core.Device{f.pc1}},
		{"search user with backslash", core.DeviceListQuery{Search: `mueller\anna`}, []core.Device{f.pc1}},
		{"search last user kept", core.DeviceListQuery{Search: "jdoe"}, []core.Device{f.lap}},
		{"search ip", core.DeviceListQuery{Search: "10.0.5.2"}, []core.Device{f.pc1, f.pc2}},
		{"search ip of the newest inventory", core.DeviceListQuery{Search: "192.168.1.51"}, []core.Device{f.lap}},
		{"search old ip", core.DeviceListQuery{Search: "192.168.1.50"}, nil},
		{"search ipv6 any case", core.DeviceListQuery{Search: "fe80::1"}, []core.Device{f.pc1}},
		{"search serial", core.DeviceListQuery{Search: "pf3bbbb"}, []core.Device{f.pc2}},
		{"search tag", core.DeviceListQuery{Search: "VIP"}, []core.Device{f.pc1, f.lap}},
		{"search wildcard is literal", core.DeviceListQuery{Search: "%"}, nil},
		{"search underscore is literal", core.DeviceListQuery{Search: "pc_"}, nil},
		{"status failure", core.DeviceListQuery{Statuses: []core.Status{core.StatusFailure}}, []core.Device{f.pc1}},
		{"status warning or error", core.DeviceListQuery{Statuses: []core.Status{core.StatusWarning, core.StatusError}},
			[]core.Device{f.pc2, f.srv, f.lap}},
		{"status ok", core.DeviceListQuery{Statuses: []core.Status{core.StatusOK}}, []core.Device{f.mac, f.probe, f.quiet, f.pc3}},
		{"status unknown", core.DeviceListQuery{Statuses: []core.Status{core.StatusUnknown}}, []core.Device{f.nd}},
		{"online", core.DeviceListQuery{Online: &yes}, []core.Device{f.pc1, f.pc2, f.srv, f.lap, f.pc3}},
		{"offline", core.DeviceListQuery{Online: &no}, []core.Device{f.mac, f.nd, f.probe, f.quiet}},
		{"os", core.DeviceListQuery{OS: []string{"linux", "darwin"}}, []core.Device{f.srv, f.mac, f.probe, f.quiet}},
		{"client", core.DeviceListQuery{ClientIDs: []int64{acme}}, []core.Device{f.lap, f.nd, f.probe}},
		{"site", core.DeviceListQuery{SiteIDs: []int64{hq, f.mac.SiteID}}, []core.Device{f.pc1, f.pc2, f.srv, f.mac, f.quiet, f.pc3}},
		{"role", core.DeviceListQuery{Roles: []string{core.DeviceRoleServer}}, []core.Device{f.srv, f.probe, f.quiet}},
		{"tag", core.DeviceListQuery{Tags: []string{"VIP", "fileserver"}}, []core.Device{f.pc1, f.srv, f.lap}},
		{"in maintenance", core.DeviceListQuery{Maintenance: &yes, MaintenanceIDs: idsOf(f.pc2, f.old)}, []core.Device{f.pc2}},
		{"site and client in maintenance", core.DeviceListQuery{Maintenance: &yes, MaintenanceSiteIDs: []int64{f.mac.SiteID},
			MaintenanceClientIDs: []int64{acme}}, []core.Device{f.mac, f.quiet, f.lap, f.nd, f.probe}},
		{"not in maintenance", core.DeviceListQuery{Maintenance: &no, MaintenanceIDs: idsOf(f.pc2)},
			[]core.Device{f.pc1, f.srv, f.mac, f.lap, f.nd, f.probe, f.quiet, f.pc3}},
		{"scope", core.DeviceListQuery{Scope: core.Only(acme)}, []core.Device{f.lap, f.nd, f.probe}},
		{"empty scope", core.DeviceListQuery{Scope: core.Only()}, nil},
		{"scope and client outside it", core.DeviceListQuery{Scope: core.Only(acme), ClientIDs: []int64{f.pc1.ClientID}}, nil},
		{"filters combine", core.DeviceListQuery{OS: []string{"windows"}, Online: &yes, Tags: []string{"vip"}, Search: "pc"},
			[]core.Device{f.pc1}},
	} {
		p, err := s.QueryDevices(ctx, f.query(tc.q))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got, want := pageIDs(p), idsOf(tc.want...)
		slices.Sort(got)
		if !slices.Equal(got, want) || p.Total != len(want) || p.Next != "" {
			t.Errorf("%s: devices %v total %d next %q; want %v", tc.name, got, p.Total, p.Next, want)
		}
	}

	p, err := s.QueryDevices(ctx, f.query(core.DeviceListQuery{Search: "anna", MaintenanceIDs: idsOf(f.pc1)}))
	must(t, "QueryDevices pc1", err)
	if len(p.Devices) != 1 {
		t.Fatalf("pc1: %+v", p.Devices)
	}
	r := p.Devices[0]
	if r.Hostname != "PC-Buchhaltung" || r.ClientName != "Müller GmbH" || r.SiteName != "Zentrale" || r.OS != "windows" ||
		r.AgentVersion != "1.9.0" || r.Worst != core.StatusFailure || !r.Online || !r.Maintenance ||
		r.User != `MUELLER\Anna.Schmidt` || r.Serial != "PF3AAAA1" || !slices.Equal(r.IPs, []string{"10.0.5.21", "fe80::1"}) ||
		!slices.Equal(r.Tags, []string{"buchhaltung", "vip"}) || !r.LastSeen.Equal(f.now.Add(-30*time.Second)) {
		t.Errorf("pc1 row = %+v", r)
	}
	p, err = s.QueryDevices(ctx, f.query(core.DeviceListQuery{Search: "printer"}))
	must(t, "QueryDevices printer", err)
	if len(p.Devices) != 1 || !p.Devices[0].LastSeen.Equal(f.now.Add(-time.Hour)) || p.Devices[0].Online {
		t.Errorf("network device: %+v; want its probe's last contact, offline", p.Devices)
	}
}

// sortKey is the value a row sorts by, as the store defines it.
func sortKey(r core.DeviceRow, by core.DeviceSort) any {
	switch by {
	case core.SortClient:
		return strings.ToLower(r.ClientName)
	case core.SortSite:
		return strings.ToLower(r.SiteName)
	case core.SortOS:
		return r.OS
	case core.SortStatus:
		return r.Worst.Severity()
	case core.SortLastSeen:
		return r.LastSeen.UnixMilli()
	case core.SortAgent:
		return r.AgentVersion
	}
	return strings.ToLower(r.Hostname)
}

func compareKeys(a, b any) int {
	if x, ok := a.(string); ok {
		return cmp.Compare(x, b.(string))
	}
	if x, ok := a.(int); ok {
		return cmp.Compare(x, b.(int))
	}
	return cmp.Compare(a.(int64), b.(int64))
}

// Paging through every sort in both directions, with pages smaller than
// the groups of equal sort values, yields every device once, in order.
func testDeviceListSortsAndPages(t *testing.T, s core.Store) {
	f := newListFleet(t, s)
	all, err := s.QueryDevices(ctx, f.query(core.DeviceListQuery{Retired: true}))
	must(t, "QueryDevices all", err)
	want := pageIDs(all)
	slices.Sort(want)
	for _, by := range core.DeviceSorts {
		for _, desc := range []bool{false, true} {
			for _, limit := range []int{1, 2, 3, 100} {
				q := f.query(core.DeviceListQuery{Retired: true, Sort: by, Desc: desc, Limit: limit})
				var rows []core.DeviceRow
				for pages := 0; ; pages++ {
					if pages > len(want) {
						t.Fatalf("%s desc=%v limit %d: more pages than devices", by, desc, limit)
					}
					p, err := s.QueryDevices(ctx, q)
					must(t, "QueryDevices page", err)
					if len(p.Devices) > limit || p.Total != len(want) {
						t.Fatalf("%s desc=%v limit %d: page of %d, total %d", by, desc, limit, len(p.Devices), p.Total)
					}
					rows = append(rows, p.Devices...)
					if p.Next == "" {
						break
					}
					q.Cursor = p.Next
				}
				got := make([]int64, len(rows))
				for i, r := range rows {
					got[i] = r.ID
				}
				ordered := slices.IsSortedFunc(rows, func(a, b core.DeviceRow) int {
					c := cmp.Or(compareKeys(sortKey(a, by), sortKey(b, by)), cmp.Compare(a.ID, b.ID))
					if desc {
						return -c
					}
					return c
				})
				sorted := slices.Sorted(slices.Values(got))
				if !ordered || !slices.Equal(sorted, want) {
					t.Errorf("%s desc=%v limit %d: got %v; want each of %v once, ordered", by, desc, limit, got, want)
				}
			}
		}
	}
	p, err := s.QueryDevices(ctx, f.query(core.DeviceListQuery{Sort: core.SortStatus, Desc: true, Limit: 2}))
	must(t, "worst first", err)
	if got := pageIDs(p); !slices.Equal(got, []int64{f.pc1.ID, f.srv.ID}) {
		t.Errorf("status desc first page = %v; want pc1 (failure), srv (error)", got)
	}
}

func testDeviceListCounts(t *testing.T, s core.Store) {
	f := newListFleet(t, s)
	p, err := s.QueryDevices(ctx, f.query(core.DeviceListQuery{Limit: 1}))
	must(t, "QueryDevices", err)
	want := []core.DeviceCount{
		{ClientID: f.lap.ClientID, ClientName: "Acme", SiteID: f.lap.SiteID, SiteName: "Office", Devices: 3, Warning: 1, Offline: 2},
		{ClientID: f.pc1.ClientID, ClientName: "Müller GmbH", SiteID: f.mac.SiteID, SiteName: "Lager", Devices: 2, Offline: 2},
		{ClientID: f.pc1.ClientID, ClientName: "Müller GmbH", SiteID: f.pc1.SiteID, SiteName: "Zentrale", Devices: 4,
			Failing: 2, Warning: 1},
	}
	if !slices.Equal(p.Counts, want) || p.Total != 9 || len(p.Devices) != 1 {
		t.Errorf("counts %+v total %d; want %+v, 9", p.Counts, p.Total, want)
	}
	yes := true
	p, err = s.QueryDevices(ctx, f.query(core.DeviceListQuery{Online: &yes, Scope: core.Only(f.pc1.ClientID)}))
	must(t, "QueryDevices online", err)
	if len(p.Counts) != 1 || p.Counts[0].Devices != 4 || p.Counts[0].Offline != 0 || p.Total != 4 {
		t.Errorf("online in scope: counts %+v total %d", p.Counts, p.Total)
	}
}

func testDeviceListCursor(t *testing.T, s core.Store) {
	f := newListFleet(t, s)
	p, err := s.QueryDevices(ctx, f.query(core.DeviceListQuery{Limit: 2}))
	must(t, "first page", err)
	if p.Next == "" {
		t.Fatal("first page has no next cursor")
	}
	for _, tc := range []struct {
		name string
		q    core.DeviceListQuery
	}{
		{"not base64", core.DeviceListQuery{Cursor: "!!!", Limit: 2}},
		{"not json", core.DeviceListQuery{Cursor: "bm9wZQ", Limit: 2}},
		{"other sort", core.DeviceListQuery{Cursor: p.Next, Sort: core.SortOS, Limit: 2}},
		{"other direction", core.DeviceListQuery{Cursor: p.Next, Desc: true, Limit: 2}},
		{"unknown sort", core.DeviceListQuery{Sort: "hostname; DROP TABLE devices"}},
	} {
		_, err := s.QueryDevices(ctx, f.query(tc.q))
		if !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
		}
	}
	next, err := s.QueryDevices(ctx, f.query(core.DeviceListQuery{Limit: 2, Cursor: p.Next}))
	must(t, "second page", err)
	if len(next.Devices) != 2 || slices.Contains(pageIDs(p), next.Devices[0].ID) {
		t.Errorf("second page %v after %v", pageIDs(next), pageIDs(p))
	}
}

// listedWorst is every device's worst status as the list shows it.
func listedWorst(t *testing.T, s core.Store, now time.Time) map[int64]core.Status {
	t.Helper()
	p, err := s.QueryDevices(ctx, core.DeviceListQuery{Now: now, Retired: true})
	must(t, "QueryDevices", err)
	out := map[int64]core.Status{}
	for _, r := range p.Devices {
		out[r.ID] = r.Worst
	}
	return out
}

// testDeviceListStoredWorst changes check states through every path that
// writes them and compares the list's stored worst status with the worst
// of the device's check states worked out again.
func testDeviceListStoredWorst(t *testing.T, s core.Store) {
	a, b := device(t, s, "pc-a"), device(t, s, "pc-b")
	now := t0.Add(time.Hour)
	n := 0
	save := func(d core.Device, at time.Time, ss ...core.Status) {
		t.Helper()
		var rs []core.Result
		for i, st := range ss {
			n++
			rs = append(rs, core.Result{ID: fmt.Sprintf("w-%d", n), Check: fmt.Sprintf("c%d", i), Status: st, At: at})
		}
		must(t, "SaveResults", s.SaveResults(ctx, d.ID, rs))
	}
	step := func(what string, want map[int64]core.Status) {
		t.Helper()
		got := listedWorst(t, s, now)
		for _, d := range []core.Device{a, b} {
			states, err := s.ListCheckStates(ctx, d.ID)
			must(t, "ListCheckStates", err)
			var ss []core.Status
			for _, c := range states {
				ss = append(ss, c.Status)
			}
			if again := core.Worst(ss...); got[d.ID] != again || got[d.ID] != want[d.ID] {
				t.Errorf("%s: device %s listed %v, its states' worst %v, want %v", what, d.Hostname, got[d.ID], again, want[d.ID])
			}
		}
	}
	step("no states", map[int64]core.Status{a.ID: core.StatusOK, b.ID: core.StatusOK})
	save(a, t0, core.StatusUnsupported)
	step("unsupported alone", map[int64]core.Status{a.ID: core.StatusOK, b.ID: core.StatusOK})
	save(a, t0.Add(time.Minute), core.StatusOK, core.StatusWarning)
	save(b, t0.Add(time.Minute), core.StatusUnknown)
	step("new checks", map[int64]core.Status{a.ID: core.StatusWarning, b.ID: core.StatusUnknown})
	save(a, t0.Add(2*time.Minute), core.StatusFailure)
	step("worse", map[int64]core.Status{a.ID: core.StatusFailure, b.ID: core.StatusUnknown})
	save(a, t0.Add(30*time.Second), core.StatusOK, core.StatusOK) // older than the states: history only
	step("out of order", map[int64]core.Status{a.ID: core.StatusFailure, b.ID: core.StatusUnknown})
	save(a, t0.Add(3*time.Minute), core.StatusError, core.StatusOK)
	step("better", map[int64]core.Status{a.ID: core.StatusError, b.ID: core.StatusUnknown})
	// A redelivered batch changes nothing, whatever it says now.
	must(t, "SaveResults redelivery", s.SaveResults(ctx, a.ID, []core.Result{
		{ID: fmt.Sprintf("w-%d", n), Check: "c1", Status: core.StatusFailure, At: t0.Add(4 * time.Minute)}}))
	step("redelivery", map[int64]core.Status{a.ID: core.StatusError, b.ID: core.StatusUnknown})
	save(a, t0.Add(5*time.Minute), core.StatusOK)
	save(b, t0.Add(5*time.Minute), core.StatusOK)
	step("recovered", map[int64]core.Status{a.ID: core.StatusOK, b.ID: core.StatusOK})
	save(b, t0.Add(6*time.Minute), core.StatusWarning)
	must(t, "RetireDevice", s.RetireDevice(ctx, b.ID, now))
	step("retired", map[int64]core.Status{a.ID: core.StatusOK, b.ID: core.StatusWarning})
}

// testDeviceListStoredSearch changes what the search looks in through
// every path that writes it and searches for the old and the new text;
// upper and lower case match beyond ASCII on both engines.
func testDeviceListStoredSearch(t *testing.T, s core.Store) {
	d := device(t, s, "MÜLLER-PC")
	st := site(t, s, "Acme", "Office")
	nd := core.NetDevice{SiteID: st.ID, Name: "Drucker-Flur", Address: "192.0.2.9", Type: "printer"}
	must(t, "CreateNetDevice", s.CreateNetDevice(ctx, &nd))
	now := t0.Add(time.Hour)
	found := func(what, search string, want ...int64) {
		t.Helper()
		p, err := s.QueryDevices(ctx, core.DeviceListQuery{Now: now, Search: search, Retired: true})
		must(t, "QueryDevices "+search, err)
		if got := pageIDs(p); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s: search %q found %v, want %v", what, search, got, want)
		}
	}
	found("enrolled", "müller-pc", d.ID)
	found("enrolled", "MÜLLER", d.ID)
	found("created", "drucker-flur", nd.ID)

	i := inventory(16, 90)
	i.System.LoggedOn = []string{`BÜRO\Jörg.Ärger`}
	i.Hardware.Serial = "SN-ÄÖÜ-1"
	i.Hardware.NICs = []core.NIC{{Name: "eth0", Addresses: []string{"10.9.8.7/24"}}}
	saveInv(t, s, d.ID, "s1", "", i)
	found("inventory", "jörg.ärger", d.ID)
	found("inventory", "sn-äöü", d.ID)
	found("inventory", "10.9.8.", d.ID)
	i.System.LoggedOn = []string{"anna"}
	i.Hardware.NICs = []core.NIC{{Name: "eth0", Addresses: []string{"10.1.1.1/24"}}}
	saveInv(t, s, d.ID, "s2", "s1", i)
	found("newer inventory", "ärger")
	found("newer inventory", "10.9.8.")
	found("newer inventory", "ANNA", d.ID)
	must(t, "ForgetInventory", s.ForgetInventory(ctx, d.ID))
	found("forgotten inventory", "anna")
	found("forgotten inventory", "sn-äöü")

	must(t, "SetDeviceTags", s.SetDeviceTags(ctx, d.ID, []string{"Geschäftsführung"}))
	found("tags", "GESCHÄFTS", d.ID)
	must(t, "SetDeviceTags", s.SetDeviceTags(ctx, d.ID, nil))
	found("tags removed", "geschäfts")

	nd.Name = "Drucker-Küche"
	must(t, "UpdateNetDevice", s.UpdateNetDevice(ctx, &nd))
	found("renamed", "drucker-flur")
	found("renamed", "KÜCHE", nd.ID)
	// Escaped: a search for "_" or "%" is literal.
	found("wildcards", "m_ller")
	found("wildcards", "%", nil...)
}

// testDeviceListOnlineWindow: a device heard from 10 s ago is online with
// the default heartbeat's window and offline with 2 s heartbeats' — and so
// is a probe, whose network device is then unknown.
func testDeviceListOnlineWindow(t *testing.T, s core.Store) {
	probe := device(t, s, "probe")
	nd := core.NetDevice{SiteID: probe.SiteID, Name: "printer", Address: "192.0.2.9", Type: "printer", ProbeID: probe.ID}
	must(t, "CreateNetDevice", s.CreateNetDevice(ctx, &nd))
	must(t, "SaveResults", s.SaveResults(ctx, nd.ID, []core.Result{{ID: "ow-1", Check: "ping", Status: core.StatusOK, At: t0}}))
	now := t0.Add(time.Hour)
	must(t, "TouchDevice", s.TouchDevice(ctx, probe.ID, now.Add(-10*time.Second), ""))
	yes := true
	for _, c := range []struct {
		name      string
		window    time.Duration
		online    bool
		ndWorst   core.Status
		onlineIDs []int64
	}{
		{"default window", 0, true, core.StatusOK, idsOf(probe, core.Device{ID: nd.ID})},
		{"30 s heartbeats", core.OnlineWindow(30 * time.Second), true, core.StatusOK, idsOf(probe, core.Device{ID: nd.ID})},
		{"2 s heartbeats", core.OnlineWindow(2 * time.Second), false, core.StatusUnknown, []int64{}},
	} {
		p, err := s.QueryDevices(ctx, core.DeviceListQuery{Now: now, OnlineWindow: c.window})
		must(t, "QueryDevices", err)
		for _, r := range p.Devices {
			switch r.ID {
			case probe.ID:
				if r.Online != c.online {
					t.Errorf("%s: probe online %v, want %v", c.name, r.Online, c.online)
				}
			case nd.ID:
				if r.Online != c.online || r.Worst != c.ndWorst {
					t.Errorf("%s: network device online %v worst %v, want %v %v", c.name, r.Online, r.Worst, c.online, c.ndWorst)
				}
			}
		}
		p, err = s.QueryDevices(ctx, core.DeviceListQuery{Now: now, OnlineWindow: c.window, Online: &yes})
		must(t, "QueryDevices online", err)
		if got := pageIDs(p); !slices.Equal(slices.Sorted(slices.Values(got)), c.onlineIDs) {
			t.Errorf("%s: online filter = %v, want %v", c.name, got, c.onlineIDs)
		}
	}

	// ListDevices and GetDevice judge the probe by the store's window.
	w, ok := s.(interface{ SetOnlineWindow(time.Duration) })
	if !ok {
		return
	}
	defer w.SetOnlineWindow(0)
	must(t, "TouchDevice", s.TouchDevice(ctx, probe.ID, time.Now().Add(-10*time.Second), ""))
	for _, c := range []struct {
		name   string
		window time.Duration
		want   core.Status
	}{
		{"default window", 0, core.StatusOK},
		{"2 s heartbeats", core.OnlineWindow(2 * time.Second), core.StatusUnknown},
	} {
		w.SetOnlineWindow(c.window)
		d, err := s.GetDevice(ctx, nd.ID)
		must(t, "GetDevice", err)
		if d.Worst != c.want {
			t.Errorf("%s: GetDevice worst %v, want %v", c.name, d.Worst, c.want)
		}
		devs, err := s.ListDevices(ctx)
		must(t, "ListDevices", err)
		for _, l := range devs {
			if l.ID == nd.ID && l.Worst != c.want {
				t.Errorf("%s: ListDevices worst %v, want %v", c.name, l.Worst, c.want)
			}
		}
	}
}
