package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

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
//   - the settings in sealedSettings.
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
