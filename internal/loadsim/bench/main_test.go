//go:build linux

package main

import (
	"database/sql"
	"os"
	"testing"
)

func TestAnalyzeWithoutAutovacuum(t *testing.T) {
	if os.Getenv("WACHT_TEST_POSTGRES") == "" {
		t.Skip("WACHT_TEST_POSTGRES is not set")
	}
	u, drop, err := pgSchema()
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE sample (x INT); INSERT INTO sample SELECT generate_series(1, 1000)`); err != nil {
		t.Fatal(err)
	}
	var on string
	if err := db.QueryRow(`SHOW autovacuum`).Scan(&on); err != nil {
		t.Fatal(err)
	}
	analyzed, err := analyzeWithoutAutovacuum(u)
	if err != nil {
		t.Fatal(err)
	}
	if analyzed != (on != "on") {
		t.Fatalf("analyzed = %v with autovacuum %s", analyzed, on)
	}
	if !analyzed {
		return // autovacuum keeps the statistics itself
	}
	// Never analyzed, reltuples is -1; ANALYZE counts the rows.
	var tuples float64
	if err := db.QueryRow(`SELECT reltuples FROM pg_class WHERE oid = 'sample'::regclass`).Scan(&tuples); err != nil {
		t.Fatal(err)
	}
	if tuples != 1000 {
		t.Fatalf("reltuples = %v after ANALYZE, want 1000", tuples)
	}
}
