package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Software package definitions (migrations 0027, 0028 and 0029). The JSON columns hold
// core.Package's slices and maps; sealed is opaque here (the service seals
// the secret parameters).

const packageSelect = `SELECT id, COALESCE(builtin, ''), name, version, os, arch, kind, manager_id, install, uninstall, params,
	exit_codes, detection, require_authenticode, timeout_seconds, sha256, size, file_name, sealed,
	created_at, updated_at, updated_by, mac FROM packages `

func scanPackage(r rowScanner) (core.Package, error) {
	var p core.Package
	var install, uninstall, params, codes, detection string
	var authenticode int
	var cAt, uAt int64
	if err := r.Scan(&p.ID, &p.Builtin, &p.Name, &p.Version, &p.OS, &p.Arch, &p.Kind, &p.ManagerID, &install, &uninstall, &params,
		&codes, &detection, &authenticode, &p.TimeoutSeconds, &p.SHA256, &p.Size, &p.FileName, &p.Sealed,
		&cAt, &uAt, &p.UpdatedBy, &p.MAC); err != nil {
		return p, err
	}
	for _, c := range []struct {
		col string
		v   any
	}{{install, &p.Install}, {uninstall, &p.Uninstall}, {params, &p.Params}, {codes, &p.ExitCodes}, {detection, &p.Detection}} {
		if err := json.Unmarshal([]byte(c.col), c.v); err != nil {
			return p, fmt.Errorf("package %d: %w", p.ID, err)
		}
	}
	p.Install, p.Uninstall, p.Params = emptyIfNil(p.Install), emptyIfNil(p.Uninstall), emptyIfNil(p.Params)
	if p.ExitCodes == nil {
		p.ExitCodes = map[int]string{}
	}
	p.RequireAuthenticode = authenticode != 0
	p.CreatedAt, p.UpdatedAt = fromMS(cAt), fromMS(uAt)
	return p, nil
}

// packageArgs encodes p's definition columns in the order of the INSERT
// and UPDATE statements ($1 … $14).
func packageArgs(p *core.Package) ([]any, error) {
	args := []any{p.Name, p.Version, p.OS, p.Arch, p.Kind, p.ManagerID}
	for _, v := range []any{emptyIfNil(p.Install), emptyIfNil(p.Uninstall), emptyIfNil(p.Params), p.ExitCodes, p.Detection} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("store: encoding package: %w", err)
		}
		args = append(args, string(b))
	}
	authenticode := 0
	if p.RequireAuthenticode {
		authenticode = 1
	}
	return append(args, authenticode, p.TimeoutSeconds, nonNil(p.Sealed)), nil
}

// CreatePackage stores p without a file.
func (s *DB) CreatePackage(ctx context.Context, p *core.Package) error {
	args, err := packageArgs(p)
	if err != nil {
		return err
	}
	at := now()
	err = s.inTx(ctx, "creating package", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO packages (name, version, os, arch, kind, manager_id, install, uninstall, params, exit_codes,
				detection, require_authenticode, timeout_seconds, sealed, created_at, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) RETURNING id`,
			append(args, ms(at), p.UpdatedBy)...).Scan(&p.ID)
		if err != nil {
			return s.wrap("creating package", err)
		}
		return s.writePackageMAC(ctx, tx, p.ID)
	})
	if err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = at, at
	return nil
}

// writePackageMAC authenticates package id as it now stands in tx, so that
// a definition or file written by anyone but the server is deployed
// nowhere (scriptmac).
func (s *DB) writePackageMAC(ctx context.Context, tx *sql.Tx, id int64) error {
	op := fmt.Sprintf("authenticating package %d", id)
	p, err := scanPackage(tx.QueryRowContext(ctx, packageSelect+`WHERE id = $1`, id))
	if err != nil {
		return s.wrap(op, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE packages SET mac = $1 WHERE id = $2`, s.macs.Package(p), id)
	return s.wrap(op, err)
}

