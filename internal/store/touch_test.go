package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestTouchDevices: several devices' last contact in one write; last_seen
// never moves backwards and unknown devices are skipped.
func TestTouchDevices(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			st := e.open(t)
			ctx := context.Background()
			_, site, err := st.EnsureClientSite(ctx, "Acme", "HQ")
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
			var ids []int64
			for _, m := range []string{"a", "b", "c"} {
				tok := core.EnrollmentToken{SecretHash: []byte(m), SiteID: site.ID, ClientID: site.ClientID}
				if err := st.CreateEnrollmentToken(ctx, &tok); err != nil {
					t.Fatal(err)
				}
				d := core.Device{Hostname: m, MachineID: m, PublicKey: []byte(m)}
				if err := st.Enroll(ctx, []byte(m), &d, t0); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, d.ID)
			}
			if err := st.TouchDevice(ctx, ids[1], t0.Add(time.Hour), ""); err != nil {
				t.Fatal(err)
			}
			if err := st.TouchDevices(ctx, nil); err != nil {
				t.Fatal(err)
			}
			err = st.TouchDevices(ctx, map[int64]time.Time{
				ids[0]: t0.Add(time.Minute), ids[1]: t0.Add(time.Minute), 999999: t0})
			if err != nil {
				t.Fatal(err)
			}
			want := []time.Time{t0.Add(time.Minute), t0.Add(time.Hour), {}}
			for i, id := range ids {
				d, err := st.GetDevice(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !d.LastSeen.Equal(want[i]) {
					t.Errorf("device %s: last_seen %v, want %v", d.Hostname, d.LastSeen, want[i])
				}
			}
		})
	}
}
