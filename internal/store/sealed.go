package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
)

// Secrets at rest. The store seals every secret it keeps in clear-text
// columns with the key in <data>/secret.key (internal/seal) and opens them
// when reading, so a copy of the database alone reveals none of them:
//
//   - users.totp_secret (second factor),
//   - alert_recipients.secret (webhook HMAC key),
//   - outbox.payload (a webhook message carries its recipient's secret),
//   - cluster_messages.payload (commands relayed between server nodes),
//   - the settings in sealedSettings,
//   - oidc_providers.client_secret (single sign-on, oidc.go),
//   - the values of secret check parameters (core.SecretParams,
//     core.SecretListParams) in policies.checks and network_devices.checks:
//     each becomes a JSON string, seal.TextPrefix + …, of its raw JSON.
//
// Passwords, API tokens, sessions, enrollment secrets and recovery codes
// are stored as hashes instead; network devices' secrets are sealed by
// internal/netdev. A sealed value starts with seal.TextPrefix; values an
// older version wrote in clear are sealed by sealExisting at every start.

// sealedSettings are the settings whose whole value is secret: the alert
// settings (they hold the SMTP password, internal/alert) and the key that
// signs pending second-factor logins (internal/server/web).
var sealedSettings = map[string]bool{"alert_settings": true, "login_key": true}

// settingKeyCheck holds keyCheckText sealed with the database's key, so a
// node started with another secret.key refuses to start instead of
// sealing with a key the others cannot open.
const (
	settingKeyCheck = "secret_key_check"
	keyCheckText    = "wacht secret.key check"
)

// openBox loads <dataDir>/secret.key (creating it for a database that has
// no sealed secrets yet) and checks that it is the database's key.
func (s *DB) openBox(ctx context.Context, dataDir string) error {
	if dataDir == "" {
		return errors.New("store: no data directory for " + seal.KeyFile)
	}
	path := filepath.Join(dataDir, seal.KeyFile)
	var check string
	err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, settingKeyCheck).Scan(&check)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if s.box, err = seal.LoadKey(path); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if check, err = s.box.SealText(keyCheckText); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		// Another node may store its check first: then its key must be ours.
		if _, err := s.db.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
			settingKeyCheck, check); err != nil {
			return s.wrap("storing the secret key check", err)
		}
		if err := s.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, settingKeyCheck).Scan(&check); err != nil {
			return s.wrap("reading the secret key check", err)
		}
	case err != nil:
		return s.wrap("reading the secret key check", err)
	default:
		s.box, err = seal.ReadKey(path)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("store: %s is missing, but this database's secrets are sealed with it: copy it from a server node (every node needs the same file)", path)
		}
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
	}
	if got, err := s.box.OpenText(check); err != nil || got != keyCheckText {
		return fmt.Errorf("store: %s is not the key this database's secrets are sealed with: every server node needs the same file", path)
	}
	return nil
}

