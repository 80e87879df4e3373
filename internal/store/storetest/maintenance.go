package storetest

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// maintenanceTests are the conformance tests of core.MaintenanceStore.
var maintenanceTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Maintenance", testMaintenance},
	{"MaintenanceHeldOutages", testMaintenanceHeldOutages},
}

func testMaintenance(t *testing.T, s core.Store) {
	d1 := device(t, s, "mw1") // client "Client mw1", site "Site mw1"
	d1, err := s.GetDevice(ctx, d1.ID)
	must(t, "GetDevice", err)
	siteB := site(t, s, "Client mw1", "Site mw1b")
	token(t, s, siteB.ID, "secret-mw2", 0)
	d2 := core.Device{Hostname: "mw2", OS: "linux", MachineID: "mid-mw2", PublicKey: []byte("key-mw2")}
	must(t, "Enroll", s.Enroll(ctx, []byte("secret-mw2"), &d2, t0))
	other := device(t, s, "mw3")

	until := t0.Add(30 * 24 * time.Hour)
	end := t0.Add(2 * time.Hour)
	ws := []core.Maintenance{
		{Scope: core.LevelClient, TargetID: d1.ClientID, Title: "Patchday", Start: t0, Repeat: core.RepeatWeekly,
			Weekdays: []int{2, 4}, From: "22:00", To: "02:00", TimeZone: "Europe/Berlin", Until: &until, CreatedBy: "user:a@example.de"},
		{Scope: core.LevelSite, TargetID: d1.SiteID, Title: "Stromabschaltung", Start: t0.Add(time.Hour), End: &end},
		{Scope: core.LevelDevice, TargetID: d2.ID, Title: "Monatsende", Start: t0.Add(2 * time.Hour), Repeat: core.RepeatMonthly,
			MonthDay: 31, From: "00:00", To: "06:00"},
		{Scope: core.LevelDevice, TargetID: other.ID, Title: "Fremd", Start: t0.Add(3 * time.Hour), End: &end},
	}
	for i := range ws {
		must(t, "CreateMaintenance", s.CreateMaintenance(ctx, &ws[i]))
		if ws[i].ID == 0 || ws[i].CreatedAt.IsZero() {
			t.Fatalf("created %+v: no ID or time", ws[i])
		}
	}
	got, err := s.GetMaintenance(ctx, ws[0].ID)
	must(t, "GetMaintenance", err)
	want := ws[0]
	want.ClientID, want.TargetName = d1.ClientID, "Client mw1"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetMaintenance = %+v\nwant %+v", got, want)
	}
	if got, _ := s.GetMaintenance(ctx, ws[2].ID); got.TargetName != "mw2" || got.ClientID != d1.ClientID || got.MonthDay != 31 {
		t.Errorf("device window = %+v, want target mw2 of client %d", got, d1.ClientID)
	}

	ids := func(f core.MaintenanceFilter) []int64 {
		t.Helper()
		list, err := s.ListMaintenance(ctx, f)
		must(t, "ListMaintenance", err)
		var out []int64
		for _, m := range list {
			out = append(out, m.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name string
		f    core.MaintenanceFilter
		want []int64
	}{
		{"all", core.MaintenanceFilter{}, []int64{ws[0].ID, ws[1].ID, ws[2].ID, ws[3].ID}},
		{"client", core.MaintenanceFilter{ClientID: d1.ClientID}, []int64{ws[0].ID, ws[1].ID, ws[2].ID}},
		{"site of d1", core.MaintenanceFilter{SiteID: d1.SiteID}, []int64{ws[0].ID, ws[1].ID}},
		{"site of d2", core.MaintenanceFilter{SiteID: siteB.ID}, []int64{ws[0].ID, ws[2].ID}},
		{"device d1", core.MaintenanceFilter{DeviceID: d1.ID}, []int64{ws[0].ID, ws[1].ID}},
		{"device d2", core.MaintenanceFilter{DeviceID: d2.ID}, []int64{ws[0].ID, ws[2].ID}},
		{"other device", core.MaintenanceFilter{DeviceID: other.ID}, []int64{ws[3].ID}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ids = %v, want %v", tc.name, got, tc.want)
		}
	}

	upd := ws[1]
	upd.Title, upd.Scope, upd.TargetID = "Umzug", core.LevelDevice, d1.ID
	upd.CreatedBy = "someone else"
	must(t, "UpdateMaintenance", s.UpdateMaintenance(ctx, &upd))
	got, err = s.GetMaintenance(ctx, upd.ID)
	must(t, "GetMaintenance", err)
	if got.Title != "Umzug" || got.Scope != core.LevelDevice || got.TargetName != "mw1" || got.CreatedBy != ws[1].CreatedBy {
		t.Errorf("after update = %+v", got)
	}
	upd.ID = 999999
	wantErr(t, "UpdateMaintenance missing", s.UpdateMaintenance(ctx, &upd), core.ErrNotFound)
	must(t, "DeleteMaintenance", s.DeleteMaintenance(ctx, ws[1].ID))
	wantErr(t, "DeleteMaintenance again", s.DeleteMaintenance(ctx, ws[1].ID), core.ErrNotFound)
	_, err = s.GetMaintenance(ctx, ws[1].ID)
	wantErr(t, "GetMaintenance deleted", err, core.ErrNotFound)
}

func testMaintenanceHeldOutages(t *testing.T, s core.Store) {
	d := device(t, s, "held")
	must(t, "ApplyAlertChange", s.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{
		{Ref: "h1", DeviceID: d.ID, Kind: core.OutageOffline, Severity: core.OutageOffline, OpenedAt: t0, Held: true},
		{Ref: "h2", DeviceID: d.ID, Kind: core.OutageOffline, Severity: core.OutageOffline, OpenedAt: t0.Add(time.Second)},
	}}))
	must(t, "ApplyAlertChange", s.ApplyAlertChange(ctx, core.AlertChange{Held: []string{"h2"}}))
	os, err := s.ListOutages(ctx, core.OutageFilter{DeviceID: d.ID})
	must(t, "ListOutages", err)
	if len(os) != 2 || !os[0].Held || !os[1].Held || os[0].Notified {
		t.Fatalf("outages = %+v, want both held, not notified", os)
	}
}