// UpdatePackage replaces p.ID's definition; its file stays.
func (s *DB) UpdatePackage(ctx context.Context, p *core.Package) error {
	op := fmt.Sprintf("updating package %d", p.ID)
	args, err := packageArgs(p)
	if err != nil {
		return err
	}
	at := now()
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE packages SET name = $1, version = $2, os = $3, arch = $4, kind = $5, manager_id = $6, install = $7,
				uninstall = $8, params = $9, exit_codes = $10, detection = $11, require_authenticode = $12,
				timeout_seconds = $13, sealed = $14, updated_at = $15, updated_by = $16
			WHERE id = $17`, append(args, ms(at), p.UpdatedBy, p.ID)...)
		if err := s.affectedOne(op, res, err); err != nil {
			return err
		}
		return s.writePackageMAC(ctx, tx, p.ID)
	})
	if err != nil {
		return err
	}
	p.UpdatedAt = at
	return nil
}

// SetPackageFile records the uploaded file of package id.
func (s *DB) SetPackageFile(ctx context.Context, id int64, sha256 string, size int64, name, by string) error {
	op := fmt.Sprintf("setting the file of package %d", id)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE packages SET sha256 = $1, size = $2, file_name = $3, updated_at = $4, updated_by = $5 WHERE id = $6`,
			sha256, size, name, ms(now()), by, id)
		if err := s.affectedOne(op, res, err); err != nil {
			return err
		}
		return s.writePackageMAC(ctx, tx, id)
	})
}

// GetPackage returns one package.
func (s *DB) GetPackage(ctx context.Context, id int64) (core.Package, error) {
	p, err := scanPackage(s.db.QueryRowContext(ctx, packageSelect+`WHERE id = $1`, id))
	return p, s.wrap(fmt.Sprintf("getting package %d", id), err)
}

// ListPackages returns every package by name, version and ID.
func (s *DB) ListPackages(ctx context.Context) ([]core.Package, error) {
	const op = "listing packages"
	rows, err := s.db.QueryContext(ctx, packageSelect+`ORDER BY name, version, id`)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.Package{}
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, p)
	}
	return out, s.wrap(op, rows.Err())
}

// DeletePackage removes a package.
func (s *DB) DeletePackage(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM packages WHERE id = $1`, id)
	return s.affectedOne(fmt.Sprintf("deleting package %d", id), res, err)
}

// PackageBlobInUse reports whether a package names the file sha256.
func (s *DB) PackageBlobInUse(ctx context.Context, sha256 string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM packages WHERE sha256 = $1`, sha256).Scan(&n)
	return n > 0, s.wrap("looking up a package file", err)
}

// EnsureBuiltinPackage creates or refreshes the catalog entry p.Builtin.
func (s *DB) EnsureBuiltinPackage(ctx context.Context, p *core.Package) error {
	if p.Builtin == "" {
		return fmt.Errorf("store: ensure built-in package: no key: %w", core.ErrInvalid)
	}
	op := "ensuring built-in package " + p.Builtin
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM packages WHERE name = $1 AND version = $2 AND os = $3
			AND arch = $4 AND (builtin IS NULL OR builtin <> $5)`, p.Name, p.Version, p.OS, p.Arch, p.Builtin).Scan(&taken); err != nil {
			return s.wrap(op, err)
		}
		if taken > 0 {
			p.Name += " (" + p.Builtin + ")"
		}
		args, err := packageArgs(p)
		if err != nil {
			return err
		}
		at := now()
		err = tx.QueryRowContext(ctx, `SELECT id FROM packages WHERE builtin = $1`, p.Builtin).Scan(&p.ID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = tx.QueryRowContext(ctx, `
				INSERT INTO packages (name, version, os, arch, kind, manager_id, install, uninstall, params, exit_codes,
					detection, require_authenticode, timeout_seconds, sealed, created_at, updated_at, updated_by, builtin)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17) RETURNING id`,
				append(args, ms(at), p.UpdatedBy, p.Builtin)...).Scan(&p.ID)
			if err != nil {
				return s.wrap(op, err)
			}
			return s.writePackageMAC(ctx, tx, p.ID)
		case err != nil:
			return s.wrap(op, err)
		}
		// Only a changed definition is written, so that updated_at says
		// when the code last changed it.
		_, err = tx.ExecContext(ctx, `
			UPDATE packages SET name = $1, version = $2, os = $3, arch = $4, kind = $5, manager_id = $6, install = $7,
				uninstall = $8, params = $9, exit_codes = $10, detection = $11, require_authenticode = $12,
				timeout_seconds = $13, sealed = $14, updated_at = $15, updated_by = $16
			WHERE id = $17 AND NOT (name = $1 AND version = $2 AND os = $3 AND arch = $4 AND kind = $5 AND manager_id = $6
				AND install = $7 AND uninstall = $8 AND params = $9 AND exit_codes = $10 AND detection = $11
				AND require_authenticode = $12 AND timeout_seconds = $13)`,
			append(args, ms(at), p.UpdatedBy, p.ID)...)
		if err != nil {
			return s.wrap(op, err)
		}
		// Also a catalog entry the migration seeded, which has no MAC yet.
		return s.writePackageMAC(ctx, tx, p.ID)
	})
}
