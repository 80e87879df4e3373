package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
)

// TestBackupCommands: backup needs --out, restore --in; a restore is
// audited in the restored database. internal/backup tests the archive.
func TestBackupCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, _, err := runCLI(t, "backup", "--data", data); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("backup without --out: %v", err)
	}
	if _, _, err := runCLI(t, "restore", "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "--in") {
		t.Fatalf("restore without --in: %v", err)
	}
	archive := filepath.Join(t.TempDir(), "wacht.tar.gz")
	out, _, err := runCLI(t, "backup", "--data", data, "--out", archive)
	if err != nil || !strings.Contains(out, "Backup written to "+archive) || !strings.Contains(out, "secret.key and action.key") {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	target := filepath.Join(t.TempDir(), "restored")
	out, _, err = runCLI(t, "restore", "--in", archive, "--data", target)
	if err != nil || !strings.Contains(out, "wacht serve --data "+target) {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	restored, err := store.Open(ctx, "", target)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	es, err := restored.ListAudit(ctx, 10)
	if err != nil || len(es) == 0 || es[0].Action != "backup.restore" || es[0].Actor != "cli" || es[0].Target != archive {
		t.Errorf("audit = %+v, %v; want backup.restore of %s by cli first", es, err, archive)
	}
}
