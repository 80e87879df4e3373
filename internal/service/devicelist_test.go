package service_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestDeviceList: the service resolves the active maintenance windows,
// hides the machine ID from readonly users and names refused fields.
func TestDeviceList(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	svc := service.New(service.Deps{Store: st})
	now := time.Now()
	var devs []core.Device
	for i, siteName := range []string{"Zentrale", "Zentrale", "Lager"} {
		_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", siteName)
		if err != nil {
			t.Fatal(err)
		}
		secret := []byte(fmt.Sprint("s", i))
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, SiteID: site.ID}); err != nil {
			t.Fatal(err)
		}
		d := core.Device{Hostname: fmt.Sprint("pc", i), OS: "windows", MachineID: fmt.Sprint("m", i), PublicKey: secret}
		if err := st.Enroll(ctx, secret, &d, now); err != nil {
			t.Fatal(err)
		}
		devs = append(devs, d)
	}
	end, ended := now.Add(time.Hour), now.Add(-time.Minute)
	for _, m := range []core.Maintenance{
		{Scope: core.LevelSite, TargetID: devs[0].SiteID, Title: "Umzug", Start: now.Add(-time.Hour), End: &end},
		{Scope: core.LevelDevice, TargetID: devs[2].ID, Title: "vorbei", Start: now.Add(-time.Hour), End: &ended},
	} {
		if err := st.CreateMaintenance(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}
	admin := core.User{ID: 1, Role: core.RoleAdmin}
	yes := true
	p, err := svc.DeviceList(ctx, admin, core.DeviceListQuery{Maintenance: &yes})
	if err != nil || p.Total != 2 || p.Devices[0].ID != devs[0].ID || p.Devices[1].ID != devs[1].ID ||
		!p.Devices[0].Maintenance || p.Devices[0].MachineID != "m0" {
		t.Errorf("in maintenance: %+v, %v; want pc0 and pc1 (their site's window), with machine IDs", p, err)
	}
	p, err = svc.DeviceList(ctx, core.User{ID: 2, Role: core.RoleReadOnly}, core.DeviceListQuery{})
	if err != nil || p.Total != 3 || p.Devices[2].Maintenance || p.Devices[0].MachineID != "" {
		t.Errorf("readonly: %+v, %v; want 3 devices without machine IDs, pc2's window over", p, err)
	}
	if _, err := svc.DeviceList(ctx, core.User{}, core.DeviceListQuery{}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("no user: %v, want ErrForbidden", err)
	}
	for _, tc := range []struct {
		field string
		q     core.DeviceListQuery
	}{
		{"sort", core.DeviceListQuery{Sort: "hostname"}},
		{"limit", core.DeviceListQuery{Limit: service.MaxDeviceListLimit + 1}},
		{"limit", core.DeviceListQuery{Limit: -1}},
		{"cursor", core.DeviceListQuery{Cursor: "eyJzIjoib3MiLCJpIjoxfQ"}}, // {"s":"os","i":1} with sort name
	} {
		_, err := svc.DeviceList(ctx, admin, tc.q)
		var ve *policy.ValidationError
		if !errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != tc.field || ve.Fields[0].Message.DE == "" {
			t.Errorf("%+v: %v; want a validation error naming %s", tc.q, err, tc.field)
		}
	}
}
