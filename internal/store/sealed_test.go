package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// The clear secrets the tests store; none may appear in a raw column.
const (
	totpClear    = "JBSWY3DPEHPK3PXPGEHEIM"
	hookClear    = "hook-geheimnis-4711"
	smtpClear    = "smtp-passwort-0815"
	loginKeyHex  = "6c6f67696e2d6b65792d6765686569"
	alertJSON    = `{"smtp":{"host":"mail.example.org","password":"` + smtpClear + `"}}`
	payloadClear = `{"subject":"down","secret":"` + hookClear + `"}`
	webClear     = "web-passwort-42"
	trapClear    = "trap-community-23"
	// policyChecks are a policy's entries with secret parameters, as an
	// older version stored them.
	policyChecks = `[{"name":"web","type":"website","params":{"url":"https://intranet.example","username":"u","password":"` + webClear + `"},"schedule":{"class":"24x7"}},` +
		`{"name":"trap","type":"snmptrap","params":{"communities":["` + trapClear + `"],"password":""},"schedule":{"class":"24x7"}},` +
		`{"name":"cpu","type":"cpu","params":{"warn":80},"schedule":{"class":"24x7"}}]`
)

// engineDB is a way to reach one empty database: its URL ("" for SQLite)
// and data folder, and the raw driver's name and DSN.
type engineDB struct{ url, dir, driver, dsn string }

func newEngineDB(t *testing.T, dialect string) engineDB {
	dir := t.TempDir()
	if dialect == store.Postgres {
		u := storetest.PostgresURL(t)
		return engineDB{url: u, dir: dir, driver: "pgx", dsn: u}
	}
	return engineDB{dir: dir, driver: "sqlite", dsn: filepath.Join(dir, "wacht.db")}
}

