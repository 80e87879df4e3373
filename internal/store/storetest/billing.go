package storetest

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

var billingTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"BillingContracts", testBillingContracts},
	{"BillingContractOverlaps", testBillingContractOverlaps},
	{"BillingContractsConcurrent", testBillingContractsConcurrent},
	{"BillingDevices", testBillingDevices},
	{"BillingTimeEntries", testBillingTimeEntries},
	{"BillingRuns", testBillingRuns},
	{"BillingRunCorrections", testBillingRunCorrections},
	{"BillingRunTimeEntryConflicts", testBillingRunTimeEntryConflicts},
	{"BillingRunsConcurrent", testBillingRunsConcurrent},
}

// contract is a contract of the default plan from start to end.
func contract(clientID int64, start, end string) *core.Contract {
	c := core.DefaultContract(clientID, start)
	c.End, c.UpdatedBy = end, "anna"
	return &c
}

func testBillingContracts(t *testing.T, s core.Store) {
	c := site(t, s, "Müller GmbH", "Zentrale").ClientID
	o := site(t, s, "Acme", "Lager").ClientID

	a := contract(c, "2026-01-01", "2026-03-31")
	a.NetworkDevicesBillable, a.VATBasisPoints, a.Gross, a.Period = true, 700, false, core.PeriodQuarterly
	must(t, "PutContract new", s.PutContract(ctx, a))
	if a.ID == 0 || a.ClientName != "Müller GmbH" || a.UpdatedAt.IsZero() {
		t.Fatalf("after PutContract: %+v", a)
	}
	got, err := s.GetContract(ctx, a.ID)
	must(t, "GetContract", err)
	if !reflect.DeepEqual(got, *a) {
		t.Errorf("GetContract = %+v\nwant %+v", got, *a)
	}

	// An open-ended contract from the next day on; another client's
	// contract over the same days does not count.
	b := contract(c, "2026-04-01", "")
	must(t, "PutContract open ended", s.PutContract(ctx, b))
	x := contract(o, "2026-02-01", "")
	must(t, "PutContract other client", s.PutContract(ctx, x))
	old := contract(c, "2025-01-01", "2025-12-31")
	must(t, "PutContract before", s.PutContract(ctx, old))

	// Replacing keeps the ID and sets every field.
	id := a.ID
	a.PriceCents, a.Plan, a.Gross, a.End, a.UpdatedBy = 9900, "Basis", true, "2026-03-15", "ben"
	must(t, "PutContract replace", s.PutContract(ctx, a))
	if a.ID != id {
		t.Errorf("replacing changed the ID %d to %d", id, a.ID)
	}
	got, err = s.GetContract(ctx, id)
	must(t, "GetContract replaced", err)
	if !reflect.DeepEqual(got, *a) || got.PriceCents != 9900 || got.End != "2026-03-15" || !got.Gross {
		t.Errorf("GetContract after replace = %+v\nwant %+v", got, *a)
	}

	list, err := s.ListContracts(ctx, c)
	must(t, "ListContracts", err)
	if len(list) != 3 || list[0].ID != old.ID || list[1].ID != a.ID || list[2].ID != b.ID ||
		list[2].End != "" || list[1].ClientName != "Müller GmbH" {
		t.Errorf("ListContracts(client) = %+v", list)
	}

	// Unknown contract, another client's contract, unknown client.
	u := contract(c, "2030-01-01", "2030-12-31")
	u.ID = 999999
	wantErr(t, "PutContract unknown ID", s.PutContract(ctx, u), core.ErrNotFound)
	moved := *x
	moved.ClientID = c
	moved.Start, moved.End = "2030-01-01", "2030-12-31"
	wantErr(t, "PutContract of another client's ID", s.PutContract(ctx, &moved), core.ErrNotFound)
	wantErr(t, "PutContract unknown client", s.PutContract(ctx, contract(999999, "2026-01-01", "")), core.ErrNotFound)
	wantErr(t, "PutContract without start", s.PutContract(ctx, contract(c, "", "")), core.ErrInvalid)
	wantErr(t, "PutContract end before start", s.PutContract(ctx, contract(c, "2031-02-01", "2031-01-31")), core.ErrInvalid)
	got, err = s.GetContract(ctx, x.ID)
	must(t, "GetContract other client", err)
	if got.ClientID != o || got.Start != "2026-02-01" {
		t.Errorf("a refused replace changed contract %d: %+v", x.ID, got)
	}
	_, err = s.GetContract(ctx, 999999)
	wantErr(t, "GetContract unknown", err, core.ErrNotFound)

	// A deleted client's contracts stay listed, with its name as it was
	// (not the one DeleteClient gave it to free the name).
	_, err = s.DeleteClient(ctx, o, true, t0)
	must(t, "DeleteClient", err)
	x.End, x.UpdatedBy = "2026-03-14", "ben"
	must(t, "PutContract of a deleted client", s.PutContract(ctx, x))
	if x.ClientName != "Acme" {
		t.Errorf("PutContract of a deleted client: ClientName = %q, want Acme", x.ClientName)
	}
	all, err := s.ListContracts(ctx, 0)
	must(t, "ListContracts(0)", err)
	if len(all) != 4 || all[0].ClientID != min(c, o) || all[3].ClientID != max(c, o) {
		t.Fatalf("ListContracts(0) = %+v", all)
	}
	for _, k := range all {
		if k.ID == x.ID && k.ClientName != "Acme" {
			t.Errorf("deleted client's contract = %+v", k)
		}
	}

	must(t, "DeleteContract", s.DeleteContract(ctx, old.ID))
	wantErr(t, "DeleteContract again", s.DeleteContract(ctx, old.ID), core.ErrNotFound)
	// The freed years can take a contract again.
	must(t, "PutContract into freed days", s.PutContract(ctx, contract(c, "2025-06-01", "2025-12-31")))
}

