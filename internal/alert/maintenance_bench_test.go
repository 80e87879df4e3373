package alert

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// BenchmarkMaintenanceLookup compares the two ways the engine could learn
// whether a device is in maintenance for an evaluated batch, with 1,000
// windows over 20 clients, 100 sites and 200 devices: the engine's cache
// (all windows, reloaded every settingsTTL) against one query per batch.
//
//	go test ./internal/alert -run '^$' -bench MaintenanceLookup
func BenchmarkMaintenanceLookup(b *testing.B) {
	ctx := context.Background()
	st := storetest.NewSQLite(b)
	var devs []core.Device
	for i := range 200 {
		_, site, err := st.EnsureClientSite(ctx, fmt.Sprintf("Client %d", i%20), fmt.Sprintf("Site %d", i%100))
		if err != nil {
			b.Fatal(err)
		}
		secret := fmt.Sprintf("mb-%d", i)
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: []byte(secret), SiteID: site.ID}); err != nil {
			b.Fatal(err)
		}
		d := core.Device{Hostname: secret, MachineID: secret, PublicKey: []byte(secret)}
		if err := st.Enroll(ctx, []byte(secret), &d, t0); err != nil {
			b.Fatal(err)
		}
		if d, err = st.GetDevice(ctx, d.ID); err != nil {
			b.Fatal(err)
		}
		devs = append(devs, d)
	}
	for i := range 1000 {
		d := devs[i%len(devs)]
		m := core.Maintenance{Title: "w", Start: t0, Repeat: core.RepeatWeekly, Weekdays: []int{i % 7}, From: "22:00", To: "02:00"}
		switch i % 3 {
		case 0:
			m.Scope, m.TargetID = core.LevelClient, d.ClientID
		case 1:
			m.Scope, m.TargetID = core.LevelSite, d.SiteID
		default:
			m.Scope, m.TargetID = core.LevelDevice, d.ID
		}
		if err := st.CreateMaintenance(ctx, &m); err != nil {
			b.Fatal(err)
		}
	}
	at := t0.Add(13 * time.Hour)
	b.Run("cache", func(b *testing.B) {
		e := New(Options{Store: st})
		i := 0
		for b.Loop() {
			if _, err := e.InMaintenance(ctx, devs[i%len(devs)].ID, at); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("query", func(b *testing.B) {
		i := 0
		for b.Loop() {
			ws, err := st.ListMaintenance(ctx, core.MaintenanceFilter{DeviceID: devs[i%len(devs)].ID})
			if err != nil {
				b.Fatal(err)
			}
			activeAt(ws, at)
			i++
		}
	})
}
