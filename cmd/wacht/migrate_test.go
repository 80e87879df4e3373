package main

import (
	"strings"
	"testing"
)

// TestMigrateFlags: the target is required, and a folder without a SQLite
// database is named as such (the copy itself: internal/store/topostgres
// and test/e2e TestMigrateToPostgres).
func TestMigrateFlags(t *testing.T) {
	if _, _, err := runCLI(t, "migrate", "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--to") {
		t.Errorf("migrate without --to: %v", err)
	}
	_, _, err := runCLI(t, "migrate", "--data", t.TempDir(), "--to", "postgres://127.0.0.1:1/x")
	if err == nil || !strings.Contains(err.Error(), "wacht.db is missing") || !strings.Contains(err.Error(), "no data was written") {
		t.Errorf("migrate from an empty folder: %v", err)
	}
}
