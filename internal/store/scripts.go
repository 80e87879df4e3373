package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The script library: scripts holds identity, name and the current
// version; script_versions holds each version's content, never changed
// once written.

const scriptSelect = `SELECT s.id, s.name, COALESCE(s.builtin, ''), v.version, v.description_en, v.description_de,
	v.language, v.body, v.params, v.timeout_seconds, v.run_as, v.os, v.signature, v.created_by, v.created_at,
	s.created_at, s.deleted_at IS NOT NULL, v.mac
	FROM scripts s JOIN script_versions v ON v.script_id = s.id `

func scanScript(r rowScanner) (core.Script, error) {
	var sc core.Script
	var params, oses string
	var vAt, cAt int64
	if err := r.Scan(&sc.ID, &sc.Name, &sc.Builtin, &sc.Version, &sc.Description.EN, &sc.Description.DE,
		&sc.Language, &sc.Body, &params, &sc.TimeoutSeconds, &sc.RunAs, &oses, &sc.Signature, &sc.UpdatedBy, &vAt,
		&cAt, &sc.Deleted, &sc.MAC); err != nil {
		return sc, err
	}
	if err := json.Unmarshal([]byte(params), &sc.Params); err != nil {
		return sc, fmt.Errorf("script %d: parameters: %w", sc.ID, err)
	}
	if err := json.Unmarshal([]byte(oses), &sc.OS); err != nil {
		return sc, fmt.Errorf("script %d: operating systems: %w", sc.ID, err)
	}
	if sc.Params == nil {
		sc.Params = []core.ScriptParam{}
	}
	if sc.OS == nil {
		sc.OS = []string{}
	}
	sc.CreatedAt, sc.UpdatedAt = fromMS(cAt), fromMS(vAt)
	return sc, nil
}

// insertVersion writes s's content as version s.Version of script s.ID,
// with the server's MAC over it (scriptmac): this is the one place that
// writes a version, after the service validated it.
func (s *DB) insertVersion(ctx context.Context, tx *sql.Tx, sc *core.Script, at int64) error {
	params, err := json.Marshal(emptyIfNil(sc.Params))
	if err != nil {
		return fmt.Errorf("store: encoding script parameters: %w", err)
	}
	oses, err := json.Marshal(emptyIfNil(sc.OS))
	if err != nil {
		return fmt.Errorf("store: encoding script operating systems: %w", err)
	}
	sc.MAC = s.macs.Version(*sc)
	_, err = tx.ExecContext(ctx, `
		INSERT INTO script_versions (script_id, version, description_en, description_de, language, body, params,
			timeout_seconds, run_as, os, signature, created_by, created_at, mac)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		sc.ID, sc.Version, sc.Description.EN, sc.Description.DE, sc.Language, sc.Body, string(params),
		sc.TimeoutSeconds, sc.RunAs, string(oses), sc.Signature, sc.UpdatedBy, at, sc.MAC)
	return s.wrap("storing script version", err)
}

func emptyIfNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

// CreateScript stores sc as version 1.
func (s *DB) CreateScript(ctx context.Context, sc *core.Script) error {
	at := now()
	err := s.inTx(ctx, "creating script", func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO scripts (name, builtin, version, created_at, updated_at) VALUES ($1, $2, 1, $3, $3) RETURNING id`,
			sc.Name, nullIfEmpty(sc.Builtin), ms(at)).Scan(&sc.ID); err != nil {
			return s.wrap("creating script", err)
		}
		sc.Version = 1
		return s.insertVersion(ctx, tx, sc, ms(at))
	})
	if err != nil {
		return err
	}
	sc.CreatedAt, sc.UpdatedAt = at, at
	return nil
}

// UpdateScript stores sc as the next version of script sc.ID.
func (s *DB) UpdateScript(ctx context.Context, sc *core.Script) error {
	op := fmt.Sprintf("updating script %d", sc.ID)
	at := now()
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		// The UPDATE takes the row's lock first, so that two edits get
		// two versions, not one number twice.
		err := tx.QueryRowContext(ctx, `
			UPDATE scripts SET name = $1, version = version + 1, updated_at = $2
			WHERE id = $3 AND deleted_at IS NULL RETURNING version`,
			sc.Name, ms(at), sc.ID).Scan(&sc.Version)
		if err != nil {
			return s.wrap(op, err)
		}
		if err := s.insertVersion(ctx, tx, sc, ms(at)); err != nil {
			return err
		}
		sc.UpdatedAt = at
		return nil
	})
}

// GetScript returns a script's current version.
func (s *DB) GetScript(ctx context.Context, id int64) (core.Script, error) {
	sc, err := scanScript(s.db.QueryRowContext(ctx, scriptSelect+`WHERE s.id = $1 AND v.version = s.version AND s.deleted_at IS NULL`, id))
	return sc, s.wrap(fmt.Sprintf("getting script %d", id), err)
}