func testBillingContractOverlaps(t *testing.T, s core.Store) {
	c := site(t, s, "Müller GmbH", "Zentrale").ClientID
	a := contract(c, "2026-01-01", "2026-03-31")
	must(t, "PutContract", s.PutContract(ctx, a))
	b := contract(c, "2026-06-01", "")
	must(t, "PutContract open ended", s.PutContract(ctx, b))

	for _, tc := range []struct{ start, end string }{
		{"2026-01-01", "2026-01-31"}, // equal start
		{"2025-12-01", "2026-01-01"}, // ends on a's first day
		{"2026-03-31", "2026-04-30"}, // starts on a's last day (both inclusive)
		{"2025-01-01", ""},           // open ended over everything
		{"2027-01-01", "2027-12-31"}, // inside b's open end
		{"2026-05-01", "2026-06-01"}, // ends on b's first day
		{"2025-01-01", "2030-01-01"}, // around a
		{"2026-02-01", "2026-02-28"}, // inside a
	} {
		err := s.PutContract(ctx, contract(c, tc.start, tc.end))
		wantErr(t, "PutContract "+tc.start+" – "+tc.end, err, core.ErrConflict)
	}
	// Replacing b with a start inside a overlaps too.
	moved := *b
	moved.Start = "2026-03-01"
	wantErr(t, "replace into a", s.PutContract(ctx, &moved), core.ErrConflict)

	// Adjacent days touch but do not overlap.
	must(t, "touching a's end", s.PutContract(ctx, contract(c, "2026-04-01", "2026-05-31")))
	must(t, "touching a's start", s.PutContract(ctx, contract(c, "2025-11-01", "2025-12-31")))
	// A contract may move within its own days (it does not overlap itself).
	a.End = "2026-03-30"
	must(t, "shorten a", s.PutContract(ctx, a))
	list, err := s.ListContracts(ctx, c)
	must(t, "ListContracts", err)
	if len(list) != 4 {
		t.Errorf("ListContracts = %d contracts, want 4: %+v", len(list), list)
	}
}

// testBillingContractsConcurrent writes overlapping contracts of one
// client at once, several rounds (a client each): exactly one may win.
func testBillingContractsConcurrent(t *testing.T, s core.Store) {
	const rounds, n = 10, 8
	for round := range rounds {
		c := site(t, s, "Kunde "+strconv.Itoa(round), "Zentrale").ClientID
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.PutContract(ctx, contract(c, "2026-0"+strconv.Itoa(1+i)+"-01", ""))
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, core.ErrConflict):
				t.Errorf("round %d, writer %d: %v, want ErrConflict", round, i, err)
			}
		}
		list, err := s.ListContracts(ctx, c)
		must(t, "ListContracts", err)
		if won != 1 || len(list) != 1 {
			t.Fatalf("round %d: %d writers won, %d contracts stored; want 1", round, won, len(list))
		}
	}
}

