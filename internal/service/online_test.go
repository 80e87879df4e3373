package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestOnlineFollowsHeartbeat: a device heard from 10 s ago is online with
// the default heartbeat and offline with 2 s heartbeats, in the device
// list, ListDevicesFor and GetDevice alike.
func TestOnlineFollowsHeartbeat(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("s")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	d := core.Device{Hostname: "pc", OS: "windows", MachineID: "m", PublicKey: secret}
	if err := st.Enroll(ctx, secret, &d, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchDevice(ctx, d.ID, now.Add(-10*time.Second), ""); err != nil {
		t.Fatal(err)
	}
	admin := core.User{ID: 1, Role: core.RoleAdmin}
	for _, c := range []struct {
		name      string
		heartbeat time.Duration
		want      bool
	}{
		{"default heartbeat", 0, true},
		{"30 s heartbeats", 30 * time.Second, true},
		{"2 s heartbeats", 2 * time.Second, false},
	} {
		svc := service.New(service.Deps{Store: st, Heartbeat: c.heartbeat})
		svc.Now = func() time.Time { return now }
		p, err := svc.DeviceList(ctx, admin, core.DeviceListQuery{})
		if err != nil || len(p.Devices) != 1 || p.Devices[0].Online != c.want {
			t.Errorf("%s: DeviceList %+v, %v; want online %v", c.name, p.Devices, err, c.want)
		}
		ds, err := svc.ListDevicesFor(ctx, admin, service.DeviceFilter{})
		if err != nil || len(ds) != 1 || ds[0].Online != c.want {
			t.Errorf("%s: ListDevicesFor %+v, %v; want online %v", c.name, ds, err, c.want)
		}
		got, err := svc.GetDevice(auth.WithUser(ctx, admin), d.ID)
		if err != nil || got.Online != c.want {
			t.Errorf("%s: GetDevice online %v, %v; want %v", c.name, got.Online, err, c.want)
		}
	}
}