// sealText seals v for a column ("" stays "").
func (s *DB) sealText(v string) (string, error) {
	out, err := s.box.SealText(v)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// openText opens a sealed column value ("" stays "").
func (s *DB) openText(v string) (string, error) {
	out, err := s.box.OpenText(v)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return out, nil
}

// sealedColumns are the text columns that hold only sealed values, by
// table and key column (identifiers, never input).
var sealedColumns = []struct{ table, key, column string }{
	{"users", "id", "totp_secret"},
	{"alert_recipients", "id", "secret"},
	{"outbox", "id", "payload"},
	{"cluster_messages", "id", "payload"},
}

// sealBatch is how many clear values sealExisting seals per transaction.
const sealBatch = 500

// sealExisting seals the secrets an older version stored in clear. It is
// idempotent (sealed values carry seal.TextPrefix and are skipped) and safe
// with several nodes starting at once: each row is only replaced if it
// still holds the clear value that was read.
func (s *DB) sealExisting(ctx context.Context) error {
	for _, c := range sealedColumns {
		for {
			n, err := s.sealClear(ctx, c.table, c.key, c.column,
				`SELECT `+c.key+`, `+c.column+` FROM `+c.table+` WHERE `+c.column+` <> '' AND `+c.column+` NOT LIKE $1 ORDER BY `+c.key+` LIMIT $2`,
				seal.TextPrefix+"%", sealBatch)
			if err != nil {
				return err
			}
			if n < sealBatch {
				break
			}
		}
	}
	if err := s.sealPolicyChecks(ctx); err != nil {
		return err
	}
	for key := range sealedSettings {
		if _, err := s.sealClear(ctx, "settings", "key", "value",
			`SELECT key, value FROM settings WHERE key = $1 AND value <> '' AND value NOT LIKE $2`, key, seal.TextPrefix+"%"); err != nil {
			return err
		}
	}
	return nil
}

// sealClear seals, in one transaction, the values that query (returning key
// and value) selects; it returns how many it read.
func (s *DB) sealClear(ctx context.Context, table, key, column, query string, args ...any) (int, error) {
	op := "sealing " + table + "." + column
	n := 0
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return s.wrap(op, err)
		}
		type clear struct {
			key   any
			value string
		}
		var found []clear
		for rows.Next() {
			var c clear
			if err := rows.Scan(&c.key, &c.value); err != nil {
				rows.Close()
				return s.wrap(op, err)
			}
			found = append(found, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(op, err)
		}
		n = len(found)
		for _, c := range found {
			sealed, err := s.sealText(c.value)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = $1 WHERE `+key+` = $2 AND `+column+` = $3`,
				sealed, c.key, c.value); err != nil {
				return s.wrap(op, err)
			}
		}
		return nil
	})
	return n, err
}

// sealChecks returns cs with the values of secret parameters sealed; an
// entry without any keeps its params byte for byte (built-in policies are
// compared as stored). Params that are not a JSON object are left to
// validation.
func (s *DB) sealChecks(cs []core.PolicyCheck) ([]core.PolicyCheck, error) {
	out := make([]core.PolicyCheck, len(cs))
	for i, c := range cs {
		out[i] = c
		var m map[string]json.RawMessage
		if len(c.Params) == 0 || json.Unmarshal(c.Params, &m) != nil {
			continue
		}
		changed := false
		for k, v := range m {
			if !core.IsSecretParam(k) || emptyJSON(v) || sealedJSON(v) {
				continue
			}
			sealed, err := s.sealText(string(v))
			if err != nil {
				return nil, err
			}
			if m[k], err = json.Marshal(sealed); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
			changed = true
		}
		if changed {
			p, err := json.Marshal(m)
			if err != nil {
				return nil, fmt.Errorf("store: encoding check params: %w", err)
			}
			out[i].Params = p
		}
	}
	return out, nil
}

// decodeChecks parses stored check entries and opens their sealed secret
// parameters.
func (s *DB) decodeChecks(raw string) ([]core.PolicyCheck, error) {
	var stored []storedCheck
	if err := json.Unmarshal([]byte(raw), &stored); err != nil {
		return nil, fmt.Errorf("parsing checks: %w", err)
	}
	cs := make([]core.PolicyCheck, len(stored))
	for i, c := range stored {
		cs[i] = c.PolicyCheck
		cs[i].MAC = c.StoredMAC
	}
	for i, c := range cs {
		if !bytes.Contains(c.Params, []byte(seal.TextPrefix)) {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(c.Params, &m); err != nil {
			return nil, fmt.Errorf("parsing params of check %q: %w", c.Name, err)
		}
		for k, v := range m {
			var sealed string
			if !core.IsSecretParam(k) || json.Unmarshal(v, &sealed) != nil || !seal.IsSealed(sealed) {
				continue
			}
			clear, err := s.openText(sealed)
			if err != nil {
				return nil, fmt.Errorf("check %q, %s: %w", c.Name, k, err)
			}
			m[k] = json.RawMessage(clear)
		}
		p, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding params of check %q: %w", c.Name, err)
		}
		cs[i].Params = p
	}
	return cs, nil
}

// emptyJSON reports whether v is null, "", [] or {} (no secret to seal).
func emptyJSON(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "null", `""`, "[]", "{}":
		return true
	}
	return false
}

// sealedJSON reports whether v is a JSON string holding a sealed value.
func sealedJSON(v json.RawMessage) bool {
	var str string
	return json.Unmarshal(v, &str) == nil && seal.IsSealed(str)
}

// sealPolicyChecks seals the clear secret parameters in the check entries
// of policies and network devices (see sealExisting).
func (s *DB) sealPolicyChecks(ctx context.Context) error {
	for _, table := range []struct{ name, key string }{{"policies", "id"}, {"network_devices", "device_id"}} {
		op := "sealing " + table.name + ".checks"
		err := s.inTx(ctx, op, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT `+table.key+`, checks FROM `+table.name)
			if err != nil {
				return s.wrap(op, err)
			}
			type entry struct {
				key   int64
				clear string
			}
			var todo []entry
			for rows.Next() {
				var e entry
				if err := rows.Scan(&e.key, &e.clear); err != nil {
					rows.Close()
					return s.wrap(op, err)
				}
				todo = append(todo, e)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return s.wrap(op, err)
			}
			for _, e := range todo {
				var cs []core.PolicyCheck
				if json.Unmarshal([]byte(e.clear), &cs) != nil {
					continue // left as it is; reading it reports the error
				}
				sealed, err := s.sealChecks(cs)
				if err != nil {
					return err
				}
				if slices.EqualFunc(cs, sealed, func(a, b core.PolicyCheck) bool { return bytes.Equal(a.Params, b.Params) }) {
					continue
				}
				after, err := json.Marshal(sealed)
				if err != nil {
					return fmt.Errorf("store: %s: %w", op, err)
				}
				if _, err := tx.ExecContext(ctx, `UPDATE `+table.name+` SET checks = $1 WHERE `+table.key+` = $2 AND checks = $3`,
					string(after), e.key, e.clear); err != nil {
					return s.wrap(op, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