// enrollIn enrolls a new agent device in a site at a time.
func enrollIn(t *testing.T, s core.Store, siteID int64, host string, at time.Time) core.Device {
	t.Helper()
	token(t, s, siteID, "secret-"+host, 0)
	d := core.Device{Hostname: host, OS: "windows", MachineID: "mid-" + host, PublicKey: []byte("key-" + host)}
	must(t, "Enroll "+host, s.Enroll(ctx, []byte("secret-"+host), &d, at))
	return d
}

func testBillingDevices(t *testing.T, s core.Store) {
	st := site(t, s, "Müller GmbH", "Zentrale")
	lager := site(t, s, "Müller GmbH", "Lager")
	other := site(t, s, "Acme", "Zentrale")
	pc1 := enrollIn(t, s, st.ID, "pc1", t0)
	pc2 := enrollIn(t, s, lager.ID, "pc2", t0.Add(time.Hour))
	late := enrollIn(t, s, st.ID, "late", t0.Add(72*time.Hour))
	ac := enrollIn(t, s, other.ID, "acme1", t0.Add(2*time.Hour))
	must(t, "RetireDevice", s.RetireDevice(ctx, pc2.ID, t0.Add(24*time.Hour)))
	router := core.NetDevice{SiteID: st.ID, Name: "Core router", Address: "192.0.2.1", Type: "router"}
	must(t, "CreateNetDevice", s.CreateNetDevice(ctx, &router))

	// Until excludes devices enrolled at or after it: late and the network
	// device (enrolled now, after t0).
	got, err := s.ListBillingDevices(ctx, st.ClientID, t0.Add(72*time.Hour))
	must(t, "ListBillingDevices", err)
	want := []core.BillingDevice{
		{ID: pc1.ID, ClientID: st.ClientID, Hostname: "pc1", Kind: core.KindAgent, MachineID: "mid-pc1", EnrolledAt: t0},
		{ID: pc2.ID, ClientID: st.ClientID, Hostname: "pc2", Kind: core.KindAgent, MachineID: "mid-pc2",
			EnrolledAt: t0.Add(time.Hour), RetiredAt: t0.Add(24 * time.Hour)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ListBillingDevices(client, t0+72h) =\n%+v\nwant\n%+v", got, want)
	}

	// A deleted client's devices are retired and still listed, network
	// devices with their kind and name.
	_, err = s.DeleteClient(ctx, st.ClientID, true, t0.Add(96*time.Hour))
	must(t, "DeleteClient", err)
	far := time.Now().Add(24 * time.Hour)
	got, err = s.ListBillingDevices(ctx, st.ClientID, far)
	must(t, "ListBillingDevices after delete", err)
	if len(got) != 4 {
		t.Fatalf("ListBillingDevices after delete = %+v, want 4 devices", got)
	}
	byID := map[int64]core.BillingDevice{}
	for _, d := range got {
		byID[d.ID] = d
		if d.ClientID != st.ClientID || d.RetiredAt.IsZero() {
			t.Errorf("device of the deleted client = %+v, want client %d, retired", d, st.ClientID)
		}
	}
	if d := byID[pc2.ID]; !d.RetiredAt.Equal(t0.Add(24 * time.Hour)) {
		t.Errorf("pc2 retired earlier, now %+v", d)
	}
	if d := byID[late.ID]; !d.EnrolledAt.Equal(t0.Add(72*time.Hour)) || d.Kind != core.KindAgent {
		t.Errorf("late = %+v", d)
	}
	if d := byID[router.ID]; d.Kind != core.KindNetwork || d.Hostname != "Core router" || d.MachineID != "" ||
		d.EnrolledAt.IsZero() {
		t.Errorf("network device = %+v", d)
	}

	all, err := s.ListBillingDevices(ctx, 0, far)
	must(t, "ListBillingDevices(0)", err)
	if len(all) != 5 {
		t.Errorf("ListBillingDevices(0) = %d devices, want 5: %+v", len(all), all)
	}
	acme, err := s.ListBillingDevices(ctx, other.ClientID, far)
	must(t, "ListBillingDevices(other)", err)
	if len(acme) != 1 || acme[0].ID != ac.ID || !acme[0].RetiredAt.IsZero() {
		t.Errorf("ListBillingDevices(other) = %+v", acme)
	}
	none, err := s.ListBillingDevices(ctx, other.ClientID, t0)
	must(t, "ListBillingDevices before any", err)
	if none == nil || len(none) != 0 {
		t.Errorf("ListBillingDevices before any enrollment = %#v, want empty", none)
	}
}

// timeEntry stores a stopped, billable entry of minutes at start.
func timeEntry(t *testing.T, s core.Store, clientID int64, start time.Time, minutes int) core.TimeEntry {
	t.Helper()
	e := core.TimeEntry{ClientID: clientID, User: "anna", StartedAt: start, Minutes: minutes,
		Note: "Drucker eingerichtet", Billable: true}
	must(t, "CreateTimeEntry", s.CreateTimeEntry(ctx, &e))
	return e
}

func entryIDs(es []core.TimeEntry) []int64 {
	ids := []int64{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

func testBillingTimeEntries(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	c := d.ClientID
	o := site(t, s, "Acme", "Lager").ClientID
	req := supportRequest(d, "ref-1", t0)
	saveSupport(t, s, req, nil)

	e := core.TimeEntry{ClientID: c, SupportID: req.ID, User: "anna", StartedAt: t0, Running: true,
		Note: "Drucker", Billable: true, CreatedAt: t0.Add(time.Second)}
	must(t, "CreateTimeEntry", s.CreateTimeEntry(ctx, &e))
	want := core.TimeEntry{ID: e.ID, ClientID: c, ClientName: "Client pc1", SupportID: req.ID, User: "anna",
		StartedAt: t0, Running: true, Note: "Drucker", Billable: true, CreatedAt: t0.Add(time.Second)}
	if e.ID == 0 || !reflect.DeepEqual(e, want) {
		t.Errorf("created = %+v\nwant %+v", e, want)
	}
	got, err := s.GetTimeEntry(ctx, e.ID)
	must(t, "GetTimeEntry", err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetTimeEntry = %+v\nwant %+v", got, want)
	}

	// Stopping it.
	e.Running, e.Minutes, e.Note, e.Billable = false, 45, "Drucker neu eingerichtet", false
	must(t, "UpdateTimeEntry", s.UpdateTimeEntry(ctx, &e))
	got, err = s.GetTimeEntry(ctx, e.ID)
	must(t, "GetTimeEntry after update", err)
	want.Running, want.Minutes, want.Note, want.Billable = false, 45, "Drucker neu eingerichtet", false
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after update = %+v\nwant %+v", got, want)
	}

	unknown := core.TimeEntry{ID: 999999, ClientID: c, StartedAt: t0}
	wantErr(t, "UpdateTimeEntry unknown", s.UpdateTimeEntry(ctx, &unknown), core.ErrNotFound)
	wantErr(t, "DeleteTimeEntry unknown", s.DeleteTimeEntry(ctx, 999999), core.ErrNotFound)
	_, err = s.GetTimeEntry(ctx, 999999)
	wantErr(t, "GetTimeEntry unknown", err, core.ErrNotFound)
	wantErr(t, "CreateTimeEntry unknown client",
		s.CreateTimeEntry(ctx, &core.TimeEntry{ClientID: 999999, StartedAt: t0}), core.ErrNotFound)
	wantErr(t, "CreateTimeEntry unknown support request",
		s.CreateTimeEntry(ctx, &core.TimeEntry{ClientID: c, SupportID: 999999, StartedAt: t0}), core.ErrNotFound)

	e2 := timeEntry(t, s, c, t0.Add(2*time.Hour), 30)
	e3 := timeEntry(t, s, c, t0.Add(-24*time.Hour), 15)
	e4 := timeEntry(t, s, o, t0.Add(time.Hour), 60)

	for _, tc := range []struct {
		name string
		q    core.TimeQuery
		want []int64
	}{
		{"all", core.TimeQuery{}, []int64{e2.ID, e4.ID, e.ID, e3.ID}},
		{"client", core.TimeQuery{ClientID: c}, []int64{e2.ID, e.ID, e3.ID}},
		{"support request", core.TimeQuery{SupportID: req.ID}, []int64{e.ID}},
		{"from", core.TimeQuery{From: t0}, []int64{e2.ID, e4.ID, e.ID}},
		{"until excludes", core.TimeQuery{Until: t0.Add(time.Hour)}, []int64{e.ID, e3.ID}},
		{"from until", core.TimeQuery{From: t0, Until: t0.Add(2 * time.Hour)}, []int64{e4.ID, e.ID}},
		{"limit", core.TimeQuery{Limit: 2}, []int64{e2.ID, e4.ID}},
		{"scope", core.TimeQuery{Scope: core.Only(o)}, []int64{e4.ID}},
		{"scope of no client", core.TimeQuery{Scope: core.Only()}, []int64{}},
		{"after", core.TimeQuery{After: core.PageKey{At: t0.Add(time.Hour), ID: e4.ID}}, []int64{e.ID, e3.ID}},
		{"outage none", core.TimeQuery{OutageID: 12345}, []int64{}},
	} {
		list, err := s.ListTimeEntries(ctx, tc.q)
		must(t, "ListTimeEntries "+tc.name, err)
		if ids := entryIDs(list); !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("ListTimeEntries %s = %v, want %v", tc.name, ids, tc.want)
		}
		for _, l := range list {
			if l.ClientName == "" {
				t.Errorf("ListTimeEntries %s: entry %d without a client name", tc.name, l.ID)
			}
		}
	}

	// A billed entry is frozen; Unbilled leaves it out.
	run := runFor("2026-03-01", "2026-03-31", bill(c, e2.ID))
	must(t, "CreateBillingRun", s.CreateBillingRun(ctx, run))
	got, err = s.GetTimeEntry(ctx, e2.ID)
	must(t, "GetTimeEntry billed", err)
	if got.BilledRunID != run.ID {
		t.Errorf("billed entry = %+v, want billed by run %d", got, run.ID)
	}
	changed := got
	changed.Minutes = 90
	wantErr(t, "UpdateTimeEntry billed", s.UpdateTimeEntry(ctx, &changed), core.ErrConflict)
	wantErr(t, "DeleteTimeEntry billed", s.DeleteTimeEntry(ctx, e2.ID), core.ErrConflict)
	got, err = s.GetTimeEntry(ctx, e2.ID)
	must(t, "GetTimeEntry billed", err)
	if got.Minutes != 30 {
		t.Errorf("a refused update changed the entry: %+v", got)
	}
	list, err := s.ListTimeEntries(ctx, core.TimeQuery{ClientID: c, Unbilled: true})
	must(t, "ListTimeEntries unbilled", err)
	if ids := entryIDs(list); !reflect.DeepEqual(ids, []int64{e.ID, e3.ID}) {
		t.Errorf("ListTimeEntries unbilled = %v, want %v", ids, []int64{e.ID, e3.ID})
	}

	must(t, "DeleteTimeEntry", s.DeleteTimeEntry(ctx, e3.ID))
	wantErr(t, "DeleteTimeEntry again", s.DeleteTimeEntry(ctx, e3.ID), core.ErrNotFound)
}

// bill is a bill of a client with one time line per entry.
func bill(clientID int64, entries ...int64) core.Bill {
	b := core.Bill{ClientID: clientID, ClientName: "Müller GmbH", ContractID: 1, Plan: core.DefaultPlan,
		Period: core.PeriodMonthly, From: "2026-03-01", To: "2026-03-31", Days: 31, VATBasisPoints: 1900,
		Lines: []core.BillLine{{Kind: core.LineInstallations, Text: core.Text{EN: "Installations", DE: "Installationen"},
			Quantity: 62, Unit: "device-days", UnitCents: 12900, NetCents: 1843, VATCents: 350, GrossCents: 2193,
			Explain: core.Text{EN: "62 device-days × 129.00 € / 365", DE: "62 Gerätetage × 129,00 € / 365"}}},
		Devices: []core.BillDevice{{DeviceID: 7, Hostname: "pc1", Kind: core.KindAgent, Days: 31, Activation: true,
			Note: core.Text{EN: "new", DE: "neu"}}},
		NetCents: 1843, VATCents: 350, GrossCents: 2193}
	for _, e := range entries {
		b.Lines = append(b.Lines, core.BillLine{Kind: core.LineTime, Text: core.Text{EN: "Time", DE: "Zeiterfassung"},
			Quantity: 30, Unit: "minutes", UnitCents: 9500, NetCents: 3992, VATCents: 758, GrossCents: 4750,
			TimeEntryID: e})
	}
	return b
}

func runFor(from, to string, bills ...core.Bill) *core.BillingRun {
	r := &core.BillingRun{From: from, To: to, Bills: bills, CreatedBy: "anna"}
	for _, b := range bills {
		r.NetCents += b.NetCents
		r.VATCents += b.VATCents
		r.GrossCents += b.GrossCents
	}
	return r
}

func testBillingRuns(t *testing.T, s core.Store) {
	c := site(t, s, "Müller GmbH", "Zentrale").ClientID
	march := runFor("2026-03-01", "2026-03-31", bill(c))
	must(t, "CreateBillingRun", s.CreateBillingRun(ctx, march))
	if march.ID == 0 || march.CreatedAt.IsZero() || march.CorrectedBy != 0 {
		t.Fatalf("created run = %+v", march)
	}
	got, err := s.GetBillingRun(ctx, march.ID)
	must(t, "GetBillingRun", err)
	if !reflect.DeepEqual(got, *march) {
		t.Errorf("GetBillingRun =\n%+v\nwant\n%+v", got, *march)
	}
	_, err = s.GetBillingRun(ctx, 999999)
	wantErr(t, "GetBillingRun unknown", err, core.ErrNotFound)

	for _, p := range [][2]string{
		{"2026-03-01", "2026-03-31"}, // the same period
		{"2026-01-01", "2026-03-31"}, // a quarter ending in it
		{"2026-03-31", "2026-04-30"}, // sharing its last day
		{"2026-01-01", "2026-12-31"}, // a year around it
	} {
		wantErr(t, "CreateBillingRun "+p[0]+" – "+p[1], s.CreateBillingRun(ctx, runFor(p[0], p[1])), core.ErrConflict)
	}
	wantErr(t, "CreateBillingRun backwards", s.CreateBillingRun(ctx, runFor("2026-05-01", "2026-04-30")), core.ErrInvalid)
	wantErr(t, "CreateBillingRun without dates", s.CreateBillingRun(ctx, runFor("", "")), core.ErrInvalid)

	april := runFor("2026-04-01", "2026-04-30")
	must(t, "CreateBillingRun next month", s.CreateBillingRun(ctx, april))
	feb := runFor("2026-02-01", "2026-02-28", bill(c))
	must(t, "CreateBillingRun month before", s.CreateBillingRun(ctx, feb))
	got, err = s.GetBillingRun(ctx, april.ID)
	must(t, "GetBillingRun without bills", err)
	if got.Bills == nil || len(got.Bills) != 0 {
		t.Errorf("run without bills: Bills = %#v, want empty", got.Bills)
	}

	list, err := s.ListBillingRuns(ctx, 0)
	must(t, "ListBillingRuns", err)
	if len(list) != 3 || list[0].ID != feb.ID || list[1].ID != april.ID || list[2].ID != march.ID {
		t.Fatalf("ListBillingRuns = %+v", list)
	}
	for _, r := range list {
		if r.Bills != nil {
			t.Errorf("ListBillingRuns: run %d has bills", r.ID)
		}
	}
	wantList := *march
	wantList.Bills = nil
	if !reflect.DeepEqual(list[2], wantList) {
		t.Errorf("listed run = %+v\nwant %+v", list[2], wantList)
	}
	list, err = s.ListBillingRuns(ctx, 2)
	must(t, "ListBillingRuns limit", err)
	if len(list) != 2 || list[0].ID != feb.ID {
		t.Errorf("ListBillingRuns(2) = %+v", list)
	}
}

func testBillingRunCorrections(t *testing.T, s core.Store) {
	c := site(t, s, "Müller GmbH", "Zentrale").ClientID
	e1 := timeEntry(t, s, c, t0, 30)
	e2 := timeEntry(t, s, c, t0.Add(time.Hour), 60)
	e3 := timeEntry(t, s, c, t0.Add(2*time.Hour), 15)
	first := runFor("2026-03-01", "2026-03-31", bill(c, e1.ID, e2.ID))
	must(t, "CreateBillingRun", s.CreateBillingRun(ctx, first))

	// Unknown run to correct.
	bad := runFor("2026-03-01", "2026-03-31")
	bad.Corrects = 999999
	err := s.CreateBillingRun(ctx, bad)
	wantErr(t, "correcting an unknown run", err, core.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), "unknown") {
		t.Errorf("correcting an unknown run: %v, want it to say unknown", err)
	}

	// The correction bills e2 and e3: e1 is unbilled, e3 billed by it.
	fix := runFor("2026-03-01", "2026-03-31", bill(c, e2.ID, e3.ID))
	fix.Corrects = first.ID
	must(t, "CreateBillingRun correcting", s.CreateBillingRun(ctx, fix))
	if fix.Corrects != first.ID || fix.CorrectedBy != 0 {
		t.Errorf("correction = %+v", fix)
	}
	old, err := s.GetBillingRun(ctx, first.ID)
	must(t, "GetBillingRun corrected", err)
	if old.CorrectedBy != fix.ID || len(old.Bills) != 1 || len(old.Bills[0].Lines) != 3 {
		t.Errorf("corrected run = %+v, want corrected by %d with its bills unchanged", old, fix.ID)
	}
	for _, w := range []struct {
		id  int64
		run int64
	}{{e1.ID, 0}, {e2.ID, fix.ID}, {e3.ID, fix.ID}} {
		e, err := s.GetTimeEntry(ctx, w.id)
		must(t, "GetTimeEntry", err)
		if e.BilledRunID != w.run {
			t.Errorf("time entry %d billed by %d, want %d", w.id, e.BilledRunID, w.run)
		}
	}
	e1.Minutes = 35
	must(t, "UpdateTimeEntry unbilled again", s.UpdateTimeEntry(ctx, &e1))

	// Correcting the corrected run again is refused, naming its corrector.
	again := runFor("2026-03-01", "2026-03-31")
	again.Corrects = first.ID
	err = s.CreateBillingRun(ctx, again)
	wantErr(t, "correcting twice", err, core.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), "already corrected") {
		t.Errorf("correcting twice: %v, want it to say already corrected", err)
	}
	// A plain run over the period overlaps the correction.
	wantErr(t, "a run over a corrected period", s.CreateBillingRun(ctx, runFor("2026-03-01", "2026-03-31")), core.ErrConflict)

	// A correction of the correction works and moves the entries on.
	fix2 := runFor("2026-03-01", "2026-03-31", bill(c, e1.ID))
	fix2.Corrects = fix.ID
	must(t, "correcting the correction", s.CreateBillingRun(ctx, fix2))
	for _, w := range []struct {
		id  int64
		run int64
	}{{e1.ID, fix2.ID}, {e2.ID, 0}, {e3.ID, 0}} {
		e, err := s.GetTimeEntry(ctx, w.id)
		must(t, "GetTimeEntry", err)
		if e.BilledRunID != w.run {
			t.Errorf("after the second correction: time entry %d billed by %d, want %d", w.id, e.BilledRunID, w.run)
		}
	}

	// Two live runs overlapping a quarter: correcting one alone is refused.
	apr := runFor("2026-04-01", "2026-04-30")
	must(t, "April", s.CreateBillingRun(ctx, apr))
	quarter := runFor("2026-01-01", "2026-04-30")
	quarter.Corrects = apr.ID
	wantErr(t, "a correction overlapping another live run", s.CreateBillingRun(ctx, quarter), core.ErrConflict)
	a, err := s.GetBillingRun(ctx, apr.ID)
	must(t, "GetBillingRun April", err)
	if a.CorrectedBy != 0 {
		t.Errorf("a refused correction marked run %d corrected by %d", apr.ID, a.CorrectedBy)
	}
}