// GetScriptVersion returns one version of a script, deleted or not.
func (s *DB) GetScriptVersion(ctx context.Context, id int64, version int) (core.Script, error) {
	sc, err := scanScript(s.db.QueryRowContext(ctx, scriptSelect+`WHERE s.id = $1 AND v.version = $2`, id, version))
	return sc, s.wrap(fmt.Sprintf("getting version %d of script %d", version, id), err)
}

// ListScripts returns the current scripts, built-in ones first.
func (s *DB) ListScripts(ctx context.Context) ([]core.Script, error) {
	const op = "listing scripts"
	rows, err := s.db.QueryContext(ctx, scriptSelect+`WHERE v.version = s.version AND s.deleted_at IS NULL
		ORDER BY CASE WHEN s.builtin IS NULL THEN 1 ELSE 0 END, s.name, s.id`)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.Script{}
	for rows.Next() {
		sc, err := scanScript(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, sc)
	}
	return out, s.wrap(op, rows.Err())
}

// ListScriptVersions returns a script's versions, newest first.
func (s *DB) ListScriptVersions(ctx context.Context, id int64) ([]core.ScriptVersion, error) {
	op := fmt.Sprintf("listing versions of script %d", id)
	rows, err := s.db.QueryContext(ctx, `SELECT version, created_by, created_at FROM script_versions
		WHERE script_id = $1 ORDER BY version DESC`, id)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.ScriptVersion
	for rows.Next() {
		var v core.ScriptVersion
		var at int64
		if err := rows.Scan(&v.Version, &v.CreatedBy, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		v.CreatedAt = fromMS(at)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("store: %s: %w", op, core.ErrNotFound)
	}
	return out, nil
}

// DeleteScript marks a script deleted.
func (s *DB) DeleteScript(ctx context.Context, id int64) error {
	op := fmt.Sprintf("deleting script %d", id)
	res, err := s.db.ExecContext(ctx, `UPDATE scripts SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL`, ms(now()), id)
	if err != nil {
		return s.wrap(op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap(op, err)
	} else if n == 0 {
		return fmt.Errorf("store: %s: %w", op, core.ErrNotFound)
	}
	return nil
}

// EnsureBuiltinScript creates or refreshes a built-in script. A user
// script that took its name keeps it; the built-in one then gets its key
// in parentheses.
func (s *DB) EnsureBuiltinScript(ctx context.Context, sc *core.Script) error {
	if sc.Builtin == "" {
		return fmt.Errorf("store: ensure built-in script: no key: %w", core.ErrInvalid)
	}
	op := "ensuring built-in script " + sc.Builtin
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM scripts WHERE name = $1 AND deleted_at IS NULL
			AND (builtin IS NULL OR builtin <> $2)`, sc.Name, sc.Builtin).Scan(&taken); err != nil {
			return s.wrap(op, err)
		}
		if taken > 0 {
			sc.Name += " (" + sc.Builtin + ")"
		}
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM scripts WHERE builtin = $1`, sc.Builtin).Scan(&id)
		at := ms(now())
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := tx.QueryRowContext(ctx, `
				INSERT INTO scripts (name, builtin, version, created_at, updated_at) VALUES ($1, $2, 1, $3, $3) RETURNING id`,
				sc.Name, sc.Builtin, at).Scan(&sc.ID); err != nil {
				return s.wrap(op, err)
			}
			sc.Version = 1
			return s.insertVersion(ctx, tx, sc, at)
		case err != nil:
			return s.wrap(op, err)
		}
		cur, err := scanScript(tx.QueryRowContext(ctx, scriptSelect+`WHERE s.id = $1 AND v.version = s.version`, id))
		if err != nil {
			return s.wrap(op, err)
		}
		sc.ID, sc.Version = id, cur.Version
		if sameScript(cur, *sc) {
			if s.macs.VersionOK(cur) {
				return nil
			}
			// A built-in version stored before MACs, or altered in the
			// database: its content is the code's, so it gets the MAC.
			sc.MAC = s.macs.Version(*sc)
			_, err := tx.ExecContext(ctx, `UPDATE script_versions SET mac = $1 WHERE script_id = $2 AND version = $3`,
				sc.MAC, id, cur.Version)
			return s.wrap(op, err)
		}
		if err := tx.QueryRowContext(ctx, `UPDATE scripts SET name = $1, version = version + 1, updated_at = $2, deleted_at = NULL
			WHERE id = $3 RETURNING version`, sc.Name, at, id).Scan(&sc.Version); err != nil {
			return s.wrap(op, err)
		}
		return s.insertVersion(ctx, tx, sc, at)
	})
}

// sameScript compares the content a version stores.
func sameScript(a, b core.Script) bool {
	pa, _ := json.Marshal(emptyIfNil(a.Params))
	pb, _ := json.Marshal(emptyIfNil(b.Params))
	return a.Name == b.Name && a.Description == b.Description && a.Language == b.Language && a.Body == b.Body &&
		string(pa) == string(pb) && a.TimeoutSeconds == b.TimeoutSeconds && a.RunAs == b.RunAs &&
		slices.Equal(a.OS, b.OS) && a.Signature == b.Signature
}
