package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// CreateEnrollmentToken stores t (its SecretHash, SiteID, Label,
// CreatedBy, ExpiresAt, MaxUses) and sets ID, CreatedAt (now unless set), ClientID, ClientName and
// SiteName from the site. A ClientID that does not own the site is
// ErrInvalid; an unknown site ErrNotFound.
func (s *DB) CreateEnrollmentToken(ctx context.Context, t *core.EnrollmentToken) error {
	if len(t.SecretHash) == 0 || t.MaxUses < 0 {
		return fmt.Errorf("store: create enrollment token: %w", core.ErrInvalid)
	}
	var clientID int64
	var clientName, siteName string
	err := s.db.QueryRowContext(ctx, `
		SELECT s.client_id, c.name, s.name FROM sites s JOIN clients c ON c.id = s.client_id
		WHERE s.id = $1`, t.SiteID).Scan(&clientID, &clientName, &siteName)
	if err != nil {
		return s.wrap("create enrollment token: reading site", err)
	}
	if t.ClientID != 0 && t.ClientID != clientID {
		return fmt.Errorf("store: create enrollment token: site %d does not belong to client %d: %w", t.SiteID, t.ClientID, core.ErrInvalid)
	}
	created := orNow(t.CreatedAt)
	var id int64
	err = s.db.QueryRowContext(ctx, `
		INSERT INTO enrollment_tokens (secret_hash, client_id, site_id, created_at, expires_at, max_uses, uses, revoked_at,
			label, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		t.SecretHash, clientID, t.SiteID, ms(created), msNull(t.ExpiresAt), t.MaxUses, t.Uses, msNull(t.RevokedAt),
		t.Label, t.CreatedBy).Scan(&id)
	if err != nil {
		return s.wrap("create enrollment token", err)
	}
	t.ID, t.CreatedAt = id, created
	t.ClientID, t.ClientName, t.SiteName = clientID, clientName, siteName
	return nil
}

// enrollTokenColumns are the columns scanEnrollToken reads, in its order.
const enrollTokenColumns = `t.id, t.secret_hash, t.label, t.created_by, t.client_id, c.name, t.site_id, s.name,
	t.created_at, t.expires_at, t.max_uses, t.uses, t.revoked_at
	FROM enrollment_tokens t
	JOIN sites s ON s.id = t.site_id
	JOIN clients c ON c.id = t.client_id`

func scanEnrollToken(row interface{ Scan(...any) error }) (core.EnrollmentToken, error) {
	var t core.EnrollmentToken
	var created int64
	var expires, revoked sql.NullInt64
	if err := row.Scan(&t.ID, &t.SecretHash, &t.Label, &t.CreatedBy, &t.ClientID, &t.ClientName, &t.SiteID, &t.SiteName,
		&created, &expires, &t.MaxUses, &t.Uses, &revoked); err != nil {
		return core.EnrollmentToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = fromMS(created), timePtr(expires), timePtr(revoked)
	return t, nil
}

// ListEnrollmentTokens returns all tokens with client and site names, newest first.
func (s *DB) ListEnrollmentTokens(ctx context.Context) ([]core.EnrollmentToken, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+enrollTokenColumns+`
		ORDER BY t.created_at DESC, t.id DESC`)
	if err != nil {
		return nil, s.wrap("listing enrollment tokens", err)
	}
	defer rows.Close()
	var out []core.EnrollmentToken
	for rows.Next() {
		t, err := scanEnrollToken(rows)
		if err != nil {
			return nil, s.wrap("listing enrollment tokens", err)
		}
		out = append(out, t)
	}
	return out, s.wrap("listing enrollment tokens", rows.Err())
}

// GetEnrollmentToken returns one token with its client and site names;
// ErrNotFound for an unknown ID.
func (s *DB) GetEnrollmentToken(ctx context.Context, id int64) (core.EnrollmentToken, error) {
	t, err := scanEnrollToken(s.db.QueryRowContext(ctx, `SELECT `+enrollTokenColumns+` WHERE t.id = $1`, id))
	if err != nil {
		return core.EnrollmentToken{}, s.wrap(fmt.Sprintf("reading enrollment token %d", id), err)
	}
	return t, nil
}

// RevokeEnrollmentToken marks the token revoked at at. Revoking a revoked
// token keeps the first time. Unknown IDs are ErrNotFound.
func (s *DB) RevokeEnrollmentToken(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx,
		`UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, ms(at))
	return s.affectedOne("revoke enrollment token", res, err)
}

