package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestMonthlyReads(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			st := e.open(t)
			t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
			mk := func(name string) core.Client {
				c := core.Client{Name: name}
				if err := st.CreateClient(ctx, &c); err != nil {
					t.Fatal(err)
				}
				return c
			}
			enroll := func(c core.Client, host string) core.Device {
				s := core.Site{ClientID: c.ID, Name: "HQ " + host}
				if err := st.CreateSite(ctx, &s); err != nil {
					t.Fatal(err)
				}
				secret := []byte("s-" + host)
				if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, ClientID: c.ID, SiteID: s.ID}); err != nil {
					t.Fatal(err)
				}
				d := core.Device{Hostname: host, OS: "linux", MachineID: "m-" + host, PublicKey: []byte("k-" + host)}
				if err := st.Enroll(ctx, secret, &d, t0.AddDate(0, -1, 0)); err != nil {
					t.Fatal(err)
				}
				return d
			}
			a, b := mk("A"), mk("B")
			a1, a2, b1 := enroll(a, "a1"), enroll(a, "a2"), enroll(b, "b1")
			v := func(f float64) *float64 { return &f }
			res := func(id, check string, at time.Time, value *float64) core.Result {
				return core.Result{ID: id, Check: check, Status: core.StatusOK, Value: value, At: at}
			}
			save := func(d core.Device, rs ...core.Result) {
				if err := st.SaveResults(ctx, d.ID, rs); err != nil {
					t.Fatal(err)
				}
			}
			save(a1, res("1", "logins", t0.Add(time.Hour), v(4)), res("2", "logins", t0.Add(2*time.Hour), v(3)),
				res("3", "logins", t0.Add(-time.Hour), v(100)),  // before the window
				res("4", "logins", t0.AddDate(0, 1, 0), v(100)), // at its end: outside
				res("5", "cpu", t0.Add(time.Hour), v(50)),       // another check
				res("6", "logins", t0.Add(3*time.Hour), nil))    // no value
			save(a2, res("7", "logins", t0.Add(time.Hour), v(0)))
			save(b1, res("8", "logins", t0.Add(time.Hour), v(9))) // another client
			retired := t0.Add(10 * 24 * time.Hour)
			if err := st.RetireDevice(ctx, a2.ID, retired); err != nil {
				t.Fatal(err)
			}
			sums, err := st.SumClientCheckValues(ctx, a.ID, "logins", t0, t0.AddDate(0, 1, 0))
			if err != nil {
				t.Fatal(err)
			}
			if len(sums) != 2 || sums[a1.ID] != 7 || sums[a2.ID] != 0 {
				t.Errorf("sums %v, want a1 7 and retired a2 0", sums)
			}
			ret, err := st.DeviceRetirements(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(ret) != 1 || !ret[a2.ID].Equal(retired) {
				t.Errorf("retirements %v, want a2 at %s", ret, retired)
			}
			if ret, err := st.DeviceRetirements(ctx, b.ID); err != nil || len(ret) != 0 {
				t.Errorf("client B: %v, %v", ret, err)
			}
		})
	}
}