func (e engineDB) open(t *testing.T) *store.DB {
	t.Helper()
	s, err := store.Open(context.Background(), e.url, e.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawSecrets reads the columns that hold secrets as they are stored.
func rawSecrets(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for name, q := range map[string]string{
		"totp":      `SELECT totp_secret FROM users WHERE email = 'tech@example.org'`,
		"hook":      `SELECT secret FROM alert_recipients WHERE channel = 'webhook'`,
		"payload":   `SELECT payload FROM outbox WHERE dedupe_key = 'k1'`,
		"alert":     `SELECT value FROM settings WHERE key = 'alert_settings'`,
		"login_key": `SELECT value FROM settings WHERE key = 'login_key'`,
		"policy":    `SELECT checks FROM policies WHERE name = 'Intranet'`,
	} {
		var v string
		if err := db.QueryRowContext(ctx, q).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out[name] = v
	}
	return out
}

// checkSealed fails unless every raw secret is sealed and no clear secret
// appears anywhere in them.
func checkSealed(t *testing.T, raw map[string]string) {
	t.Helper()
	for name, v := range raw {
		if name == "policy" {
			if n := strings.Count(v, seal.TextPrefix); n != 2 {
				t.Errorf("policy checks hold %d sealed values, want 2: %s", n, v)
			}
		} else if !seal.IsSealed(v) {
			t.Errorf("%s stored unsealed: %q", name, v)
		}
		for _, clear := range []string{totpClear, hookClear, smtpClear, loginKeyHex, webClear, trapClear} {
			if strings.Contains(v, clear) {
				t.Errorf("%s holds the clear secret %q", name, clear)
			}
		}
	}
}

// checkReadBack fails unless the store gives every secret back in clear.
func checkReadBack(t *testing.T, s *store.DB, userID int64) {
	t.Helper()
	ctx := context.Background()
	if sec, on, _, err := s.GetTOTP(ctx, userID); err != nil || sec != totpClear || !on {
		t.Errorf("GetTOTP = %q %v %v", sec, on, err)
	}
	rs, err := s.ListRecipients(ctx)
	if err != nil || len(rs) == 0 || rs[0].Channel != core.ChannelWebhook || rs[0].Secret != hookClear {
		t.Errorf("ListRecipients = %+v, %v", rs, err)
	}
	items, err := s.ListOutbox(ctx, 10)
	if err != nil || len(items) != 1 || string(items[0].Payload) != payloadClear {
		t.Errorf("ListOutbox = %+v, %v", items, err)
	}
	if v, err := s.GetSetting(ctx, "alert_settings"); err != nil || v != alertJSON {
		t.Errorf("alert_settings = %q, %v", v, err)
	}
	if v, err := s.GetSetting(ctx, "login_key"); err != nil || v != loginKeyHex {
		t.Errorf("login_key = %q, %v", v, err)
	}
	ps, err := s.ListPolicies(ctx)
	var got []core.PolicyCheck
	for _, p := range ps {
		if p.Name == "Intranet" {
			got = p.Checks
		}
	}
	var want []core.PolicyCheck
	if err := json.Unmarshal([]byte(policyChecks), &want); err != nil {
		t.Fatal(err)
	}
	if err != nil || len(got) != len(want) {
		t.Fatalf("policy checks %+v, %v", got, err)
	}
	for i := range want {
		var g, w map[string]any
		json.Unmarshal(got[i].Params, &g)
		json.Unmarshal(want[i].Params, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("check %s params %s, want %s", want[i].Name, got[i].Params, want[i].Params)
		}
	}
}

// TestSecretsSealedAtRest writes every kind of secret through the store:
// the raw columns hold none of them, reading gives each back.
func TestSecretsSealedAtRest(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			s := newEngineDB(t, dialect).open(t)
			u := core.User{Email: "tech@example.org", PasswordHash: "x", Role: core.RoleTechnician}
			if err := s.CreateUser(ctx, &u); err != nil {
				t.Fatal(err)
			}
			if err := s.SetTOTP(ctx, u.ID, totpClear, true); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateRecipient(ctx, &core.Recipient{Level: "global", Channel: core.ChannelWebhook,
				Target: "https://hooks.example.org/x", Lang: "de", Hours: "always", Secret: hookClear}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.QueueReport(ctx, &core.ReportRun{Kind: "digest", Day: "2026-12-05", QueuedAt: time.Now()},
				[]core.OutboxItem{{DedupeKey: "k1", Channel: core.ChannelWebhook, Target: "https://hooks.example.org/x",
					Payload: []byte(payloadClear)}}); err != nil {
				t.Fatal(err)
			}
			for k, v := range map[string]string{"alert_settings": alertJSON, "login_key": loginKeyHex} {
				if err := s.SetSetting(ctx, k, v); err != nil {
					t.Fatal(err)
				}
			}
			p := core.Policy{Name: "Intranet"}
			if err := json.Unmarshal([]byte(policyChecks), &p.Checks); err != nil {
				t.Fatal(err)
			}
			if err := s.CreatePolicy(ctx, &p); err != nil {
				t.Fatal(err)
			}
			// Saving again what was read seals anew, never twice.
			again, err := s.GetPolicy(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.UpdatePolicy(ctx, &again); err != nil {
				t.Fatal(err)
			}
			checkSealed(t, rawSecrets(t, s.SQL()))
			checkReadBack(t, s, u.ID)
			// Other settings stay readable as they are.
			if err := s.SetSetting(ctx, "server_url", "https://wacht.example"); err != nil {
				t.Fatal(err)
			}
			var v string
			if err := s.SQL().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'server_url'`).Scan(&v); err != nil || v != "https://wacht.example" {
				t.Errorf("server_url stored as %q, %v", v, err)
			}
		})
	}
}

// TestClearSecretsSealedAtStart populates a database the way the version
// before sealing did (clear secrets) and opens it: every secret is sealed
// and reads back; opening again changes nothing.
func TestClearSecretsSealedAtStart(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			e := newEngineDB(t, dialect)
			old, err := sql.Open(e.driver, e.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.MigrateBefore(ctx, old, dialect, "9999"); err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO users (id, email, password_hash, role, created_at, totp_secret, totp_enabled) VALUES (7, 'tech@example.org', 'x', 'technician', 0, $1, 1)`, []any{totpClear}},
				{`INSERT INTO users (id, email, password_hash, role, created_at) VALUES (8, 'no2fa@example.org', 'x', 'technician', 0)`, nil},
				{`INSERT INTO alert_recipients (level, channel, target, secret, created_at) VALUES ('global', 'webhook', 'https://hooks.example.org/x', $1, 0)`, []any{hookClear}},
				{`INSERT INTO alert_recipients (level, channel, target, created_at) VALUES ('global', 'email', 'a@example.org', 0)`, nil},
				{`INSERT INTO outbox (dedupe_key, channel, target, payload, next_attempt_at, created_at) VALUES ('k1', 'webhook', 'https://hooks.example.org/x', $1, 0, 0)`, []any{payloadClear}},
				{`INSERT INTO settings (key, value) VALUES ('alert_settings', $1), ('login_key', $2), ('server_url', 'https://wacht.example')`, []any{alertJSON, loginKeyHex}},
				{`INSERT INTO policies (name, checks, created_at, updated_at) VALUES ('Intranet', $1, 0, 0)`, []any{policyChecks}},
			} {
				if _, err := old.ExecContext(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			old.Close()

			s := e.open(t)
			first := rawSecrets(t, s.SQL())
			checkSealed(t, first)
			checkReadBack(t, s, 7)
			var empty, url string
			if err := s.SQL().QueryRowContext(ctx, `SELECT totp_secret FROM users WHERE id = 8`).Scan(&empty); err != nil || empty != "" {
				t.Errorf("empty TOTP secret became %q, %v", empty, err)
			}
			if err := s.SQL().QueryRowContext(ctx, `SELECT value FROM settings WHERE key = 'server_url'`).Scan(&url); err != nil || url != "https://wacht.example" {
				t.Errorf("server_url became %q, %v", url, err)
			}
			s.Close()

			again := e.open(t)
			if second := rawSecrets(t, again.SQL()); !mapsEqual(first, second) {
				t.Errorf("second start sealed again:\n%v\n%v", first, second)
			}
			checkReadBack(t, again, 7)
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestOpenRefusesAnotherKey: a node with another or no secret.key refuses
// the database instead of sealing with a key the others cannot open.
func TestOpenRefusesAnotherKey(t *testing.T) {
	for _, dialect := range []string{store.SQLite, store.Postgres} {
		t.Run(dialect, func(t *testing.T) {
			e := newEngineDB(t, dialect)
			e.open(t).Close()
			key := filepath.Join(e.dir, seal.KeyFile)
			if err := os.Remove(key); err != nil {
				t.Fatal(err)
			}
			_, err := store.Open(context.Background(), e.url, e.dir)
			if err == nil || !strings.Contains(err.Error(), "is missing") {
				t.Fatalf("Open without the key: %v", err)
			}
			if _, err := os.Stat(key); err == nil {
				t.Error("Open created a new key for a database sealed with another")
			}
			if err := os.WriteFile(key, []byte(strings.Repeat("k", 32)), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = store.Open(context.Background(), e.url, e.dir)
			if err == nil || !strings.Contains(err.Error(), "not the key") {
				t.Fatalf("Open with another key: %v", err)
			}
		})
	}
}

// TestDatabaseFilesPrivate: SQLite's files are created 0600 in a 0700
// folder, and looser modes left by an older version are tightened at start.
func TestDatabaseFilesPrivate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	files := []string{"wacht.db", "wacht.db-wal", "wacht.db-shm"}
	check := func(when string) {
		t.Helper()
		if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: data folder %v, %v; want 0700", when, fi.Mode().Perm(), err)
		}
		for _, f := range files {
			fi, err := os.Stat(filepath.Join(dir, f))
			if err != nil {
				t.Errorf("%s: %v", when, err)
				continue
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %s has mode %v, want 0600", when, f, fi.Mode().Perm())
			}
		}
	}
	s, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetSetting(ctx, "server_url", "https://wacht.example"); err != nil { // writes the WAL
		t.Fatal(err)
	}
	check("new database")

	// An older version's files: world-readable, while the server runs.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := os.Chmod(filepath.Join(dir, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	check("existing database")
	other.Close()
	s.Close()
}
