package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func validReportLang(l string) bool { return l == "de" || l == "en" }

// CreateClient stores c (name trimmed, report language "de" unless set) and
// sets ID and CreatedAt. A taken name is ErrConflict.
func (s *DB) CreateClient(ctx context.Context, c *core.Client) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.ReportLang == "" {
		c.ReportLang = "de"
	}
	if c.Name == "" || !validReportLang(c.ReportLang) {
		return fmt.Errorf("store: create client: %w", core.ErrInvalid)
	}
	created := orNow(c.CreatedAt)
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO clients (name, created_at, contact_name, contact_email, contact_phone, report_lang)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		c.Name, ms(created), c.ContactName, c.ContactEmail, c.ContactPhone, c.ReportLang).Scan(&c.ID)
	if err != nil {
		return s.wrap("create client", err)
	}
	c.CreatedAt = created
	return nil
}

const clientColumns = `id, name, created_at, contact_name, contact_email, contact_phone, report_lang FROM clients`

func scanClient(sc interface{ Scan(...any) error }) (core.Client, error) {
	var c core.Client
	var at int64
	err := sc.Scan(&c.ID, &c.Name, &at, &c.ContactName, &c.ContactEmail, &c.ContactPhone, &c.ReportLang)
	c.CreatedAt = fromMS(at)
	return c, err
}

// GetClient returns a client that is not deleted, or ErrNotFound.
func (s *DB) GetClient(ctx context.Context, id int64) (core.Client, error) {
	c, err := scanClient(s.db.QueryRowContext(ctx, `SELECT `+clientColumns+` WHERE id = $1 AND deleted_at IS NULL`, id))
	if err != nil {
		return core.Client{}, s.wrap("get client", err)
	}
	return c, nil
}

// UpdateClient sets a client's name and contact details; ErrNotFound if
// absent, ErrConflict for a taken name.
func (s *DB) UpdateClient(ctx context.Context, c core.Client) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || !validReportLang(c.ReportLang) {
		return fmt.Errorf("store: update client: %w", core.ErrInvalid)
	}
	res, err := s.db.ExecContext(ctx, `
		UPDATE clients SET name = $2, contact_name = $3, contact_email = $4, contact_phone = $5, report_lang = $6
		WHERE id = $1 AND deleted_at IS NULL`,
		c.ID, c.Name, c.ContactName, c.ContactEmail, c.ContactPhone, c.ReportLang)
	return s.affectedOne("update client", res, err)
}

// CountClientDevices counts a client's devices that are not retired.
func (s *DB) CountClientDevices(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `
		SELECT count(*) FROM devices d JOIN sites s ON s.id = d.site_id
		WHERE s.client_id = $1 AND d.state <> $2`, id, core.DeviceRetired).Scan(&n)
	return n, s.wrap("counting client devices", err)
}

// deleteScope hides a client or site (where = "s.client_id" or "s.id"):
// without confirm it refuses with ErrConflict while devices that are not
// retired remain; with confirm it retires them, revokes enrollment tokens
// and frees the names.
func (s *DB) deleteScope(ctx context.Context, op, where string, id int64, confirm bool, at time.Time) (int, error) {
	var retired int
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `
			SELECT count(*) FROM devices d JOIN sites s ON s.id = d.site_id
			WHERE `+where+` = $1 AND d.state <> $2`, id, core.DeviceRetired).Scan(&n); err != nil {
			return s.wrap(op, err)
		}
		if n > 0 && !confirm {
			return fmt.Errorf("store: %s: %d devices remain, confirm to retire them: %w", op, n, core.ErrConflict)
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE devices SET state = $2, retired_at = $3
			WHERE state <> $2 AND site_id IN (SELECT s.id FROM sites s WHERE `+where+` = $1)`,
			id, core.DeviceRetired, ms(at))
		if err != nil {
			return s.wrap(op+": retiring devices", err)
		}
		r, _ := res.RowsAffected()
		retired = int(r)
		if _, err := cancelRuns(ctx, s, tx, op+": cancelling script runs", `device_id IN (SELECT d.id FROM devices d
			WHERE d.site_id IN (SELECT s.id FROM sites s WHERE `+where+` = $6))`, []any{id}, at, deviceRetired); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE enrollment_tokens SET revoked_at = COALESCE(revoked_at, $2)
			WHERE site_id IN (SELECT s.id FROM sites s WHERE `+where+` = $1)`, id, ms(at)); err != nil {
			return s.wrap(op+": revoking tokens", err)
		}
		suffix := " (deleted " + strconv.FormatInt(ms(at), 10) + ")"
		if _, err := tx.ExecContext(ctx, `
			UPDATE sites SET deleted_at = $2, name = name || $3
			WHERE deleted_at IS NULL AND id IN (SELECT s.id FROM sites s WHERE `+where+` = $1)`,
			id, ms(at), suffix); err != nil {
			return s.wrap(op+": deleting sites", err)
		}
		return nil
	})
	return retired, err
}

