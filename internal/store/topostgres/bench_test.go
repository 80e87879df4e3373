package topostgres_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
	"github.com/wacht-rmm/wacht/internal/store/topostgres"
)

// benchResults is the history size of BenchmarkRun: two weeks of raw
// results (the default retention) of 30 devices with 10 checks a minute
// are six million; one million keeps the benchmark under a minute.
const benchResults = 1_000_000

// BenchmarkRun moves a SQLite database with benchResults results of one
// device's ten checks into PostgreSQL; it reports rows per second.
func BenchmarkRun(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		b.Fatal(err)
	}
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO devices (id, site_id, hostname, public_key, role, state, enrolled_at) VALUES (1, $1, 'pc-01', x'00', 'workstation', 'active', 0)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)
		 INSERT INTO checks (id, device_id, name, key) SELECT i, 1, 'check' || i, 'check' || i FROM n`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ` + strconv.Itoa(benchResults) + `)
		 INSERT INTO check_results (id, check_id, device_id, status, value, unit, message_en, message_de, at)
		 SELECT printf('%08d-0000-4000-8000-000000000000', i), i % 10 + 1, 1, 'ok', i * 0.5, '%', 'fine', 'gut', 1700000000000 + i * 1000 FROM n`,
	} {
		if _, err := st.SQL().ExecContext(ctx, q, site.ID); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	b.ResetTimer()
	for b.Loop() {
		url := storetest.PostgresURL(b)
		sum, err := topostgres.Run(ctx, dir, url)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sum.Rows)/sum.Took.Seconds(), "rows/s")
	}
}
