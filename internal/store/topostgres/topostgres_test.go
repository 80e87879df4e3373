package topostgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
	"github.com/wacht-rmm/wacht/internal/store/topostgres"
)

// sqliteServer is a data folder with a SQLite database holding two clients,
// a user and audit entries, closed again as after `wacht serve` stopped.
func sqliteServer(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, c := range []string{"Müller GmbH", "Schulz KG"} {
		if _, _, err := st.EnsureClientSite(ctx, c, "Zentrale"); err != nil {
			t.Fatal(err)
		}
		if err := st.Audit(ctx, core.AuditEntry{Actor: "cli", Action: "client.create", Target: c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateUser(ctx, &core.User{Email: "admin@example.com", PasswordHash: "x", Role: core.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rows is the summary's row count of table, -1 if it was not copied.
func rows(sum topostgres.Summary, table string) int64 {
	if i := indexOf(sum, table); i >= 0 {
		return sum.Tables[i].Rows
	}
	return -1
}

// TestMigrate copies a database, continues its IDs and audit chain, and
// refuses to copy into the now filled target a second time.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	dir, url := sqliteServer(t), storetest.PostgresURL(t)
	sum, err := topostgres.Run(ctx, dir, url)
	if err != nil {
		t.Fatal(err)
	}
	if rows(sum, "clients") != 2 || rows(sum, "sites") != 2 || rows(sum, "users") != 1 || rows(sum, "audit_log") != 2 {
		t.Errorf("summary %+v", sum)
	}
	if rows(sum, "cluster_nodes") != -1 || rows(sum, "schema_migrations") != -1 {
		t.Errorf("engine-local tables copied: %+v", sum)
	}
	if indexOf(sum, "sites") < indexOf(sum, "clients") {
		t.Errorf("sites copied before clients: %+v", sum.Tables)
	}

	pg, err := store.Open(ctx, url, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	cs, err := pg.ListClients(ctx)
	if err != nil || len(cs) != 2 || cs[0].Name != "Müller GmbH" {
		t.Fatalf("clients after migrate: %+v, %v", cs, err)
	}
	// The identity goes on after the copied IDs.
	c := core.Client{Name: "Neue AG"}
	if err := pg.CreateClient(ctx, &c); err != nil || c.ID != 3 {
		t.Errorf("new client: ID %d, %v; want 3", c.ID, err)
	}
	// Two copied entries, the migration's own, and the new client's.
	if bad, n, err := pg.VerifyAudit(ctx); err != nil || bad != 0 || n < 3 {
		t.Errorf("audit verify: bad entry %d, %d checked, %v", bad, n, err)
	}
	es, _ := pg.ListAudit(ctx, 10)
	if !hasAction(es, "server.migrate") {
		t.Errorf("no server.migrate audit entry in %+v", es)
	}

	_, err = topostgres.Run(ctx, dir, url)
	if err == nil || !strings.Contains(err.Error(), "already holds data") {
		t.Errorf("second migrate: %v, want the target refused", err)
	}
}

func indexOf(sum topostgres.Summary, table string) int {
	for i, t := range sum.Tables {
		if t.Name == table {
			return i
		}
	}
	return -1
}

func hasAction(es []core.AuditEntry, action string) bool {
	for _, e := range es {
		if e.Action == action {
			return true
		}
	}
	return false
}

// TestMigrateFailureLeavesTargetEmpty: a row SQLite let in that PostgreSQL
// refuses (a site of a client that does not exist, written with foreign
// keys off) fails the copy after other tables went in; the target keeps no
// row of them, and a copy after the row is fixed succeeds.
func TestMigrateFailureLeavesTargetEmpty(t *testing.T) {
	ctx := context.Background()
	dir, url := sqliteServer(t), storetest.PostgresURL(t)
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := st.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO sites (client_id, name, created_at) VALUES (999, 'Verwaist', 0)`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	st.Close()

	_, err = topostgres.Run(ctx, dir, url)
	if err == nil || !strings.Contains(err.Error(), "sites") {
		t.Fatalf("migrate with an orphan site: %v, want an error naming sites", err)
	}
	pg, err := store.Open(ctx, url, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"clients", "sites", "users", "audit_log"} {
		var n int
		if err := pg.SQL().QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("target %s after the failed copy: %d rows, %v", table, n, err)
		}
	}
	pg.Close()

	st, err = store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SQL().ExecContext(ctx, `DELETE FROM sites WHERE client_id = 999`); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if _, err := topostgres.Run(ctx, dir, url); err != nil {
		t.Errorf("migrate after the fix: %v", err)
	}
}

// TestMigrateRefusesDatabaseInUse: while a process has the SQLite database
// open (a running server keeps its connections), nothing is copied.
func TestMigrateRefusesDatabaseInUse(t *testing.T) {
	ctx := context.Background()
	dir := sqliteServer(t)
	st, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.ListClients(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = topostgres.Run(ctx, dir, "postgres://127.0.0.1:1/never")
	if !errors.Is(err, topostgres.ErrInUse) {
		t.Errorf("migrate while the database is open: %v, want ErrInUse", err)
	}
}

// TestMigrateBadInput: a missing database or secret.key, an unreachable
// or wrong URL each give an error that says so.
func TestMigrateBadInput(t *testing.T) {
	ctx := context.Background()
	dir, noKey := sqliteServer(t), sqliteServer(t)
	if err := os.Remove(filepath.Join(noKey, "secret.key")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, url, want string }{
		{t.TempDir(), "postgres://127.0.0.1:1/x", "wacht.db is missing"},
		{dir, "mysql://127.0.0.1/x", "want a postgres://"},
		{noKey, "postgres://127.0.0.1:1/x", "secret.key"},
		// Port 1 on loopback: nothing listens there.
		{dir, "postgres://postgres@127.0.0.1:1/x?connect_timeout=5", "connecting to postgres"},
	} {
		if _, err := topostgres.Run(ctx, c.dir, c.url); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%s): %v, want %q", c.url, err, c.want)
		}
	}
}