// DeleteClient hides a client and its sites; see deleteScope.
func (s *DB) DeleteClient(ctx context.Context, id int64, confirm bool, at time.Time) (int, error) {
	if _, err := s.GetClient(ctx, id); err != nil {
		return 0, err
	}
	n, err := s.deleteScope(ctx, "delete client", "s.client_id", id, confirm, at)
	if err != nil {
		return 0, err
	}
	suffix := " (deleted " + strconv.FormatInt(ms(at), 10) + ")"
	res, err := s.db.ExecContext(ctx, `
		UPDATE clients SET deleted_at = $2, name = name || $3 WHERE id = $1 AND deleted_at IS NULL`, id, ms(at), suffix)
	return n, s.affectedOne("delete client", res, err)
}

// CreateSite stores a site of an existing client; sets ID and CreatedAt.
func (s *DB) CreateSite(ctx context.Context, st *core.Site) error {
	st.Name = strings.TrimSpace(st.Name)
	if st.Name == "" {
		return fmt.Errorf("store: create site: empty name: %w", core.ErrInvalid)
	}
	c, err := s.GetClient(ctx, st.ClientID)
	if err != nil {
		return err
	}
	created := orNow(st.CreatedAt)
	if err := s.db.QueryRowContext(ctx, `
		INSERT INTO sites (client_id, name, created_at) VALUES ($1, $2, $3) RETURNING id`,
		st.ClientID, st.Name, ms(created)).Scan(&st.ID); err != nil {
		return s.wrap("create site", err)
	}
	st.CreatedAt, st.ClientName = created, c.Name
	return nil
}

// GetSite returns a site that is not deleted, or ErrNotFound.
func (s *DB) GetSite(ctx context.Context, id int64) (core.Site, error) {
	var st core.Site
	var at int64
	err := s.db.QueryRowContext(ctx, `
		SELECT s.id, s.client_id, c.name, s.name, s.created_at
		FROM sites s JOIN clients c ON c.id = s.client_id
		WHERE s.id = $1 AND s.deleted_at IS NULL`, id).Scan(&st.ID, &st.ClientID, &st.ClientName, &st.Name, &at)
	if err != nil {
		return core.Site{}, s.wrap("get site", err)
	}
	st.CreatedAt = fromMS(at)
	return st, nil
}

// RenameSite renames a site; ErrNotFound if absent, ErrConflict if taken.
func (s *DB) RenameSite(ctx context.Context, id int64, name string) error {
	name = strings.TrimSpace(name)
	if name == "" {
		return fmt.Errorf("store: rename site: empty name: %w", core.ErrInvalid)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE sites SET name = $2 WHERE id = $1 AND deleted_at IS NULL`, id, name)
	return s.affectedOne("rename site", res, err)
}

// DeleteSite hides a site; see deleteScope.
func (s *DB) DeleteSite(ctx context.Context, id int64, confirm bool, at time.Time) (int, error) {
	if _, err := s.GetSite(ctx, id); err != nil {
		return 0, err
	}
	return s.deleteScope(ctx, "delete site", "s.id", id, confirm, at)
}

// MoveDevice moves a device to another (not deleted) site.
func (s *DB) MoveDevice(ctx context.Context, deviceID, siteID int64) error {
	if _, err := s.GetSite(ctx, siteID); err != nil {
		return err
	}
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET site_id = $2 WHERE id = $1`, deviceID, siteID)
	return s.affectedOne("move device", res, err)
}

