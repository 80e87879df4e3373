package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// benchProtection fills st with 1,000 devices, each with antivirus, two
// backups and six other checks, and measures the protection overview's one
// query.
func benchProtection(b *testing.B, st *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	_, site, err := st.EnsureClientSite(ctx, "Bench GmbH", "Zentrale")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: []byte("bench"), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		b.Fatal(err)
	}
	const devices = 1000
	v := 2.0
	for i := range devices {
		d := core.Device{Hostname: fmt.Sprintf("pc-%04d", i), OS: "windows", MachineID: fmt.Sprint("m", i), PublicKey: make([]byte, 32)}
		if err := st.Enroll(ctx, []byte("bench"), &d, now); err != nil {
			b.Fatal(err)
		}
		rs := []core.Result{
			{Check: "antivirus", Key: "antivirus", Unit: "d"},
			{Check: "backup", Key: "veeam", Unit: "h"},
			{Check: "backup", Key: "restic:nas", Unit: "h"},
			{Check: "cpu"}, {Check: "memory"}, {Check: "disk", Key: "C:"}, {Check: "disk", Key: "D:"}, {Check: "smart", Key: "0"}, {Check: "eventlog"},
		}
		for j := range rs {
			rs[j].ID, rs[j].Status, rs[j].At, rs[j].Value = fmt.Sprintf("%d-%d", i, j), core.StatusOK, now, &v
		}
		if err := st.SaveResults(ctx, d.ID, rs); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		cs, err := st.ListCheckStatesNamed(ctx, nil, "antivirus", "backup")
		if err != nil || len(cs) != 3*devices {
			b.Fatal(len(cs), err)
		}
	}
}

// BenchmarkCheckStatesNamed: the protection read over 1,000 devices on SQLite.
func BenchmarkCheckStatesNamed(b *testing.B) { benchProtection(b, storetest.NewSQLite(b)) }

// BenchmarkCheckStatesNamedPostgres is the same on PostgreSQL; skipped
// without WACHT_TEST_POSTGRES.
func BenchmarkCheckStatesNamedPostgres(b *testing.B) { benchProtection(b, storetest.NewPostgres(b)) }