func testBillingRunTimeEntryConflicts(t *testing.T, s core.Store) {
	c := site(t, s, "Müller GmbH", "Zentrale").ClientID
	o := site(t, s, "Acme", "Zentrale").ClientID
	e1 := timeEntry(t, s, c, t0, 30)
	e2 := timeEntry(t, s, c, t0.Add(time.Hour), 30)
	eo := timeEntry(t, s, o, t0, 30)
	must(t, "CreateBillingRun", s.CreateBillingRun(ctx, runFor("2026-03-01", "2026-03-31", bill(c, e1.ID))))

	for _, tc := range []struct {
		name string
		r    *core.BillingRun
		want error
	}{
		{"entry billed by a live run", runFor("2026-04-01", "2026-04-30", bill(c, e2.ID, e1.ID)), core.ErrConflict},
		{"entry twice", runFor("2026-04-01", "2026-04-30", bill(c, e2.ID, e2.ID)), core.ErrConflict},
		{"entry of another client", runFor("2026-04-01", "2026-04-30", bill(c, eo.ID)), core.ErrConflict},
		{"unknown entry", runFor("2026-04-01", "2026-04-30", bill(c, 999999)), core.ErrNotFound},
	} {
		wantErr(t, tc.name, s.CreateBillingRun(ctx, tc.r), tc.want)
	}
	// Nothing of the refused runs is left: no run, e2 unbilled.
	runs, err := s.ListBillingRuns(ctx, 0)
	must(t, "ListBillingRuns", err)
	if len(runs) != 1 {
		t.Errorf("refused runs were stored: %+v", runs)
	}
	e, err := s.GetTimeEntry(ctx, e2.ID)
	must(t, "GetTimeEntry", err)
	if e.BilledRunID != 0 {
		t.Errorf("a refused run billed entry %d: %+v", e2.ID, e)
	}
}

