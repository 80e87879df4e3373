package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// This file implements core.MaintenanceStore (migration 0007_maintenance).

// maintenanceSelect resolves each window's client and target name through
// its scope; $1 client, $2 site and $3 device filter (0: no filter).
const maintenanceSelect = `
	SELECT m.id, m.scope, m.target_id, m.title, m.starts_at, m.ends_at, m.repeat, m.weekdays, m.month_day,
	       m.from_hm, m.to_hm, m.timezone, m.until_at, m.created_by, m.created_at,
	       COALESCE(c.id, s.client_id, ds.client_id, 0), COALESCE(c.name, s.name, d.hostname, '')
	FROM maintenance m
	LEFT JOIN clients c ON m.scope = 'client' AND c.id = m.target_id
	LEFT JOIN sites s ON m.scope = 'site' AND s.id = m.target_id
	LEFT JOIN devices d ON m.scope = 'device' AND d.id = m.target_id
	LEFT JOIN sites ds ON ds.id = d.site_id`

const maintenanceWhere = `
	WHERE ($1 = 0 OR COALESCE(c.id, s.client_id, ds.client_id) = $1)
	  AND ($2 = 0 OR (m.scope = 'site' AND m.target_id = $2) OR (m.scope = 'device' AND d.site_id = $2)
	       OR (m.scope = 'client' AND m.target_id = (SELECT client_id FROM sites WHERE id = $2)))
	  AND ($3 = 0 OR (m.scope = 'device' AND m.target_id = $3)
	       OR (m.scope = 'site' AND m.target_id = (SELECT site_id FROM devices WHERE id = $3))
	       OR (m.scope = 'client' AND m.target_id = (SELECT s2.client_id FROM devices d2
	                                                  JOIN sites s2 ON s2.id = d2.site_id WHERE d2.id = $3)))`

func scanMaintenance(sc interface{ Scan(...any) error }) (core.Maintenance, error) {
	var m core.Maintenance
	var start, created int64
	var end, until sql.NullInt64
	var days string
	err := sc.Scan(&m.ID, &m.Scope, &m.TargetID, &m.Title, &start, &end, &m.Repeat, &days, &m.MonthDay,
		&m.From, &m.To, &m.TimeZone, &until, &m.CreatedBy, &created, &m.ClientID, &m.TargetName)
	m.Start, m.End, m.Until, m.CreatedAt = fromMS(start), timePtr(end), timePtr(until), fromMS(created)
	if days != "" {
		for _, p := range strings.Split(days, ",") {
			if d, err := strconv.Atoi(p); err == nil {
				m.Weekdays = append(m.Weekdays, d)
			}
		}
	}
	return m, err
}

func encodeWeekdays(ds []int) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

// ListMaintenance returns the windows a filter selects, newest start first.
func (s *DB) ListMaintenance(ctx context.Context, f core.MaintenanceFilter) ([]core.Maintenance, error) {
	const op = "list maintenance"
	rows, err := s.db.QueryContext(ctx, maintenanceSelect+maintenanceWhere+` ORDER BY m.starts_at DESC, m.id DESC`,
		f.ClientID, f.SiteID, f.DeviceID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Maintenance
	for rows.Next() {
		m, err := scanMaintenance(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, m)
	}
	return out, s.wrap(op, rows.Err())
}

// GetMaintenance returns one window or ErrNotFound.
func (s *DB) GetMaintenance(ctx context.Context, id int64) (core.Maintenance, error) {
	m, err := scanMaintenance(s.db.QueryRowContext(ctx, maintenanceSelect+` WHERE m.id = $1`, id))
	return m, s.wrap("get maintenance", err)
}

// CreateMaintenance stores a new window and sets its ID and CreatedAt.
func (s *DB) CreateMaintenance(ctx context.Context, m *core.Maintenance) error {
	m.CreatedAt = orNow(m.CreatedAt)
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO maintenance (scope, target_id, title, starts_at, ends_at, repeat, weekdays, month_day,
			from_hm, to_hm, timezone, until_at, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		m.Scope, m.TargetID, m.Title, ms(m.Start), msNull(m.End), m.Repeat, encodeWeekdays(m.Weekdays), m.MonthDay,
		m.From, m.To, m.TimeZone, msNull(m.Until), m.CreatedBy, ms(m.CreatedAt)).Scan(&m.ID)
	return s.wrap("create maintenance", err)
}

// UpdateMaintenance replaces a window's fields but its author and creation
// time; ErrNotFound if absent.
func (s *DB) UpdateMaintenance(ctx context.Context, m *core.Maintenance) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE maintenance SET scope = $2, target_id = $3, title = $4, starts_at = $5, ends_at = $6, repeat = $7,
			weekdays = $8, month_day = $9, from_hm = $10, to_hm = $11, timezone = $12, until_at = $13
		WHERE id = $1`,
		m.ID, m.Scope, m.TargetID, m.Title, ms(m.Start), msNull(m.End), m.Repeat, encodeWeekdays(m.Weekdays),
		m.MonthDay, m.From, m.To, m.TimeZone, msNull(m.Until))
	return s.affectedOne("update maintenance", res, err)
}

// DeleteMaintenance removes a window; ErrNotFound if absent.
func (s *DB) DeleteMaintenance(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM maintenance WHERE id = $1`, id)
	return s.affectedOne("delete maintenance", res, err)
}
