package api_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestDevicePresence checks that the one-device presence the device page
// uses says what the full listing says, for every state, and keeps scope.
func TestDevicePresence(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testDevicePresence(t, newFixtureOn(t, e.open)) })
	}
}

func testDevicePresence(t *testing.T, f *fixture) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Add(time.Minute).Truncate(time.Millisecond)
	svc := service.New(service.Deps{Store: f.st})
	svc.Now = func() time.Time { return now }
	site, err := f.st.GetSite(ctx, f.device.SiteID)
	must(err)
	seen := func(host string, ago time.Duration) core.Device {
		d := enroll(t, f.st, site, host, now)
		if ago >= 0 {
			must(f.st.TouchDevice(ctx, d.ID, now.Add(-ago), "0.1.0"))
		}
		return d
	}
	must(f.st.TouchDevice(ctx, f.device.ID, now, "0.1.0"))
	quiet := seen("quiet", 12*time.Minute) // past offline_after, before the alert delay
	gone := seen("gone", 2*time.Hour)
	bye := seen("bye", 5*time.Minute)
	must(f.st.SetGoodbye(ctx, bye.ID, "reboot", now.Add(-4*time.Minute)))
	down := seen("down", time.Hour)
	must(f.st.ApplyAlertChange(ctx, core.AlertChange{Presence: &core.Presence{DeviceID: down.ID, OutageRef: "off-down"}}))
	fresh := seen("fresh", -1) // never heard from
	retired := seen("retired", time.Minute)
	must(f.st.RetireDevice(ctx, retired.ID, now))
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	must(err)
	foreign := enroll(t, f.st, other, "foreign", now)
	must(f.st.TouchDevice(ctx, foreign.ID, now, "0.1.0"))

	admin := core.User{ID: 1, Role: core.RoleAdmin}
	listed, err := svc.ListPresence(ctx, admin)
	must(err)
	inList := map[int64]string{}
	for _, p := range listed {
		inList[p.DeviceID] = p.State
	}
	for _, c := range []struct {
		d    core.Device
		want string
	}{
		{f.device, alert.PresenceOnline},
		{quiet, alert.PresenceOffline},
		{gone, alert.PresenceAlerted},
		{bye, alert.PresenceRebooting},
		{down, alert.PresenceAlerted},
		{fresh, ""},
		{retired, ""},
		{foreign, alert.PresenceOnline},
	} {
		p, err := svc.DevicePresence(ctx, admin, c.d.ID)
		must(err)
		if p.State != c.want || p.State != inList[c.d.ID] || p.DeviceID != c.d.ID {
			t.Errorf("%s: DevicePresence = %q (device %d), want %q; ListPresence says %q", c.d.Hostname, p.State, p.DeviceID, c.want, inList[c.d.ID])
		}
	}

	scoped := core.User{ID: 2, Role: core.RoleTechnician, Scope: core.Only(f.device.ClientID)}
	if _, err := svc.DevicePresence(ctx, scoped, foreign.ID); err == nil {
		t.Error("a technician of another client sees the foreign device's presence")
	} else if st, _, _ := httperr.Status(err); st != 404 {
		t.Errorf("foreign device's presence: %v, want not found", err)
	}
	if p, err := svc.DevicePresence(ctx, scoped, f.device.ID); err != nil || p.State != alert.PresenceOnline {
		t.Errorf("own device's presence: %+v, %v", p, err)
	}
}

// BenchmarkDevicePresence compares the device page's presence (one device)
// with the full listing it used to filter, over BENCH_DEVICES (default
// 2,000) devices.
func BenchmarkDevicePresence(b *testing.B) {
	n := 2000
	if v, err := strconv.Atoi(os.Getenv("BENCH_DEVICES")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	st := storetest.NewSQLite(b)
	_, site, err := st.EnsureClientSite(ctx, "Acme", "HQ")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	seen := map[int64]time.Time{}
	var last core.Device
	for i := range n {
		last = enroll(b, st, site, "pc-"+strconv.Itoa(i), now)
		seen[last.ID] = now.Add(-time.Duration(i) * time.Minute)
	}
	if err := st.TouchDevices(ctx, seen); err != nil {
		b.Fatal(err)
	}
	svc := service.New(service.Deps{Store: st})
	admin := core.User{ID: 1, Role: core.RoleAdmin}
	b.Run("one", func(b *testing.B) {
		for b.Loop() {
			if p, err := svc.DevicePresence(ctx, admin, last.ID); err != nil || p.State == "" {
				b.Fatal(p, err)
			}
		}
	})
	b.Run("list", func(b *testing.B) {
		for b.Loop() {
			if ps, err := svc.ListPresence(ctx, admin); err != nil || len(ps) != n {
				b.Fatal(len(ps), err)
			}
		}
	})
}