// testBillingRunsConcurrent finalizes the same period from several
// goroutines at once, for several periods, and then corrects a run from
// several at once: exactly one writer wins each time.
func testBillingRunsConcurrent(t *testing.T, s core.Store) {
	c := site(t, s, "Müller GmbH", "Zentrale").ClientID
	e := timeEntry(t, s, c, t0, 30)
	const n = 8
	race := func(what string, mk func() *core.BillingRun) int64 {
		t.Helper()
		runs := make([]*core.BillingRun, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			runs[i] = mk()
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.CreateBillingRun(ctx, runs[i])
			}()
		}
		close(start)
		wg.Wait()
		var winners []int64
		for i, err := range errs {
			switch {
			case err == nil:
				winners = append(winners, runs[i].ID)
			case !errors.Is(err, core.ErrConflict):
				t.Errorf("%s: writer %d: %v, want ErrConflict", what, i, err)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%s: %d writers won (%v), want 1", what, len(winners), winners)
		}
		return winners[0]
	}
	for m := 1; m <= 12; m++ {
		from := time.Date(2025, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		to := from.AddDate(0, 1, -1)
		race("month "+from.Format("2006-01"), func() *core.BillingRun {
			return runFor(from.Format(time.DateOnly), to.Format(time.DateOnly))
		})
	}

	first := runFor("2026-03-01", "2026-03-31", bill(c))
	must(t, "CreateBillingRun", s.CreateBillingRun(ctx, first))
	won := race("correction", func() *core.BillingRun {
		r := runFor("2026-03-01", "2026-03-31", bill(c, e.ID))
		r.Corrects = first.ID
		return r
	})
	old, err := s.GetBillingRun(ctx, first.ID)
	must(t, "GetBillingRun", err)
	got, err := s.GetTimeEntry(ctx, e.ID)
	must(t, "GetTimeEntry", err)
	if old.CorrectedBy != won || got.BilledRunID != won {
		t.Errorf("corrected by %d, entry billed by %d; want the winner %d", old.CorrectedBy, got.BilledRunID, won)
	}
	runs, err := s.ListBillingRuns(ctx, 0)
	must(t, "ListBillingRuns", err)
	if len(runs) != 14 {
		t.Errorf("ListBillingRuns = %d runs, want 14", len(runs))
	}
}