// SetDeviceRole sets a device's role (server, workstation, notebook).
func (s *DB) SetDeviceRole(ctx context.Context, id int64, role string) error {
	if !core.ValidDeviceRole(role) {
		return fmt.Errorf("store: set device role %q: %w", role, core.ErrInvalid)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET role = $2 WHERE id = $1`, id, role)
	return s.affectedOne("set device role", res, err)
}

// NormTags trims, lower-cases, de-duplicates and sorts tags; tags must be
// 1–64 characters without commas.
func NormTags(tags []string) ([]string, error) {
	var out []string
	for _, t := range tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if len(t) > 64 || strings.ContainsAny(t, ",\n\r") {
			return nil, fmt.Errorf("tag %q: %w", t, core.ErrInvalid)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// SetDeviceTags replaces a device's tags.
func (s *DB) SetDeviceTags(ctx context.Context, id int64, tags []string) error {
	tags, err := NormTags(tags)
	if err != nil {
		return fmt.Errorf("store: set device tags: %w", err)
	}
	return s.inTx(ctx, "set device tags", func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE id = $1`, id).Scan(&one); err != nil {
			return s.wrap("set device tags", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_tags WHERE device_id = $1`, id); err != nil {
			return s.wrap("set device tags", err)
		}
		for _, t := range tags {
			if _, err := tx.ExecContext(ctx, `INSERT INTO device_tags (device_id, tag) VALUES ($1, $2)`, id, t); err != nil {
				return s.wrap("set device tags", err)
			}
		}
		return s.refreshSearch(ctx, tx, id)
	})
}

// RetireDevice sets a device's state to retired (keeping an earlier
// retirement time), cancels its queued script runs and drops its missing
// updates from the fleet's patch view; ErrNotFound if absent.
func (s *DB) RetireDevice(ctx context.Context, id int64, at time.Time) error {
	return s.inTx(ctx, "retire device", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE devices SET state = $2, retired_at = COALESCE(retired_at, $3) WHERE id = $1`, id, core.DeviceRetired, ms(at))
		if err := s.affectedOne("retire device", res, err); err != nil {
			return err
		}
		if _, err := cancelRuns(ctx, s, tx, "retire device: cancelling its script runs", `device_id = $6`, []any{id}, at, deviceRetired); err != nil {
			return err
		}
		// The fleet's patch view reads device_patches without devices.
		_, err = tx.ExecContext(ctx, `DELETE FROM device_patches WHERE device_id = $1`, id)
		return s.wrap("retire device: its missing updates", err)
	})
}

// deviceTags returns the tags of the given device (0: of every device).
func (s *DB) deviceTags(ctx context.Context, id int64) (map[int64][]string, error) {
	if id != 0 {
		return s.tagsOf(ctx, `SELECT device_id, tag FROM device_tags WHERE device_id = $1 ORDER BY tag`, id)
	}
	return s.tagsOf(ctx, `SELECT device_id, tag FROM device_tags ORDER BY device_id, tag`)
}

// tagsOf collects the (device_id, tag) rows of query by device.
func (s *DB) tagsOf(ctx context.Context, query string, args ...any) (map[int64][]string, error) {
	const op = "reading device tags"
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := map[int64][]string{}
	for rows.Next() {
		var d int64
		var t string
		if err := rows.Scan(&d, &t); err != nil {
			return nil, s.wrap(op, err)
		}
		out[d] = append(out[d], t)
	}
	return out, s.wrap(op, rows.Err())
}
