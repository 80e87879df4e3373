package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestDeviceListMigration upgrades inventories stored before migration
// 0037 and checks that the device list finds their last user and addresses
// from the documents, also those without any.
func TestDeviceListMigration(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			old, url, dir := migratedBefore(t, dialect, "0037")
			for _, q := range []string{
				`INSERT INTO clients (id, name, created_at) VALUES (1, 'c', 0)`,
				`INSERT INTO sites (id, client_id, name, created_at) VALUES (1, 1, 's', 0)`,
				`INSERT INTO devices (id, site_id, hostname, public_key, role, state, enrolled_at) VALUES (1, 1, 'pc1', '', 'workstation', 'active', 0)`,
				`INSERT INTO devices (id, site_id, hostname, public_key, role, state, enrolled_at) VALUES (2, 1, 'pc2', '', 'workstation', 'active', 0)`,
				`INSERT INTO device_inventory (device_id, digest, received_at, doc) VALUES (1, 'a', 0,
					'{"hardware":{"nics":[{"name":"eth0","addresses":["10.0.0.5/24","FE80::5/64"]},{"name":"lo","addresses":null},{"name":"wlan0","addresses":["10.0.0.5/24"]}]},
					  "system":{"users":null,"logged_on":["","MUELLER\\Anna"]}}')`,
				`INSERT INTO device_inventory (device_id, digest, received_at, doc) VALUES (2, 'b', 0,
					'{"hardware":{"nics":null},"system":{"users":null,"logged_on":null}}')`,
			} {
				if _, err := old.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			old.Close()

			st, err := store.Open(ctx, url, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			p, err := st.QueryDevices(ctx, core.DeviceListQuery{Now: time.Now()})
			if err != nil || len(p.Devices) != 2 {
				t.Fatalf("after migration: %+v, %v", p, err)
			}
			one, two := p.Devices[0], p.Devices[1]
			ips := slices.Sorted(slices.Values(one.IPs))
			if one.User != `MUELLER\Anna` || !slices.Equal(ips, []string{"10.0.0.5", "fe80::5"}) || two.User != "" || len(two.IPs) != 0 {
				t.Errorf("backfilled: pc1 user %q ips %v; pc2 user %q ips %v", one.User, one.IPs, two.User, two.IPs)
			}
		})
	}
}
