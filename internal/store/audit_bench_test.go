package store_test

import (
	"context"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// BenchmarkAuditAppend measures one chained audit append (read the last
// hash, insert) on SQLite.
func BenchmarkAuditAppend(b *testing.B) {
	st := storetest.NewSQLite(b)
	ctx := context.Background()
	e := core.AuditEntry{Actor: "user:anna@example.com", Remote: "192.0.2.1:1234", Action: "device.run-checks", Target: "device:1", Detail: "ok"}
	for b.Loop() {
		if err := st.Audit(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAudit measures walking a chain of 10,000 entries.
func BenchmarkVerifyAudit(b *testing.B) {
	st := storetest.NewSQLite(b)
	ctx := context.Background()
	e := core.AuditEntry{Actor: "user:anna@example.com", Remote: "192.0.2.1:1234", Action: "device.run-checks", Target: "device:1", Detail: "ok"}
	for range 10000 {
		if err := st.Audit(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if bad, n, err := st.VerifyAudit(ctx); err != nil || bad != 0 || n != 10000 {
			b.Fatal(bad, n, err)
		}
	}
}

// BenchmarkAuditAppendPostgres is BenchmarkAuditAppend on PostgreSQL
// (advisory lock per append); skipped without WACHT_TEST_POSTGRES.
func BenchmarkAuditAppendPostgres(b *testing.B) {
	st := storetest.NewPostgres(b)
	ctx := context.Background()
	e := core.AuditEntry{Actor: "user:anna@example.com", Remote: "192.0.2.1:1234", Action: "device.run-checks", Target: "device:1", Detail: "ok"}
	for b.Loop() {
		if err := st.Audit(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}