// Enroll implements core.TokenStore.
func (s *DB) Enroll(ctx context.Context, secretHash []byte, d *core.Device, now time.Time) error {
	const op = "enroll"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		siteID, clientID, err := s.useToken(ctx, tx, op, secretHash, now)
		if err != nil {
			return err
		}
		var dup sql.NullInt64
		if d.MachineID != "" {
			err := tx.QueryRowContext(ctx, `
				SELECT id FROM devices
				WHERE site_id = $1 AND machine_id = $2 AND state = $3
				ORDER BY id DESC LIMIT 1`, siteID, d.MachineID, core.DeviceActive).Scan(&dup)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return s.wrap(op+": finding a device with this machine ID", err)
			}
		}
		if d.Role == "" {
			d.Role = "workstation"
		}
		at := fromMS(ms(now))
		err = tx.QueryRowContext(ctx, `
			INSERT INTO devices (site_id, hostname, os, platform, arch, machine_id, public_key, role, state,
				agent_version, enrolled_at, duplicate_of)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
			siteID, d.Hostname, d.OS, d.Platform, d.Arch, d.MachineID, nonNil(d.PublicKey), d.Role,
			core.DeviceActive, d.AgentVersion, ms(at), dup).Scan(&d.ID)
		if err != nil {
			return s.wrap(op+": inserting device", err)
		}
		d.EnrolledAt, d.DuplicateOf = at, dup.Int64
		return s.finishEnroll(ctx, tx, op, d, siteID, clientID)
	})
}

// Rekey implements core.TokenStore. The device keeps its ID, role,
// EnrolledAt and DuplicateOf.
func (s *DB) Rekey(ctx context.Context, secretHash []byte, d *core.Device, oldKey []byte, now time.Time) error {
	const op = "re-key device"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		siteID, clientID, err := s.useToken(ctx, tx, op, secretHash, now)
		if err != nil {
			return err
		}
		var enrolledAt int64
		var dup sql.NullInt64
		err = tx.QueryRowContext(ctx, `
			UPDATE devices SET public_key = $2, hostname = $3, os = $4, platform = $5, arch = $6,
				agent_version = $7, machine_id = $8
			WHERE id = $1 AND site_id = $9 AND state = $10 AND public_key = $11
			RETURNING role, enrolled_at, duplicate_of`,
			d.ID, nonNil(d.PublicKey), d.Hostname, d.OS, d.Platform, d.Arch, d.AgentVersion, d.MachineID,
			siteID, core.DeviceActive, nonNil(oldKey)).Scan(&d.Role, &enrolledAt, &dup)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: %s %d: not an active device of the token's site with this key: %w", op, d.ID, core.ErrConflict)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		d.EnrolledAt, d.DuplicateOf = fromMS(enrolledAt), dup.Int64
		return s.finishEnroll(ctx, tx, op, d, siteID, clientID)
	})
}

// useToken checks the token with this secret hash and consumes one use by
// a conditional UPDATE, so concurrent enrollments never exceed MaxUses. It
// returns the token's site and client.
func (s *DB) useToken(ctx context.Context, tx *sql.Tx, op string, secretHash []byte, now time.Time) (siteID, clientID int64, err error) {
	var tokenID int64
	var maxUses, uses int
	var expires, revoked sql.NullInt64
	err = tx.QueryRowContext(ctx, `
		SELECT id, client_id, site_id, expires_at, max_uses, uses, revoked_at
		FROM enrollment_tokens WHERE secret_hash = $1`, secretHash).
		Scan(&tokenID, &clientID, &siteID, &expires, &maxUses, &uses, &revoked)
	if err != nil {
		return 0, 0, s.wrap(op+": reading token", err)
	}
	switch {
	case revoked.Valid:
		return 0, 0, fmt.Errorf("store: %s: %w", op, core.ErrTokenRevoked)
	case expires.Valid && expires.Int64 <= ms(now):
		return 0, 0, fmt.Errorf("store: %s: %w", op, core.ErrTokenExpired)
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE enrollment_tokens SET uses = uses + 1
		WHERE id = $1 AND revoked_at IS NULL AND (max_uses = 0 OR uses < max_uses)`, tokenID)
	if err != nil {
		return 0, 0, s.wrap(op+": consuming token", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, 0, s.wrap(op+": consuming token", err)
	} else if n == 0 {
		return 0, 0, fmt.Errorf("store: %s: %w", op, core.ErrTokenUsedUp)
	}
	return siteID, clientID, nil
}

// finishEnroll fills d's state, site and client after Enroll or Rekey
// and recomputes its search text (the hostname may have changed).
func (s *DB) finishEnroll(ctx context.Context, tx *sql.Tx, op string, d *core.Device, siteID, clientID int64) error {
	d.State, d.SiteID, d.ClientID = core.DeviceActive, siteID, clientID
	err := tx.QueryRowContext(ctx, `
		SELECT s.name, c.name FROM sites s JOIN clients c ON c.id = s.client_id WHERE s.id = $1`, siteID).
		Scan(&d.SiteName, &d.ClientName)
	if err != nil {
		return s.wrap(op+": reading site", err)
	}
	return s.refreshSearch(ctx, tx, d.ID)
}

// affectedOne turns an UPDATE/DELETE result that touched no row into ErrNotFound.
func (s *DB) affectedOne(op string, res sql.Result, err error) error {
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(op, err)
	}
	if n == 0 {
		return fmt.Errorf("store: %s: %w", op, core.ErrNotFound)
	}
	return nil
}

// nonNil keeps NOT NULL blob columns from receiving NULL for a nil slice.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
